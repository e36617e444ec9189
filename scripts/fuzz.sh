#!/usr/bin/env bash
# Runs one fuzz target under libFuzzer (needs a nightly toolchain and `cargo install cargo-fuzz`).
#
#   scripts/fuzz.sh TARGET [SECONDS] [JOBS]   TARGET: scan, message, router, http, auth or stdio
#
# The checks are in fuzz/src (crate mcp-fuzz); `cargo test -p mcp-fuzz` replays the committed
# seeds in fuzz/corpus/TARGET on stable Rust. libFuzzer starts from those seeds and keeps the
# inputs it finds in fuzz/libfuzzer/corpus/TARGET (not committed). An input that fails a check
# is written to fuzz/libfuzzer/artifacts/TARGET/: once the defect is fixed, copy it into
# fuzz/corpus/TARGET so that every test run replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET [SECONDS] [JOBS]}
seconds=${2:-60}
jobs=${3:-1}
[ -d "fuzz/corpus/$target" ] || { echo "no target $target (see fuzz/corpus)" >&2; exit 2; }
mkdir -p "fuzz/libfuzzer/corpus/$target"
parallel=()
# With jobs, libFuzzer writes each one's output to fuzz-N.log in the current directory.
[ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
exec cargo +nightly fuzz run --fuzz-dir fuzz/libfuzzer -O "$target" \
  "fuzz/libfuzzer/corpus/$target" "fuzz/corpus/$target" -- \
  -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 "${parallel[@]}"
