#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/, its own CMake project: tests/fuzz/) and runs
# each for a bounded time. Fails on any crash, leak, sanitizer report, timeout or unsafe output (the
# targets check that what the views print is safe for a terminal). See docs/robustness.md.
#   scripts/fuzz.sh                 every target, 60 s each
#   scripts/fuzz.sh frame_fuzz      one target
#   SOCKSCOPE_FUZZ_SECONDS=300      longer runs
#   SOCKSCOPE_FUZZ_SEED=0           a random seed (default 1: the same inputs every run)
#   SOCKSCOPE_FUZZ_BUILD_DIR=dir    build somewhere else (default: build-fuzz)
# The corpus found grows in build-fuzz/corpus/<target> across runs (a fresh CI machine starts from the
# generated seeds). A crashing input is saved in build-fuzz/artifacts/; to keep it as a test, copy it
# into tests/fuzz/regressions/<frame|capture>/ (the fuzz area of the normal test suite replays them).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${SOCKSCOPE_FUZZ_SECONDS:-60}
# A fixed seed: a run explores the same inputs in the same order, so a CI run covers what a longer
# run here with the same seed already covered (SOCKSCOPE_FUZZ_SEED=0 picks one at random).
seed=${SOCKSCOPE_FUZZ_SEED:-1}
build=${SOCKSCOPE_FUZZ_BUILD_DIR:-build-fuzz}
cxx=${SOCKSCOPE_FUZZ_CXX:-clang++-14}
jobs=$(nproc 2>/dev/null || echo 2)

if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "sockscope fuzz: $cxx is not installed; run scripts/setup.sh (installs clang-14 and libclang-rt-14-dev)." >&2
  exit 1
fi

# target name -> extra libFuzzer flags. Captures get a larger input limit than single frames.
declare -A extra=(
  [frame_fuzz]="-max_len=2048 -dict=tests/fuzz/frame.dict"
  [capture_fuzz]="-max_len=8192 -dict=tests/fuzz/capture.dict"
)
# Regression inputs replayed by the test suite, per target (they also seed the runs).
declare -A regressions=([frame_fuzz]=tests/fuzz/regressions/frame [capture_fuzz]=tests/fuzz/regressions/capture)
targets=(frame_fuzz capture_fuzz)
if [[ -f tests/fuzz/lesson_fuzz.cpp ]]; then
  extra[lesson_fuzz]="-max_len=4096"
  regressions[lesson_fuzz]=tests/fuzz/regressions/lesson
  targets+=(lesson_fuzz)
fi
if (($#)); then targets=("$@"); fi

echo "== fuzz build ($build, $cxx)"
cmake -S tests/fuzz -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$jobs" --target make_seeds "${targets[@]}" >/dev/null
# Seeds from the test builders, regenerated every run (they follow the builders).
rm -rf "$build/seeds"
"$build/make_seeds" "$build/seeds"
mkdir -p "$build/seeds/lesson"
cp lessons/*.lesson "$build/seeds/lesson/" 2>/dev/null || true

failed=0
summary=()
for t in "${targets[@]}"; do
  seeds="$build/seeds/${t%_fuzz}"
  corpus="$build/corpus/$t"
  artifacts="$build/artifacts/$t/"
  log="$build/$t.log"
  mkdir -p "$corpus" "$artifacts" "${regressions[$t]}"
  echo "== $t: $seconds s"
  # -error_exitcode: a finding; -timeout: one input that runs 10 s is a hang; -rss_limit_mb: a leak
  # or unbounded buffer shows as an out-of-memory finding. Leak checking is on (ASan's default).
  set +e
  # shellcheck disable=SC2086
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/$t" -seed="$seed" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -error_exitcode=77 \
      -print_final_stats=1 -artifact_prefix="$artifacts" ${extra[$t]} \
      "$corpus" "$seeds" "${regressions[$t]}" >"$log" 2>&1
  rc=$?
  set -e
  stats=$({ grep -E '^#[0-9]+[[:space:]]+DONE' "$log" || true; } | tail -1 |
    sed -E 's/^#([0-9]+)[[:space:]]+DONE[[:space:]]+/execs \1  /; s/[[:space:]]+lim:.*//')
  eps=$({ grep -E '^stat::average_exec_per_sec' "$log" || true; } | awk '{print $2}')
  if ((rc != 0)); then
    failed=1
    echo "sockscope fuzz: $t FAILED (exit $rc). The report:" >&2
    grep -E -A40 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|sockscope fuzz:' "$log" | head -80 >&2 || tail -40 "$log" >&2
    ls "$artifacts" >&2
    echo "Replay: $build/$t ARTIFACT; keep it as a test: cp ARTIFACT ${regressions[$t]}/" >&2
    summary+=("$t: FAILED (see $log)")
  else
    summary+=("$t: ok  ${stats:-?}  exec/s ${eps:-?}")
  fi
done

echo "== fuzz summary ($seconds s per target)"
printf '  %s\n' "${summary[@]}"
exit "$failed"
