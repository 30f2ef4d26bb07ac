#!/usr/bin/env bash
# Builds the cargo fuzz targets in fuzz/ and runs each for a bounded time, seeded from fuzz/seeds/<target>.
# Exits non-zero if any target crashes, times out or runs out of memory (the input is left in
# fuzz/artifacts/<target>/; the log says how to replay it). See docs/fuzzing.md.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     default: 60 s, every target
#
# Environment:
#   FUZZ_JOBS       targets fuzzed at once (default: the number of cores); each uses one core
#   FUZZ_SANITIZER  none (default) or address
#   FUZZ_TOOLCHAIN  rustup toolchain to build with (default: nightly if installed, else the default one)
#   FUZZ_TARGET_DIR build directory (default: fuzz/target)
#   FUZZ_SKIP_CHECKS=1  skip the clippy and unit tests of the engine's `fuzzing` feature
#
# The growing corpus is kept in fuzz/corpus/<target> (not committed), so later runs start where earlier
# ones stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

seconds="${1:-60}"
shift || true
jobs="${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}"
# No sanitizer by default. The engine forbids unsafe code, so the bugs left to find are panics and wrong
# answers, which every build catches (debug assertions and overflow checks are on). AddressSanitizer
# instruments every dependency as well: on the 2-core machine it took the cold build from about 3 to 5.4
# minutes and ran the targets 2 to 6 times slower (pan6_envelope 9,800 runs/s instead of 53,000 to 68,000),
# to look for memory errors that only the C parts (OpenSSL, SQLite) could have, and those are not built with
# it anyway. FUZZ_SANITIZER=address is there for long runs with time to spare.
sanitizer="${FUZZ_SANITIZER:-none}"

# Nightly when rustup has it; otherwise the default (stable) compiler, allowed the unstable flags cargo fuzz
# passes (-Z options, sanitizer coverage) by RUSTC_BOOTSTRAP=1. FUZZ_TOOLCHAIN=<name> picks one explicitly.
toolchain=()
if [[ -n "${FUZZ_TOOLCHAIN:-}" ]]; then
  toolchain=(+"$FUZZ_TOOLCHAIN")
elif rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  toolchain=(+nightly)
fi
if [[ "${toolchain[*]}" != "+nightly"* ]]; then
  echo "fuzz: building with ${toolchain[*]:-the default toolchain} and RUSTC_BOOTSTRAP=1"
  export RUSTC_BOOTSTRAP=1
fi
if ! cargo "${toolchain[@]}" fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

if [[ "${FUZZ_SKIP_CHECKS:-0}" != 1 ]]; then
  # The entry points only compile with the feature, which the workspace lints and tests leave off.
  cargo clippy -p pandrop-engine --features fuzzing --lib --locked -- -D warnings
  cargo test -p pandrop-engine --features fuzzing --lib --locked fuzzing:: -- --quiet
fi

flags=(-s "$sanitizer" --release --debug-assertions)
if [[ -n "${FUZZ_TARGET_DIR:-}" ]]; then
  flags+=(--target-dir "$FUZZ_TARGET_DIR")
fi
cd fuzz
if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo "${toolchain[@]}" fuzz list)
fi

start=$(date +%s)
cargo "${toolchain[@]}" fuzz build "${flags[@]}"
echo "fuzz: built ${#targets[@]} targets in $(($(date +%s) - start)) s"

logs=target/fuzz-logs
mkdir -p "$logs"
run_target() {
  local target=$1
  mkdir -p "corpus/$target" "seeds/$target"
  # -timeout: one input taking this long is a hang. -rss_limit_mb: the hash target peaks near 200 MiB.
  cargo "${toolchain[@]}" fuzz run "${flags[@]}" "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=1024 -print_final_stats=1 >"$logs/$target.log" 2>&1
}

# At most $jobs targets at once; each result is collected as its run ends.
declare -A pids=()
failed=()
wait_one() {
  local done_pid status=0 name
  wait -n -p done_pid || status=$?
  for name in "${!pids[@]}"; do
    if [[ ${pids[$name]} == "$done_pid" ]]; then
      [[ $status -eq 0 ]] || failed+=("$name")
      unset "pids[$name]"
    fi
  done
}
for target in "${targets[@]}"; do
  while [[ ${#pids[@]} -ge $jobs ]]; do wait_one; done
  run_target "$target" &
  pids[$target]=$!
done
while [[ ${#pids[@]} -gt 0 ]]; do wait_one; done

printf '%-20s %12s %10s %8s %8s  %s\n' target runs exec/s corpus edges result
for target in "${targets[@]}"; do
  log="$logs/$target.log"
  [[ -f $log ]] || continue
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  edges=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  corpus=$(find "corpus/$target" -type f | wc -l)
  result=ok
  if [[ " ${failed[*]} " == *" $target "* ]]; then result=FAILED; fi
  printf '%-20s %12s %10s %8s %8s  %s\n' "$target" "${runs:-?}" "${rate:-?}" "$corpus" "${edges:-?}" "$result"
done
echo "fuzz: $((${#targets[@]})) targets, ${seconds} s each, ${jobs} at a time, $(($(date +%s) - start)) s in all"

if [[ ${#failed[@]} -gt 0 ]]; then
  for target in "${failed[@]}"; do
    echo "== fuzz target $target failed; the end of fuzz/$logs/$target.log:"
    tail -40 "$logs/$target.log"
    sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$logs/$target.log" | while read -r artifact; do
      echo "replay: (cd fuzz && cargo ${toolchain[*]} fuzz run ${flags[*]} $target $artifact)"
    done
  done
  exit 1
fi
