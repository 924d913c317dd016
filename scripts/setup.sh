#!/usr/bin/env bash
# Sets up a Debian 12 machine for sockscope and builds it at build/sockscope.
# Installs only what is missing (needs root for that), then configures and builds with CMake.
#   scripts/setup.sh            install + build (RelWithDebInfo, warnings as errors when CI=true)
#   SOCKSCOPE_BUILD_DIR=dir     build somewhere else (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."

# the toolchain (g++ 12, CMake 3.25); libpcap; the command line; the tests (GoogleTest, tcpdump to
# record real traffic, tshark to cross-check our analysis, python3 to validate JSON); gettext
packages=(
  build-essential cmake pkg-config
  libpcap-dev
  libboost-program-options-dev
  libfmt-dev          # {fmt}: printf syntax with positional %1$s (fmt::sprintf) for translators, and type checks
  nlohmann-json3-dev  # JSON reading (ip -j, nft -j, the tests) and writing off the per-packet path
  libgtest-dev tcpdump tshark python3
  iproute2 nftables ethtool gettext  # the two-host lab: namespaces, veth, loss rules, offloads off
  librsvg2-bin                 # the tests render the SVG pictures to PNG (rsvg-convert) to prove them valid
  clang-14 libclang-rt-14-dev  # the fuzz targets (scripts/fuzz.sh): clang, libFuzzer and its sanitizer runtimes
  libbenchmark-dev time        # the benchmark (tests/bench/run.sh): Google Benchmark, /usr/bin/time
  dpkg-dev                     # cpack -G DEB computes the package's dependencies with dpkg-shlibdeps
  man-db groff-base            # the manual page: tests render it (groff) and find it (man -w)
  libcap2-bin                  # getcap: the package test checks the binary got no capabilities
  strace bc                    # sockscope trace: its test checks the calls against strace's; tests/bench/trace.sh times both
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "sockscope setup: these packages are missing: ${missing[*]}" >&2
    echo "Run this script as root (or: sudo apt-get install ${missing[*]})." >&2
    exit 1
  fi
  echo "sockscope setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build_dir=${SOCKSCOPE_BUILD_DIR:-build}
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j"$jobs"
echo "sockscope setup: built $build_dir/sockscope"
