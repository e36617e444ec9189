#!/usr/bin/env bash
# Instruction counts under callgrind: the same from run to run, where time on a shared,
# noisy machine swings by more than most changes being measured. Needs valgrind.
#
#   scripts/instructions.sh telemetry [--cache]
#       TelemetryLayer's cost on a tools/call dispatch (bytes to bytes): instructions per call
#       of the router alone and behind the layer, with no recorder and with the global
#       Prometheus recorder (mcp-telemetry's `overhead_instructions` bench). --cache also
#       simulates the caches and reports first-level instruction-cache misses per call.
#
#   scripts/instructions.sh server SERVER SCENARIO [VARIANT]
#       User-space instructions per request of one `load serve` server (ours-quickstart,
#       ours-production, ours-telemetry, rmcp, raw) under `load bench` (4 connections, 8 s
#       after a 3 s warm-up that is not counted). SCENARIO and VARIANT as `load` takes them.
#       ours-telemetry against ours-quickstart (stateless) is what telemetry costs over HTTP.
#       Valgrind hides the CPU's SHA extensions: under it, ours-production's verified-token
#       cache hashes each token with software SHA-256 (~34 000 instructions per request),
#       a few percent of the time natively (check with perf).
#
# Build settings: release, with line tables (for callgrind_annotate on the output files,
# which are kept in the directory printed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
command -v valgrind >/dev/null || { echo "valgrind is needed (apt install valgrind)" >&2; exit 1; }
export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_PROFILE_BENCH_DEBUG=line-tables-only
out_dir=$(mktemp -d "${TMPDIR:-/tmp}/instructions.XXXXXX")

# The executable cargo built for a target, from its JSON messages.
executable() {
  grep -o '"executable":"[^"]*"' | sed 's/"executable":"//; s/"$//' | grep "$1" | tail -1
}

# The first event's total of a callgrind output file, and the I1 misses when simulated.
totals() {
  awk '/^events:/ { for (i = 2; i <= NF; i++) if ($i == "I1mr") miss = i - 1 }
       /^(summary|totals):/ { print $2, (miss ? $(miss + 1) : "") ; exit }' "$1"
}

per_call() { awk -v t="$1" -v n="$2" 'BEGIN { printf "%.0f", t / n }'; }

telemetry() {
  local cache=()
  case "${1:-}" in
    --cache) cache=(--cache-sim=yes) ;;
    "") ;;
    *) usage ;;
  esac
  local bench
  bench=$(cargo bench -p mcp-telemetry --bench overhead_instructions --no-run \
    --message-format=json 2>/dev/null | executable overhead_instructions)
  [ -x "$bench" ] || { echo "could not build the overhead_instructions bench" >&2; exit 1; }
  local calls=10000 base=0
  printf '%-34s %18s %10s %s\n' case instructions/call overhead "${cache:+I1 misses/call}"
  for case in router telemetry router-prometheus telemetry-prometheus; do
    local file="$out_dir/$case.callgrind"
    valgrind --tool=callgrind "${cache[@]}" --toggle-collect='*measured_calls*' \
      --callgrind-out-file="$file" "$bench" "$case" "$calls" >"$out_dir/$case.log" 2>&1 ||
      { cat "$out_dir/$case.log" >&2; exit 1; }
    local total misses ir overhead=""
    read -r total misses < <(totals "$file")
    ir=$(per_call "$total" "$calls")
    if [ "${case#router}" != "$case" ]; then
      base=$ir
    else
      overhead=$(awk -v a="$base" -v b="$ir" 'BEGIN { printf "%+.1f %%", (b / a - 1) * 100 }')
    fi
    printf '%-34s %18s %10s %s\n' "$case" "$ir" "$overhead" \
      "${misses:+$(per_call "$misses" "$calls")}"
  done
}

server() {
  [ $# -ge 2 ] || usage
  local name=$1 scenario=$2 variant=${3:-}
  local load
  load=$(cargo build --release -p load --message-format=json 2>/dev/null | executable /load)
  [ -x "$load" ] || { echo "could not build the load kit" >&2; exit 1; }
  local port=$((20000 + RANDOM % 20000)) file="$out_dir/$name-$scenario.callgrind"
  # The server exits when its stdin closes: a pipe from a sleeping process holds it open.
  sleep 100000 | valgrind --tool=callgrind --callgrind-out-file="$file" \
    "$load" serve "$name" ${variant:+--variant "$variant"} --addr "127.0.0.1:$port" \
    >"$out_dir/serve.out" 2>"$out_dir/serve.err" &
  local holder
  holder=$(jobs -p | tail -1)
  # Values expanded now: the trap runs after this function's locals are gone.
  trap "kill $holder 2>/dev/null; pkill -f 'serve $name .*127.0.0.1:$port' 2>/dev/null || true" EXIT
  for _ in $(seq 120); do
    grep -q listening "$out_dir/serve.out" 2>/dev/null && break
    sleep 1
  done
  grep -q listening "$out_dir/serve.out" || { cat "$out_dir/serve.err" >&2; exit 1; }
  local token pid
  token=$(awk '/^tokens/ { split($2, t, ","); print t[1] }' "$out_dir/serve.out")
  pid=$(pgrep -f "callgrind.*serve $name .*127.0.0.1:$port" | head -1)
  local bench=("$load" bench --addr "127.0.0.1:$port" --scenario "$scenario" --connections 4
    ${token:+--token "$token"})
  "${bench[@]}" --duration 3 >/dev/null 2>&1
  callgrind_control -z "$pid" >/dev/null 2>&1
  local report requests
  report=$("${bench[@]}" --warmup 0 --duration 8 2>&1 | tail -1)
  callgrind_control -d "$pid" >/dev/null 2>&1
  requests=$(grep -o '[0-9]* requests' <<<"$report" | cut -d' ' -f1)
  [ -n "$requests" ] && [ "$requests" -gt 0 ] || { echo "load bench: $report" >&2; exit 1; }
  local dump total _
  dump=$(ls -t "$file".* | head -1)
  read -r total _ < <(totals "$dump")
  echo "$name $scenario: $(per_call "$total" "$requests") instructions per request ($requests requests)"
}

case "${1:-}" in
  telemetry) shift; telemetry "$@" ;;
  server) shift; server "$@" ;;
  *) usage ;;
esac
echo "callgrind output: $out_dir"
