# bash completion for sockscope: commands, each command's options (read from `sockscope help COMMAND`,
# so they are always those of the installed program), the values some options take, and lesson names
# (from `sockscope lesson list --names`, which includes a teacher's SOCKSCOPE_LESSONS folders).
_sockscope() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local prog=${COMP_WORDS[0]}
  [[ $prog == "~"/* ]] && prog=$HOME/${prog#"~/"}
  COMPREPLY=()
  if ((COMP_CWORD == 1)); then
    local commands
    commands=$(LC_ALL=C "$prog" --help 2>/dev/null | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }')
    COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
    return
  fi
  local cmd=${COMP_WORDS[1]}
  case $prev in
    --color) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
    -i | --interface) COMPREPLY=($(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur")); return ;;
    --user) COMPREPLY=($(compgen -u -- "$cur")); return ;;
    --lessons) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")); return ;;
    -w | --write | --svg | --html | --script)
      compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  # An option that takes a value (its help line shows one, e.g. "--port P (=9000)"): nothing to offer.
  if [[ $prev == --* ]] && LC_ALL=C "$prog" help "$cmd" 2>/dev/null | grep -Eq -- "^  (-. \[ )?$prev( \])? [A-Z]"; then
    return
  fi
  if [[ $cur == -* ]]; then
    local options
    options=$(LC_ALL=C "$prog" help "$cmd" 2>/dev/null | grep -Eo -- '^  (-. \[ )?--[a-z][a-z0-9-]*' | grep -Eo -- '--[a-z][a-z0-9-]*')
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
    return
  fi
  case $cmd in
    help) ((COMP_CWORD == 2)) && COMPREPLY=($(compgen -W "$(LC_ALL=C "$prog" --help 2>/dev/null | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }')" -- "$cur")) ;;
    lesson)
      if ((COMP_CWORD == 2)); then
        COMPREPLY=($(compgen -W "list run check" -- "$cur"))
      elif [[ ${COMP_WORDS[2]} == run || ${COMP_WORDS[2]} == check ]]; then
        COMPREPLY=($(compgen -W "$("$prog" lesson list --names 2>/dev/null)" -- "$cur"))
        [[ $cur == */* || $cur == .* ]] && { compopt -o filenames 2>/dev/null; COMPREPLY+=($(compgen -f -- "$cur")); }
      fi ;;
    demo) ((COMP_CWORD == 2)) && COMPREPLY=($(compgen -W "tcp udp" -- "$cur")) ;;
    chat) ((COMP_CWORD == 2)) && COMPREPLY=($(compgen -W "tcp-server tcp-client udp-server udp-client" -- "$cur")) ;;
    lab) ((COMP_CWORD == 2)) && COMPREPLY=($(compgen -W "up down status" -- "$cur")) ;;
    annotate) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")) ;;
  esac
}
complete -F _sockscope sockscope
