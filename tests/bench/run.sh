#!/usr/bin/env bash
# The benchmark: annotate large synthetic captures and compare with a bare libpcap loop and tcpdump.
#   tests/bench/run.sh                 1M and 5M packets
#   tests/bench/run.sh 200000          other sizes (packets), any number of them
# Needs: build/ configured (scripts/setup.sh), tcpdump, /usr/bin/time (Debian: time). Files go to
# build/bench/ (about 750 MB per million packets) and are kept for the next run.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${SOCKSCOPE_BUILD_DIR:-build}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 5000000)
command -v /usr/bin/time >/dev/null || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "bench: tcpdump is missing (apt-get install tcpdump)" >&2; exit 1; }
cmake --build "$build" --target sockscope gen_capture pcap_loop -j"$(nproc)" >/dev/null
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
for n in "${sizes[@]}"; do
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
  run "tcpdump -n -r" tcpdump -n -r "$file"
  run "sockscope annotate" "$build/sockscope" annotate --color never "$file"
  run "sockscope annotate --json" "$build/sockscope" annotate --json "$file"
  run "sockscope annotate --summary" "$build/sockscope" annotate --summary "$file"
  ratio() { awk -v a="${secs[$1]}" -v b="${secs[$2]}" 'BEGIN { printf "%.2f", a / (b + 0.0001) }'; }
  printf 'ratios: annotate/tcpdump %s (target <= 0.5)   --json/tcpdump %s (target <= 1)   --summary/libpcap %s (target <= 2)\n' \
    "$(ratio "sockscope annotate" "tcpdump -n -r")" "$(ratio "sockscope annotate --json" "tcpdump -n -r")" \
    "$(ratio "sockscope annotate --summary" "libpcap loop (floor)")"
  unset secs rss
done
