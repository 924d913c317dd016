#!/usr/bin/env bash
# Runs the whole test suite: the normal build (build/), then the same tests built with
# AddressSanitizer and UndefinedBehaviorSanitizer (build-sanitize/), then the fuzz targets. Run
# scripts/setup.sh first. Tests that record live traffic need root (CI runs as root); elsewhere they
# skip with a reason. Ends with one line: "tests: N passed, N failed".
#   SOCKSCOPE_SKIP_SANITIZE=1   only the normal build
#   SOCKSCOPE_SKIP_FUZZ=1       no fuzzing (scripts/fuzz.sh, run when clang++-14 is installed)
set -uo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
passed=0 failed=0 status=0

# Runs ctest with the given arguments and adds its counts ("N% tests passed, F tests failed out of T").
run_ctest() {
  ctest "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  if [[ -n "$line" ]]; then
    local f t
    f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
    t=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
    passed=$((passed + t - f)) failed=$((failed + f))
  elif ((rc != 0)); then
    failed=$((failed + 1))
  fi
  ((rc == 0)) || status=1
}

# Figures that tests print (the chat load test: clients, lines, lost, duplicated, peak RSS): ctest
# keeps a passing test's output only in its log, so they are shown from there.
show_figures() {
  grep -h -E '^(chat (load|hostile)|\[ lab      \])' "$1/Testing/Temporary/LastTest.log" 2>/dev/null | sed 's/^/  /'
}

echo "== tests (build/)"
run_ctest --test-dir build --output-on-failure -j"$jobs"
show_figures build

if [[ "${SOCKSCOPE_SKIP_SANITIZE:-0}" != 1 ]]; then
  echo "== tests under AddressSanitizer + UndefinedBehaviorSanitizer (build-sanitize/)"
  if cmake --preset sanitize >/dev/null && cmake --build --preset sanitize -j"$jobs"; then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      run_ctest --preset sanitize -j"$jobs"
    show_figures build-sanitize
  else
    echo "sockscope test: the sanitized build failed" >&2
    failed=$((failed + 1)) status=1
  fi
fi

# The fuzz targets, 50 s each here (about 4 minutes with the build; SOCKSCOPE_FUZZ_SECONDS), when clang
# is installed (scripts/setup.sh installs it). Each target counts as one test.
if [[ "${SOCKSCOPE_SKIP_FUZZ:-0}" != 1 ]] && command -v clang++-14 >/dev/null; then
  SOCKSCOPE_FUZZ_SECONDS=${SOCKSCOPE_FUZZ_SECONDS:-50} scripts/fuzz.sh 2>&1 | tee "$log"
  ((PIPESTATUS[0] == 0)) || status=1
  passed=$((passed + $(grep -cE '^  [a-z_]+_fuzz: ok' "$log" || true)))
  failed=$((failed + $(grep -cE '^  [a-z_]+_fuzz: FAILED' "$log" || true)))
fi

echo "tests: $passed passed, $failed failed"
exit "$status"
