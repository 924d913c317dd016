#!/bin/sh
# Builds the .deb from this build folder, installs it with apt-get as a lab machine would, uses it
# from / (lessons, manual page, completion), then removes it and checks that nothing is left.
# Installing a package is intrusive: this runs only as root and with CI=true or
# SOCKSCOPE_TEST_PACKAGE=1 (otherwise skipped, 77), and removes the package on every exit.
#   package.sh BUILD_DIR
set -u
build=$1
if [ "$(id -u)" != 0 ] || { [ "${CI:-}" != true ] && [ "${SOCKSCOPE_TEST_PACKAGE:-}" != 1 ]; }; then
  echo "skipped: installs a package; runs as root with CI=true or SOCKSCOPE_TEST_PACKAGE=1"
  exit 77
fi
if dpkg-query -W -f='${Status}' sockscope 2>/dev/null | grep -q "ok installed"; then
  echo "sockscope is already installed on this machine; not replacing it (apt-get remove sockscope first)"
  [ "${CI:-}" = true ] && exit 1
  exit 77
fi
tmp=$(mktemp -d)
installed=0
cleanup() {
  [ $installed = 1 ] && DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq sockscope >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
fail() { echo "FAIL: $*"; exit 1; }

cd "$build" || fail "no build folder $build"
cpack -G DEB -B "$tmp" >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log"; fail "cpack -G DEB"; }
deb=$(ls "$tmp"/sockscope_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "no sockscope_*.deb in $(ls "$tmp")"
echo "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"
dpkg-deb -f "$deb" Depends Recommends Section
dpkg-deb -f "$deb" Depends | grep -q libpcap || fail "Depends does not name libpcap"

installed=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$deb" >"$tmp/apt.log" 2>&1 ||
  { cat "$tmp/apt.log"; fail "apt-get install ./$(basename "$deb")"; }
dpkg -L sockscope >"$tmp/files"

cd / || fail "cd /"
[ "$(command -v sockscope)" = /usr/bin/sockscope ] || fail "sockscope is not /usr/bin/sockscope"
[ -z "$(find /usr/bin/sockscope -perm /6000)" ] || fail "the binary is setuid or setgid"
[ -z "$(getcap /usr/bin/sockscope 2>/dev/null)" ] || fail "the binary has capabilities nobody asked for"
sockscope --version | head -2
sockscope lesson list >"$tmp/list" 2>&1 || { cat "$tmp/list"; fail "sockscope lesson list (from /)"; }
grep -q handshake "$tmp/list" || fail "lesson list has no handshake"
grep -q "Lesson files are in /usr/share/sockscope/lessons" "$tmp/list" || { cat "$tmp/list"; fail "lessons not from /usr/share"; }
if sockscope --help | grep -q -- --lang; then
  sockscope --lang zh_CN lesson list >"$tmp/list-zh" 2>&1 || { cat "$tmp/list-zh"; fail "sockscope --lang zh_CN lesson list"; }
  cmp -s "$tmp/list" "$tmp/list-zh" && fail "--lang zh_CN lesson list is the English one"
fi
sockscope lesson check handshake >/dev/null || fail "sockscope lesson check handshake"
# The example programs are installed, and the lesson that runs them finds them there ({examples}).
[ -f /usr/share/sockscope/examples/tcp_server.py ] || fail "no /usr/share/sockscope/examples/tcp_server.py"
sockscope lesson run your-own-program --auto --color never </dev/null >"$tmp/own" 2>&1 ||
  { cat "$tmp/own"; fail "sockscope lesson run your-own-program (installed)"; }
grep -q "runs python3 tcp_server.py" "$tmp/own" || { cat "$tmp/own"; fail "the lesson does not run the installed example"; }
[ "$(man -w sockscope)" = /usr/share/man/man1/sockscope.1.gz ] || fail "man -w sockscope: $(man -w sockscope 2>&1)"
man sockscope 2>/dev/null | grep -q "sockscope lesson" || fail "man sockscope does not render"
comp=/usr/share/bash-completion/completions/sockscope
[ -f $comp ] || fail "no $comp"
bash -c ". $comp && complete -p sockscope" | grep -q _sockscope || fail "$comp does not register a completion"
ls /usr/share/doc/sockscope/install.md >/dev/null || fail "no docs in /usr/share/doc/sockscope"

DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq sockscope >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log"; fail "apt-get purge sockscope"; }
installed=0
dpkg-query -W sockscope >/dev/null 2>&1 && dpkg-query -W -f='${Status}\n' sockscope | grep -qv "not-installed" &&
  fail "dpkg still knows sockscope: $(dpkg-query -W -f='${Status}' sockscope)"
left=0
while read -r f; do
  [ "$f" = /. ] && continue
  if [ -f "$f" ] || [ -L "$f" ]; then echo "left behind: $f"; left=1; fi
done <"$tmp/files"
for d in /usr/share/sockscope /usr/share/doc/sockscope; do [ -e $d ] && { echo "left behind: $d"; left=1; }; done
[ $left = 0 ] || fail "files left after apt-get purge"
echo "package: built, installed, used from /, removed; $(grep -c . "$tmp/files") paths, none left"
