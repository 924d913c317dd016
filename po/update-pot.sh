#!/bin/sh
# Regenerates po/sockscope.pot, the gettext template, from every learner-facing sentence in the
# sources: the strings wrapped in tr("...") or trn("...", "...", n) (i18n.hpp) or marked with
# SOCKSCOPE_N_("...").
# Run from anywhere; needs xgettext (Debian: apt-get install gettext). Translators then start a
# language with `msginit -i po/sockscope.pot -l de` and update one with `msgmerge -U po/de.po po/sockscope.pot`.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# Sorted file list, so the template only changes when a sentence does.
find text capture cli demo trace lessons -type f \( -name '*.cpp' -o -name '*.hpp' \) 2>/dev/null | LC_ALL=C sort > po/.files
xgettext --language=C++ --from-code=UTF-8 \
  --keyword=tr --keyword=trn:1,2 --keyword=SOCKSCOPE_N_ \
  --add-comments=TRANSLATORS: \
  --package-name=sockscope --package-version="$(sed -n 's/^project(sockscope VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)" \
  --sort-by-file \
  --files-from=po/.files --output=po/sockscope.pot
rm -f po/.files
echo "po/sockscope.pot: $(grep -c '^msgid ' po/sockscope.pot) entries (including the header)"
