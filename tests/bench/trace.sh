#!/usr/bin/env bash
# The cost of sockscope trace (a benchmark, not a test): a Python program making N request/reply round
# trips on loopback (default 20,000), run bare, under sockscope trace, under strace's seccomp filter
# and under plain strace -f. Prints the four times and the ratios to the bare run, and checks that
# the trace kept every packet (4 segments per round trip at least: request, reply and their ACKs may
# merge, so it prints the count rather than asserting one).
#   tests/bench/trace.sh [N]        (root: the trace captures)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${SOCKSCOPE_BUILD_DIR:-build}
n=${1:-20000}
prog=tests/bench/trace_roundtrips.py
mkdir -p "$build/bench"
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
bare=$(secs python3 "$prog" "$n")
ours=$(secs "$build/sockscope" trace --summary -o "$build/bench/trace_summary.txt" -- python3 "$prog" "$n")
sbpf=$(secs strace -f --seccomp-bpf -e trace=%network,read,write -o /dev/null python3 "$prog" "$n")
sall=$(secs strace -f -o /dev/null python3 "$prog" "$n")
printf '%-44s %8.2f s\n' "bare" "$bare"
printf '%-44s %8.2f s  x%.1f\n' "sockscope trace" "$ours" "$(echo "$ours / $bare" | bc -l)"
printf '%-44s %8.2f s  x%.1f\n' "strace -f --seccomp-bpf -e %network,read,write" "$sbpf" "$(echo "$sbpf / $bare" | bc -l)"
printf '%-44s %8.2f s  x%.1f\n' "strace -f" "$sall" "$(echo "$sall / $bare" | bc -l)"
grep -E "packets|calls" "$build/bench/trace_summary.txt" | head -5 || true
