#!/bin/sh
# The manual page is in step with the program: every command of `sockscope help` has its section and
# every option of `sockscope help COMMAND` appears; the page has the program's version and renders
# without a roff warning.
#   man_page.sh BINARY PAGE(.gz)
set -u
bin=$1 page=$2
export LC_ALL=C
unset LANGUAGE
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case $page in *.gz) gzip -dc "$page" >"$tmp/page.1" ;; *) cp "$page" "$tmp/page.1" ;; esac
sed 's/\\-/-/g' "$tmp/page.1" >"$tmp/plain"
fail=0
commands=$("$bin" --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }')
[ -n "$commands" ] || { echo "FAIL: no commands in sockscope --help"; exit 1; }
n=0
for c in $commands; do
  grep -qxF ".SS \"sockscope $c\"" "$tmp/plain" || { echo "FAIL: no section for the command $c"; fail=1; }
  [ "$c" = help ] && continue
  for o in $("$bin" help "$c" | grep -Eo -- '--[a-z][a-z0-9-]*' | sort -u); do
    n=$((n + 1))
    grep -qF -- "$o" "$tmp/plain" || { echo "FAIL: $c's option $o is not in the page"; fail=1; }
  done
done
for o in $("$bin" --help | grep -Eo -- '--[a-z][a-z0-9-]*' | sort -u); do
  grep -qF -- "$o" "$tmp/plain" || { echo "FAIL: $o is not in the page"; fail=1; }
done
version=$("$bin" --version | sed -n '1s/^sockscope //p')
grep -q "^\.TH SOCKSCOPE 1 .*\"sockscope $version\"" "$tmp/plain" || { echo "FAIL: the page is not of version $version"; fail=1; }
warnings=$(groff -man -ww -z -Tutf8 "$tmp/page.1" 2>&1)
[ -z "$warnings" ] || { echo "FAIL: roff warnings: $warnings"; fail=1; }
[ $fail = 0 ] && echo "man page: $(echo $commands | wc -w) commands and $n option mentions of sockscope help are in it"
exit $fail
