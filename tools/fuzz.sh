#!/usr/bin/env bash
# Fuzzes the vault core with cargo-fuzz (libFuzzer): every target of fuzz/ for FUZZ_SECONDS seconds
# each, printing the executions run. `make fuzz` runs it for a minute per target, `make test` for a few
# seconds (a smoke run). Installs the pinned cargo-fuzz first if it is missing (about 2 minutes, once).
#
#   FUZZ_SECONDS=60 tools/fuzz.sh                 # every target
#   FUZZ_TARGETS="merge" FUZZ_SECONDS=600 tools/fuzz.sh
#
# Inputs found interesting are kept in fuzz/corpus/<target>/ (not committed) and start the next run,
# together with the committed seeds in fuzz/seeds/<target>/. A crash stops that target, leaves its
# input in fuzz/artifacts/<target>/, and makes the script fail: fix the bug, then copy the input to
# fuzz/regressions/<target>/, where tests/fuzz_regressions.rs replays it in every `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
SECONDS_EACH=${FUZZ_SECONDS:-60}
read -r -a TARGETS <<<"${FUZZ_TARGETS:-canonicalize export_page merge bundle_verify}"

say() { printf '[fuzz] %s\n' "$*"; }

if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "$CARGO_FUZZ_VERSION" ]; then
  say "installing cargo-fuzz $CARGO_FUZZ_VERSION (about 2 minutes)"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --force
fi

# cargo-fuzz passes flags that only a nightly compiler takes (-Z, sanitizer coverage); the machine has
# the stable toolchain, which accepts them with RUSTC_BOOTSTRAP=1. Here only, never for other builds.
export RUSTC_BOOTSTRAP=1
# Release build with debug assertions (integer overflow panics). No sanitizer: the core has no unsafe
# code, and AddressSanitizer would cost most of the executions. FUZZ_BUILD=dev (the smoke run of
# `make test`) takes an unoptimized build instead: it compiles in about half the time and still runs
# thousands of inputs in a few seconds.
case "${FUZZ_BUILD:-release}" in
  release) FLAGS=(--release --debug-assertions --sanitizer none); profile_dir=release ;;
  dev) FLAGS=(--dev --sanitizer none); profile_dir=debug ;;
  *) say "FUZZ_BUILD is release or dev, not ${FUZZ_BUILD}"; exit 2 ;;
esac

root=$(pwd)
logs="$root/fuzz/target/logs"
mkdir -p "$logs"

bin_dir="$root/fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/$profile_dir"
say "building the fuzz targets, ${FUZZ_BUILD:-release} (fuzz/target; the first build takes a few minutes)"
if ! cargo fuzz build "${FLAGS[@]}" >"$logs/build.log" 2>&1; then
  tail -n 40 "$logs/build.log" >&2
  say "the fuzz targets do not build (log: fuzz/target/logs/build.log)"
  exit 1
fi
failed=()
summary=()
for target in "${TARGETS[@]}"; do
  corpus="$root/fuzz/corpus/$target"
  mkdir -p "$corpus"
  log="$logs/$target.log"
  say "$target: ${SECONDS_EACH} s"
  artifacts="$root/fuzz/artifacts/$target"
  mkdir -p "$artifacts"
  status=0
  # The binary built above, run directly: `cargo fuzz run` would rebuild from a work tree that may
  # have changed since, and every target should fuzz the same build.
  "$bin_dir/$target" -max_total_time="$SECONDS_EACH" -print_final_stats=1 -timeout=30 \
    -rss_limit_mb=2048 -max_len=4096 -artifact_prefix="$artifacts/" \
    "$corpus" "$root/fuzz/seeds/$target" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
  inputs=$(find "$corpus" -type f | wc -l)
  if [ "$status" -eq 0 ]; then
    line="$target: ${runs:-?} executions in ${SECONDS_EACH} s (${rate:-?}/s), corpus $inputs inputs, no failure"
  else
    artifact=$(sed -n 's/.*Test unit written to //p' "$log" | tail -n1)
    line="$target: FAILED after ${runs:-?} executions; input: ${artifact:-see $log}"
    failed+=("$target")
    grep -E -A12 'panicked at|ERROR: libFuzzer|SUMMARY' "$log" | head -n 40 >&2 || tail -n 40 "$log" >&2
  fi
  summary+=("$line")
  say "$line"
done

say "summary (${SECONDS_EACH} s per target; logs in fuzz/target/logs/):"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  say "failed: ${failed[*]}. Fix the bug, then copy the input to fuzz/regressions/<target>/."
  exit 1
fi
