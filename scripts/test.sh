#!/usr/bin/env bash
# Runs the whole test suite: the normal build (build/), then the same tests built with
# AddressSanitizer and UndefinedBehaviorSanitizer (build-sanitize/). Run scripts/setup.sh first.
# Tests that record live traffic need root (CI runs as root); elsewhere they skip with a reason.
#   SOCKSCOPE_SKIP_SANITIZE=1   only the normal build
#   SOCKSCOPE_SKIP_FUZZ=1       no fuzzing (scripts/fuzz.sh, run when clang++-14 is installed)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

echo "== tests (build/)"
ctest --test-dir build --output-on-failure -j"$jobs"

if [[ "${SOCKSCOPE_SKIP_SANITIZE:-0}" != 1 ]]; then
  echo "== tests under AddressSanitizer + UndefinedBehaviorSanitizer (build-sanitize/)"
  cmake --preset sanitize >/dev/null
  cmake --build --preset sanitize -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --preset sanitize -j"$jobs"
fi

# The fuzz targets, 50 s each here (about 4 minutes with the build; SOCKSCOPE_FUZZ_SECONDS), when clang
# is installed (scripts/setup.sh installs it).
if [[ "${SOCKSCOPE_SKIP_FUZZ:-0}" != 1 ]] && command -v clang++-14 >/dev/null; then SOCKSCOPE_FUZZ_SECONDS=${SOCKSCOPE_FUZZ_SECONDS:-50} scripts/fuzz.sh; fi
