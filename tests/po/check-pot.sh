#!/bin/sh
# The gettext template lists every learner-facing sentence: fails when a tr("...") in the sources is
# missing from po/sockscope.pot (run po/update-pot.sh and commit the result).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$root/po" "$tmp/po"
cd "$root"
find text capture cli demo trace lessons -type f \( -name '*.cpp' -o -name '*.hpp' \) | LC_ALL=C sort > "$tmp/files"
xgettext --language=C++ --from-code=UTF-8 --keyword=tr --keyword=trn:1,2 --keyword=SOCKSCOPE_N_ \
  --files-from="$tmp/files" --output="$tmp/fresh.pot"
msgids() { msgcat --no-location --sort-output "$1" | grep -v '^#' | sed -n '/^msgid/,/^msgstr/p' | grep -v '^msgstr'; }
msgids "$tmp/fresh.pot" > "$tmp/fresh.ids"
msgids "$root/po/sockscope.pot" > "$tmp/committed.ids"
if ! diff -u "$tmp/committed.ids" "$tmp/fresh.ids" > "$tmp/diff"; then
  echo "po/sockscope.pot is out of date with the sources; run po/update-pot.sh and commit it:" >&2
  head -40 "$tmp/diff" >&2
  exit 1
fi
echo "po/sockscope.pot lists all $(grep -c '^msgid' "$tmp/fresh.ids") sentences"
