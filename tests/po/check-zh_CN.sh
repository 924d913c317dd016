#!/bin/sh
# The Chinese catalogue is complete: msgfmt -c passes with 0 fuzzy and 0 untranslated messages, and
# every msgid of po/sockscope.pot is in po/zh_CN.po (a new English sentence without a translation
# fails here: run msgmerge -U po/zh_CN.po po/sockscope.pot and translate it). Skipped (77) while
# po/zh_CN.po does not exist.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
po="$root/po/zh_CN.po"
pot="$root/po/sockscope.pot"
[ -f "$po" ] || { echo "po/zh_CN.po does not exist yet: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! msgfmt -c --statistics -o "$tmp/zh_CN.mo" "$po" 2> "$tmp/stats"; then
  cat "$tmp/stats" >&2
  echo "po/zh_CN.po: msgfmt -c failed" >&2
  exit 1
fi
cat "$tmp/stats"
# "N translated messages, M fuzzy translations, K untranslated messages.": only the first part may appear.
if grep -Eq 'fuzzy|untranslated' "$tmp/stats"; then
  echo "po/zh_CN.po: every message must be translated and none fuzzy" >&2
  exit 1
fi
# Every msgid of the template is in the catalogue (msgcomm -u prints those only in the template).
msgcat --no-location --sort-output "$pot" | grep -v '^#' > "$tmp/pot"
msgattrib --no-obsolete --no-location "$po" | msgcat --sort-output - > "$tmp/po"
missing=$(msgcomm --less-than=2 --unique --no-location "$tmp/pot" "$tmp/po" 2>/dev/null | grep -c '^msgid "[^"]' || true)
if [ "$missing" -gt 0 ]; then
  # Name them: those of the template that the catalogue lacks.
  msgcomm --less-than=2 --unique --no-location "$tmp/pot" "$tmp/po" | grep '^msgid "[^"]' | head -20 >&2
  echo "po/zh_CN.po lacks $missing sentences of po/sockscope.pot: msgmerge -U po/zh_CN.po po/sockscope.pot, then translate them" >&2
  exit 1
fi
echo "po/zh_CN.po translates every sentence of po/sockscope.pot"
