#!/usr/bin/env bash
# First look at sockscope: record a short scripted TCP and UDP exchange on loopback with tcpdump,
# then annotate the capture (one line per packet, then one block per conversation).
#
# Usage: scripts/first-look.sh [BUILD_DIR]     (default: build/ next to this script's folder)
# Needs root (or sudo) for tcpdump. Works without a terminal (CI=true): nothing is interactive.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
build="${1:-${SOCKSCOPE_BUILD_DIR:-$root/build}}"
sockscope="$build/sockscope"

say() { printf '%s\n' "$*"; }
die() { printf 'first-look: %s\n' "$*" >&2; exit 1; }

[ -x "$sockscope" ] || die "no sockscope binary at $sockscope. Build first: cmake --preset default && cmake --build build -j"
command -v tcpdump >/dev/null || die "tcpdump is not installed. On Debian: apt-get install tcpdump"

# tcpdump needs root (capturing on an interface). Use sudo when we are not root and sudo exists.
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "recording needs root: run this script as root or install sudo"
  as_root=(sudo)
fi

workdir="$(mktemp -d "${TMPDIR:-/tmp}/sockscope-first-look.XXXXXX")"
capture="$workdir/exchange.pcap"
tcpdump_pid=""
cleanup() {
  if [ -n "$tcpdump_pid" ] && kill -0 "$tcpdump_pid" 2>/dev/null; then
    "${as_root[@]}" kill -INT "$tcpdump_pid" 2>/dev/null || true
    wait "$tcpdump_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

# A port nobody listens on (TCP or UDP). ss lists the ports in use; without ss we take our chance
# and retry below if the exchange cannot bind.
port_in_use() {
  command -v ss >/dev/null || return 1
  ss -Hlnt "sport = :$1" 2>/dev/null | grep -q . && return 0
  ss -Hlnu "sport = :$1" 2>/dev/null | grep -q . && return 0
  return 1
}
pick_port() {
  local p
  for _ in $(seq 1 50); do
    p=$(( 20000 + RANDOM % 30000 ))
    port_in_use "$p" || { echo "$p"; return; }
  done
  die "could not find a free port between 20000 and 50000"
}

record() {
  local tcp_port="$1" udp_port="$2"
  rm -f "$capture" "$workdir/tcpdump.err"
  # -U: write each packet as it arrives; --immediate-mode and a larger buffer (-B, KiB): deliver
  # packets at once without the kernel dropping any of the burst; -Z root: keep the rights to write
  # into our private temporary folder.
  "${as_root[@]}" tcpdump -i lo -U --immediate-mode -B 16384 -Z root -w "$capture" \
    "port $tcp_port or port $udp_port" 2>"$workdir/tcpdump.err" &
  tcpdump_pid=$!
  # tcpdump prints "listening on" once its filter is in place: from then on nothing is missed.
  for _ in $(seq 1 250); do
    grep -q "listening on" "$workdir/tcpdump.err" 2>/dev/null && break
    kill -0 "$tcpdump_pid" 2>/dev/null || { cat "$workdir/tcpdump.err" >&2; die "tcpdump stopped before capturing"; }
    sleep 0.02
  done
  grep -q "listening on" "$workdir/tcpdump.err" || { cat "$workdir/tcpdump.err" >&2; die "tcpdump did not start capturing within 5 s"; }

  local rc=0
  "$sockscope" exchange --tcp-port "$tcp_port" --udp-port "$udp_port" || rc=$?
  # Let tcpdump write the last packets, then stop it the way Ctrl-C would (it flushes the file).
  sleep 0.3
  "${as_root[@]}" kill -INT "$tcpdump_pid" 2>/dev/null || true
  wait "$tcpdump_pid" 2>/dev/null || true
  tcpdump_pid=""
  return "$rc"
}

say "== 1. A scripted exchange on loopback, recorded with tcpdump"
ok=0
for attempt in 1 2 3; do
  tcp_port="$(pick_port)"
  udp_port="$(pick_port)"
  [ "$tcp_port" != "$udp_port" ] || continue
  if record "$tcp_port" "$udp_port"; then ok=1; break; fi
  say "(attempt $attempt failed; trying other ports)"
done
[ "$ok" -eq 1 ] || die "the exchange failed three times"
"${as_root[@]}" chown "$(id -u):$(id -g)" "$capture" 2>/dev/null || true

say ""
say "== 2. sockscope annotate $capture"
"$sockscope" annotate "$capture"

say ""
say "== 3. sockscope annotate --summary $capture"
"$sockscope" annotate --summary "$capture"

say ""
say "The capture stays at $capture: try --ladder, --osi or --json on it."
