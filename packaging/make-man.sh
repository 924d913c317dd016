#!/bin/sh
# Writes the manual page sockscope(1) from the program's own help, so the page lists every command and
# option that `sockscope help` does (tests/install/man_page.sh checks it). The parts help does not
# say (capture rights, environment, files, examples) come from the template, sockscope.1.in.
#   make-man.sh BINARY TEMPLATE OUTPUT
set -eu
bin=$1 template=$2 out=$3
# The English help, whatever the builder's locale.
LC_ALL=C
export LC_ALL
unset LANGUAGE LANG LC_MESSAGES 2>/dev/null || true

# roff escapes, shared by the awk programs below: backslashes, ASCII hyphens (roff would print them as
# typographic hyphens, and options copied from the page would not work), a leading dot or quote.
esc='function esc(s) { gsub(/\\/, "\\e", s); gsub(/-/, "\\-", s); if (s ~ /^[.'"'"']/) s = "\\&" s; return s }'

version=$("$bin" --version | sed -n '1s/^sockscope //p')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# SYNOPSIS: the usage lines of the main help.
"$bin" --help | awk "$esc"'
  /^Usage:/ { on = 1; next } on && /^$/ { exit }
  on { sub(/^  /, ""); print esc($0) }' >"$tmp/synopsis"

# COMMANDS: one subsection per command: its summary, then its whole help. Paragraphs stay text,
# indented lines (examples, sub-commands) keep their layout, options become tagged paragraphs.
"$bin" --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }' >"$tmp/names"
while read -r cmd; do
  "$bin" --help | awk -v c="$cmd" "$esc"'
    /^Commands:/ { on = 1; next }
    on && $1 == c { sub(/^  [^ ]+ +/, ""); printf ".SS \"sockscope %s\"\n%s\n", c, esc($0); exit }'
  [ "$cmd" = help ] && continue
  echo ".PP"
  "$bin" help "$cmd" | awk "$esc"'
    function flush() { if (opt != "") { printf ".TP\n.B \"%s\"\n%s\n", esc(opt), esc(desc); opt = "" } }
    function end_pre() { if (pre) { print ".fi"; pre = 0 } }
    /^$/ { flush(); end_pre(); if (!blank) print ".PP"; blank = 1; next }
    { blank = 0 }
    # An option: "  --name VALUE (=default)   description", or "  -w [ --write ] FILE   ...".
    /^  -/ {
      flush(); end_pre()
      line = substr($0, 3)
      split(line, parts, /  +/)
      opt = parts[1]
      desc = substr(line, length(opt) + 1); sub(/^ +/, "", desc); sub(/ +$/, "", desc)
      gsub(/ \[ /, ", ", opt); gsub(/ \]/, "", opt)
      next
    }
    # The rest of an option description, indented to its column.
    opt != "" && /^       / { l = $0; sub(/^ +/, "", l); sub(/ +$/, "", l); desc = desc " " l; next }
    # A heading such as "Options of sockscope annotate FILE:" or "Tracing (sockscope chat ... --trace):".
    /^[^ ].*:$/ { flush(); end_pre(); printf ".PP\n.I \"%s\"\n", esc($0); next }
    # Examples and sub-command lines keep their layout.
    /^  / { flush(); if (!pre) { print ".nf"; pre = 1 } print esc($0); next }
    { flush(); end_pre(); print esc($0) }
    END { flush(); end_pre() }'
done <"$tmp/names" >"$tmp/commands"

while IFS= read -r line; do
  case $line in
    @SYNOPSIS@) cat "$tmp/synopsis" ;;
    @COMMANDS@) cat "$tmp/commands" ;;
    *) printf '%s\n' "$line" | sed "s/@VERSION@/$version/g" ;;
  esac
done <"$template" >"$out"
