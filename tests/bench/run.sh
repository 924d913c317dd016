#!/usr/bin/env bash
# The benchmark: annotate large synthetic captures and compare with a bare libpcap loop and tcpdump.
#   tests/bench/run.sh                 1M and 5M packets
#   tests/bench/run.sh 200000          other sizes (packets), any number of them
#   tests/bench/run.sh --live          only the live benchmark (root): sockscope capture on loopback
#                                      under 60,000 packets/s for 10 s beside tcpdump
#   tests/bench/run.sh --live 1000000  both
# Needs: build/ configured (scripts/setup.sh), tcpdump, /usr/bin/time (Debian: time). Files go to
# build/bench/ (about 750 MB per million packets) and are kept for the next run.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${SOCKSCOPE_BUILD_DIR:-build}
live=false
sizes=()
for a in "$@"; do
  if [ "$a" = --live ]; then live=true; else sizes+=("$a"); fi
done
[ ${#sizes[@]} -gt 0 ] || $live || sizes=(1000000 5000000)
command -v /usr/bin/time >/dev/null || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "bench: tcpdump is missing (apt-get install tcpdump)" >&2; exit 1; }
cmake --build "$build" --target sockscope gen_capture pcap_loop live_load -j"$(nproc)" >/dev/null
mkdir -p "$build/bench"
# glibc's localtime() checks /etc/localtime on every call when TZ is unset; tcpdump calls it per packet.
export TZ=UTC

measure() {  # label, command...: prints "seconds max_rss_kib"
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$build/bench/time.txt" "$@" >/dev/null 2>"$build/bench/stderr.txt" ||
    { echo "bench: $label failed:" >&2; cat "$build/bench/stderr.txt" >&2; exit 1; }
  cat "$build/bench/time.txt"
}

printf '%s\n' "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for n in "${sizes[@]+"${sizes[@]}"}"; do
  file="$build/bench/bench-$n.pcap"
  [ -s "$file" ] || "$build/tests/bench/gen_capture" --packets "$n" --seed 1 -o "$file"
  echo
  echo "== $n packets, $(du -m "$file" | cut -f1) MB: $file"
  # Read the file once untimed, so every run finds it in the page cache (none pays for the disk).
  "$build/tests/bench/pcap_loop" "$file" >/dev/null
  printf '%-34s %9s %12s %10s\n' "run" "seconds" "packets/s" "peak MiB"
  declare -A secs rss
  run() {
    local label=$1; shift
    read -r s m < <(measure "$label" "$@")
    secs[$label]=$s; rss[$label]=$m
    awk -v l="$label" -v s="$s" -v m="$m" -v n="$n" 'BEGIN { printf "%-34s %9.2f %12.0f %10.1f\n", l, s, n / (s + 0.0001), m / 1024 }' 
  }
  run "libpcap loop (floor)" "$build/tests/bench/pcap_loop" "$file"
  # The same loop reading through a 256 KiB buffer, as sockscope does: the floor for that design.
  run "libpcap loop, 256 KiB reads" "$build/tests/bench/pcap_loop" --read-buffer 256 "$file"
  run "tcpdump -n -r" tcpdump -n -r "$file"
  run "sockscope annotate" "$build/sockscope" annotate --color never "$file"
  run "sockscope annotate --json" "$build/sockscope" annotate --json "$file"
  run "sockscope annotate --summary" "$build/sockscope" annotate --summary "$file"
  ratio() { awk -v a="${secs[$1]}" -v b="${secs[$2]}" 'BEGIN { printf "%.2f", a / (b + 0.0001) }'; }
  printf 'ratios: annotate/tcpdump %s (target <= 0.5)   --json/tcpdump %s (target <= 1)   --summary/libpcap %s (target <= 2)\n' \
    "$(ratio "sockscope annotate" "tcpdump -n -r")" "$(ratio "sockscope annotate --json" "tcpdump -n -r")" \
    "$(ratio "sockscope annotate --summary" "libpcap loop (floor)")"
  printf '        --summary/libpcap with 256 KiB reads %s (the same reading, so only the work above it)\n' \
    "$(ratio "sockscope annotate --summary" "libpcap loop, 256 KiB reads")"
  unset secs rss
done

# ---- live: sockscope capture under load, beside tcpdump -----------------------------------------
# tests/bench/live_load sends paced UDP datagrams 127.0.0.1 -> 127.0.0.1:PORT (and receives them),
# while tcpdump -w and sockscope capture watch that port on lo. Each reports what the kernel dropped;
# sockscope must annotate every packet tcpdump counted.
live_run() {  # form (--summary or --json): prints one line of results
  local form=$1 port=${SOCKSCOPE_LIVE_PORT:-19555} rate=${SOCKSCOPE_LIVE_RATE:-60000} seconds=10
  local dir="$build/bench/live"
  mkdir -p "$dir"
  tcpdump -i lo -n -w "$dir/tcpdump.pcap" "udp port $port" 2>"$dir/tcpdump.err" &
  local td=$!
  "$build/sockscope" capture --port "$port" "$form" >"$dir/capture.out" 2>"$dir/capture.err" &
  local sc=$!
  # Both print a line on standard error once they capture.
  for _ in $(seq 50); do
    grep -q listening "$dir/tcpdump.err" 2>/dev/null && grep -q -i capturing "$dir/capture.err" 2>/dev/null && break
    sleep 0.1
  done
  "$build/tests/bench/live_load" --port "$port" --rate "$rate" --seconds "$seconds" >"$dir/load.out"
  sleep 1
  kill -INT "$sc"; wait "$sc" || true
  kill -INT "$td"; wait "$td" || true
  local sent td_n td_drop sc_n sc_drop shown
  sent=$(awk '{print $2}' "$dir/load.out")
  td_n=$(awk '/packets captured/ {print $1}' "$dir/tcpdump.err")
  td_drop=$(awk '/dropped by kernel/ {print $1}' "$dir/tcpdump.err")
  sc_n=$(sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$dir/capture.err")
  sc_drop=$(sed -n 's/.* \([0-9]*\) dropped by the kernel.*/\1/p' "$dir/capture.err")
  if [ "$form" = --json ]; then
    shown=$(grep -c '"type":"packet"' "$dir/capture.out" || true)
  else
    shown=$(sed -n 's/^totals: \([0-9]*\) packets.*/\1/p' "$dir/capture.out")
  fi
  printf '%-28s %9s %9s %9s %10s %9s %10s  %s\n' "sockscope capture $form" "$sent" "$td_n" "$td_drop" "$sc_n" "$sc_drop" \
    "$shown" "$([ "$sc_drop" = 0 ] && [ "$shown" = "$td_n" ] && echo "ok" || echo "MISSED $((td_n - shown))")"
}

if $live; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bench: --live captures packets: run it as root" >&2
    exit 1
  fi
  echo
  echo "== live: ${SOCKSCOPE_LIVE_RATE:-60000} UDP datagrams/s on lo for 10 s (tests/bench/live_load)"
  printf '%-28s %9s %9s %9s %10s %9s %10s  %s\n' "run" "sent" "tcpdump" "td drops" "captured" "drops" "annotated" "verdict"
  live_run --summary
  live_run --json
fi
