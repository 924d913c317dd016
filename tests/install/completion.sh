#!/usr/bin/env bash
# The bash completion offers commands, options per command, option values and lesson names.
#   completion.sh BINARY COMPLETION_FILE
set -u
bin=$1
source "$2"
fail=0
# complete WORDS...: the completions bash would offer for the last word.
complete_words() {
  COMP_WORDS=("$bin" "$@")
  COMP_CWORD=$#
  COMPREPLY=()
  _sockscope
  printf '%s\n' "${COMPREPLY[@]}"
}
expect() {  # expect "WHAT" WORD... -- must include the line WHAT
  local want=$1; shift
  local got; got=$(complete_words "$@")
  if ! grep -qxF -- "$want" <<<"$got"; then echo "FAIL: sockscope $* <TAB> lacks '$want'; got: $(tr '\n' ' ' <<<"$got")"; fail=1; fi
}
expect_none() {
  local got; got=$(complete_words "$@")
  if [[ -n $got ]]; then echo "FAIL: sockscope $* <TAB> offers: $(tr '\n' ' ' <<<"$got")"; fail=1; fi
}
expect lesson ""
expect annotate an
expect --version --
expect list lesson ""
expect handshake lesson run hand
expect teardown lesson check tear
expect --json annotate --js
expect --names lesson list --na
expect --lessons lesson run handshake --less
expect --trace chat tcp-client --tr
expect always capture --color al
expect lo capture -i l
expect up lab ""
expect tcp-server chat tcp-s
expect udp demo u
expect compare help com
expect_none capture --port ""
expect_none annotate --nonsense-option-x
[[ $(complete -p sockscope) == *"-F _sockscope sockscope" ]] || { echo "FAIL: complete -p: $(complete -p sockscope)"; fail=1; }
((fail == 0)) && echo "bash completion: commands, options, values and lesson names offered"
exit $fail
