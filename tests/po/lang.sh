#!/bin/sh
# The language of messages: --lang zh_CN before or after the command, LANG, LANGUAGE and --lang en,
# on a machine where no zh_CN locale is generated (locale -a), with a small test catalogue.
# Usage: lang.sh path/to/sockscope
set -eu
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/zh_CN/LC_MESSAGES"
msgfmt -c -o "$tmp/zh_CN/LC_MESSAGES/sockscope.mo" "$here/test-zh_CN.po"
export SOCKSCOPE_LOCALEDIR="$tmp"
unset LANGUAGE LC_ALL LC_MESSAGES LANG || true
fail() { echo "FAIL: $*" >&2; exit 1; }
has() { printf '%s' "$1" | grep -qF -- "$2"; }

out=$("$bin" --lang zh_CN help); has "$out" "命令：" || fail "--lang zh_CN help: $out"
out=$("$bin" help --lang zh_CN); has "$out" "命令：" || fail "help --lang zh_CN"
out=$("$bin" help --lang=zh_CN); has "$out" "命令：" || fail "help --lang=zh_CN"
out=$(LANG=zh_CN.UTF-8 "$bin" help); has "$out" "命令：" || fail "LANG=zh_CN.UTF-8"
out=$(LC_ALL=zh_CN.UTF-8 LANG=C "$bin" help); has "$out" "命令：" || fail "LC_ALL=zh_CN.UTF-8"
out=$(LANGUAGE=zh_CN LANG=C.UTF-8 "$bin" help); has "$out" "命令：" || fail "LANGUAGE=zh_CN LANG=C.UTF-8"
# gettext ignores LANGUAGE when the locale is C.
out=$(LANGUAGE=zh_CN LANG=C "$bin" help); has "$out" "Commands:" || fail "LANGUAGE with LANG=C must stay English"
out=$(LANG=zh_CN.UTF-8 "$bin" --lang en help); has "$out" "Commands:" || fail "--lang en over LANG"
out=$("$bin" help); has "$out" "Commands:" || fail "no language: English"
# A usage error in Chinese, with the word the user typed; exit status 2.
set +e
err=$("$bin" --lang zh_CN bogus 2>&1); rc=$?
set -e
[ "$rc" = 2 ] || fail "unknown command: exit $rc"
has "$err" "没有名为“bogus”的命令" || fail "unknown command in Chinese: $err"
has "$err" "请看 sockscope --help" || fail "hint in Chinese: $err"
set +e
err=$("$bin" --lang xx_XX help 2>&1); rc=$?
set -e
[ "$rc" = 2 ] || fail "--lang xx_XX: exit $rc"
has "$err" "zh_CN" || fail "--lang xx_XX names the languages there are: $err"
# A translated lesson (NAME.zh_CN.lesson beside the original) is chosen by the same setting, and
# lesson list shows each lesson once.
src=$(cd "$here/../../lessons" && pwd)
mkdir -p "$tmp/lessons"
cp "$src/03-handshake.lesson" "$tmp/lessons/"
sed 's/^title .*/title   三次握手/' "$src/03-handshake.lesson" > "$tmp/lessons/03-handshake.zh_CN.lesson"
out=$(SOCKSCOPE_LESSONS="$tmp/lessons" "$bin" --lang zh_CN lesson list)
has "$out" "三次握手" || fail "lesson list in Chinese: $out"
[ "$(printf '%s\n' "$out" | grep -c 'handshake ')" = 1 ] || fail "lesson list shows the lesson once: $out"
out=$(SOCKSCOPE_LESSONS="$tmp/lessons" "$bin" lesson list)
has "$out" "The three-way handshake" || fail "lesson list in English: $out"
echo "languages: --lang, LANG, LC_ALL, LANGUAGE and --lang en all chosen as expected (locale -a: $(locale -a | tr '\n' ' '))"
