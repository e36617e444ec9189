#!/usr/bin/env bash
# Run the official MCP conformance suite (npm: @modelcontextprotocol/conformance)
# against a running MCP server and fail on ANY failed check or warning.
#
# Usage:
#   .ci/conformance.sh <server-url> [run ...]
#   .ci/conformance.sh --install-only          # only populate .ci/cache (CI setup step)
#
#   <server-url>  the MCP endpoint, e.g. http://127.0.0.1:3000/mcp. It must be a
#                 loopback URL (localhost / 127.0.0.1 / [::1]): the suite's
#                 dns-rebinding-protection scenario fails on any other host.
#   run           which runs to do (default: all three). Same as CONFORMANCE_RUNS.
#
# Runs (names accepted in CONFORMANCE_RUNS or as arguments):
#   legacy       conformance@0.1.16         server --url URL --suite all
#                (all 0.1.16 server scenarios, active + pending, 2025-11-25 wire)
#   2026-07-28   conformance@<0.2 pin>      server --url URL --requirements 2026-07-28
#                (stateless 2026-07-28 wire; also runs the not-scored extension
#                 and pending scenarios listed in the requirement set)
#   2025-11-25   conformance@<0.2 pin>      server --url URL --requirements 2025-11-25
#                (stateful initialize/session wire)
#   modern       = 2026-07-28 2025-11-25
#   all          = legacy 2026-07-28 2025-11-25
#
# Environment:
#   CONFORMANCE_RUNS        space-separated run names (default "legacy 2026-07-28 2025-11-25")
#   CONFORMANCE_ALLOW       space-separated scenario globs whose FAILUREs/WARNINGs are
#                           printed but do NOT fail this script (default: empty, every
#                           scenario counts, tasks-* included). For local triage only.
#   CONFORMANCE_SCENARIO    run only this scenario (passed as --scenario) in each run;
#                           with the 0.2 runs the requirement set's wire version is
#                           still used (--spec-version <rev> --force).
#   CONFORMANCE_OUT         results directory (default: a fresh mktemp dir under /tmp);
#                           each run writes <out>/<run>/server-<scenario>-<ts>/checks.json
#                           and <out>/<run>.log (the raw CLI output)
#   CONFORMANCE_TIMEOUT_MS  per-scenario timeout for the 0.2 runs (CLI --timeout; default 30000)
#   CONFORMANCE_RUN_TIMEOUT wall-clock limit in seconds for one whole run (default 1200)
#   CONFORMANCE_SDK_VERSION exact @modelcontextprotocol/sdk version forced (npm "overrides")
#                           under both suite versions, for reproducible results
#                           (default 1.32.2; set to "" to let npm resolve the range)
#   CONFORMANCE_VERBOSE=1   also print every check of every scenario (SUCCESS/INFO too)
#
# How results are judged: the CLI's exit code alone is not enough (0.1.16 ignores
# warnings; 0.2 --requirements only scores the "scored" scenarios and also ignores
# warnings; a scenario that throws leaves no checks.json). So every run is given
# -o <dir>, and this script reads every checks.json: any check with status FAILURE
# or WARNING fails the run (unless its scenario matches CONFORMANCE_ALLOW), as does
# a started scenario without checks.json, a scenario count that does not match the
# CLI's "Running ... (N scenarios)" line, or a non-zero CLI exit that no allowed
# failure explains. SUCCESS / INFO / SKIPPED never fail.
#
# Exit status: 0 if every requested run is clean, 1 otherwise, 2 on usage errors.
set -uo pipefail

# Exact npm versions (see docs/conformance-expectations.md for what they check).
CONFORMANCE_LEGACY_VERSION="0.1.16"
CONFORMANCE_MODERN_VERSION="0.2.0-alpha.12"   # newest 0.2.x on npm at the time of pinning
: "${CONFORMANCE_SDK_VERSION=1.32.2}"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
CACHE="$REPO/.ci/cache"

die() { echo "conformance.sh: $*" >&2; exit 2; }

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

# ---------------------------------------------------------------- arguments
INSTALL_ONLY=0
URL=""
ARG_RUNS=()
for a in "$@"; do
  case "$a" in
    -h|--help) usage; exit 0 ;;
    --install-only) INSTALL_ONLY=1 ;;
    -*) die "unknown option $a (see --help)" ;;
    *) if [ -z "$URL" ] && [ "$INSTALL_ONLY" = 0 ]; then URL="$a"; else ARG_RUNS+=("$a"); fi ;;
  esac
done
if [ "$INSTALL_ONLY" = 0 ] && [ -z "$URL" ]; then
  usage >&2
  exit 2
fi

RUNS_SPEC="${ARG_RUNS[*]:-${CONFORMANCE_RUNS:-legacy 2026-07-28 2025-11-25}}"
RUNS=()
for r in $RUNS_SPEC; do
  case "$r" in
    all) RUNS+=(legacy 2026-07-28 2025-11-25) ;;
    modern) RUNS+=(2026-07-28 2025-11-25) ;;
    legacy|2026-07-28|2025-11-25) RUNS+=("$r") ;;
    modern-2026|2026) RUNS+=(2026-07-28) ;;
    modern-2025|2025) RUNS+=(2025-11-25) ;;
    *) die "unknown run '$r' (legacy, 2026-07-28, 2025-11-25, modern, all)" ;;
  esac
done
# de-duplicate, keep order
declare -A _seen=()
UNIQUE_RUNS=()
for r in "${RUNS[@]}"; do
  [ -n "${_seen[$r]:-}" ] && continue
  _seen[$r]=1
  UNIQUE_RUNS+=("$r")
done
RUNS=("${UNIQUE_RUNS[@]}")

if [ -n "$URL" ]; then
  case "$URL" in
    http://localhost[:/]*|http://127.0.0.1[:/]*|http://\[::1\][:/]*|http://localhost|http://127.0.0.1) ;;
    http://*|https://*)
      echo "conformance.sh: warning: $URL is not a loopback URL; dns-rebinding-protection will fail" >&2 ;;
    *) die "server URL must start with http:// (got '$URL')" ;;
  esac
fi

# ---------------------------------------------------------------- node >= 22
# shellcheck source=.ci/node.sh
source "$HERE/node.sh" || die "could not provide Node >= 22 (see .ci/node.sh)"

# ---------------------------------------------------------------- install
pkg_dir() { echo "$CACHE/conformance/$1"; }

install_pkg() {
  local ver="$1" dir stamp want
  dir="$(pkg_dir "$ver")"
  stamp="$dir/.mcp-tower-stamp"
  want="conformance=$ver sdk=${CONFORMANCE_SDK_VERSION:-range}"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
     [ -f "$dir/node_modules/@modelcontextprotocol/conformance/dist/index.js" ]; then
    return 0
  fi
  echo "conformance.sh: installing @modelcontextprotocol/conformance@$ver into $dir" >&2
  rm -rf "$dir"
  mkdir -p "$dir"
  local overrides=""
  if [ -n "${CONFORMANCE_SDK_VERSION:-}" ]; then
    overrides=", \"overrides\": { \"@modelcontextprotocol/sdk\": \"$CONFORMANCE_SDK_VERSION\" }"
  fi
  cat > "$dir/package.json" <<EOF
{
  "name": "mcp-tower-conformance-$ver",
  "private": true,
  "description": "cache for .ci/conformance.sh (not part of the build)",
  "dependencies": { "@modelcontextprotocol/conformance": "$ver" }$overrides
}
EOF
  if ! npm install --prefix "$dir" --no-audit --no-fund --loglevel=error >&2; then
    echo "conformance.sh: npm install of @modelcontextprotocol/conformance@$ver failed" >&2
    return 1
  fi
  local got
  got="$(node -p "require('$dir/node_modules/@modelcontextprotocol/conformance/package.json').version" 2>/dev/null)"
  if [ "$got" != "$ver" ]; then
    echo "conformance.sh: installed conformance version '$got', wanted '$ver'" >&2
    return 1
  fi
  echo "$want" > "$stamp"
}

need_legacy=0; need_modern=0
if [ "$INSTALL_ONLY" = 1 ]; then
  need_legacy=1; need_modern=1
else
  for r in "${RUNS[@]}"; do
    case "$r" in legacy) need_legacy=1 ;; *) need_modern=1 ;; esac
  done
fi
[ "$need_legacy" = 1 ] && { install_pkg "$CONFORMANCE_LEGACY_VERSION" || exit 1; }
[ "$need_modern" = 1 ] && { install_pkg "$CONFORMANCE_MODERN_VERSION" || exit 1; }
if [ "$INSTALL_ONLY" = 1 ]; then
  echo "conformance.sh: cache ready ($CACHE/conformance), node $(node --version)"
  exit 0
fi

# ---------------------------------------------------------------- judge
# Reads the raw CLI log + the checks.json files of one run and prints a verdict.
# Last line of stdout: "RESULT <passed> <bad> <allowedBad>". Written to <out>/.judge.cjs.
write_judge() {
  cat > "$1" <<'JS'
const fs = require("fs"), path = require("path");
const [logFile, runName, exitCodeStr, allowSpec, verbose, expectOne] = process.argv.slice(2);
const exitCode = Number(exitCodeStr);
const allow = (allowSpec || "").split(/\s+/).filter(Boolean).map((g) =>
  new RegExp("^" + g.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$"));
const allowed = (s) => allow.some((re) => re.test(s));
const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : "";
const lines = log.split(/\r?\n/);
let announced = null;
const order = [], dirs = {}, crashed = {}, skippedNA = {};
let cur = null;
for (const line of lines) {
  let m;
  if ((m = line.match(/^Running .* \((\d+) scenarios\) against /))) announced = Number(m[1]);
  else if ((m = line.match(/^=== Running scenario: (\S+) ===$/)) ||
           (m = line.match(/^Running client scenario '(\S+)' against server: /))) {
    cur = m[1];
    if (!order.includes(cur)) order.push(cur);
  }
  else if ((m = line.match(/^Results saved to (.+)$/)) && cur) dirs[cur] = m[1].trim();
  else if ((m = line.match(/^Failed to run scenario (\S+?):/))) crashed[m[1]] = line;
  else if ((m = line.match(/^SKIPPED: scenario .(\S+). is not applicable/))) skippedNA[m[1]] = line;
}
const problems = []; // {scenario, id, status, msg, allowed}
let passed = 0;
const counts = {};
for (const s of order) {
  const dir = dirs[s];
  const file = dir && path.join(dir, "checks.json");
  if (skippedNA[s]) { problems.push({ scenario: s, id: "(scenario)", status: "FAILURE", msg: "scenario was skipped as not applicable: " + skippedNA[s] }); continue; }
  if (!file || !fs.existsSync(file)) {
    problems.push({ scenario: s, id: "(scenario)", status: "FAILURE",
      msg: crashed[s] ? crashed[s] : "no checks.json was written (the scenario threw or the CLI died)" });
    continue;
  }
  let checks;
  try { checks = JSON.parse(fs.readFileSync(file, "utf8")); }
  catch (e) { problems.push({ scenario: s, id: "(scenario)", status: "FAILURE", msg: "unreadable checks.json: " + e.message }); continue; }
  if (!Array.isArray(checks) || checks.length === 0) {
    problems.push({ scenario: s, id: "(scenario)", status: "FAILURE", msg: "checks.json holds no checks" });
    continue;
  }
  for (const c of checks) {
    counts[c.status] = (counts[c.status] || 0) + 1;
    if (verbose === "1") console.log(`    [${runName}] ${s} ${c.id} ${c.status}${c.errorMessage ? " - " + c.errorMessage : ""}`);
    if (c.status === "SUCCESS") passed++;
    else if (c.status === "FAILURE" || c.status === "WARNING")
      problems.push({ scenario: s, id: c.id, status: c.status, msg: c.errorMessage || c.description || "" });
  }
}
if (announced === null && expectOne !== "1") problems.push({ scenario: "(run)", id: "(run)", status: "FAILURE", msg: "the CLI never printed its \"Running ... (N scenarios)\" line" });
else if (announced === null && order.length !== 1) problems.push({ scenario: "(run)", id: "(run)", status: "FAILURE", msg: `expected exactly one scenario, saw ${order.length}` });
else if (announced !== null && announced !== order.length) problems.push({ scenario: "(run)", id: "(run)", status: "FAILURE", msg: `the CLI announced ${announced} scenarios but ran ${order.length}` });
if (announced === 0 || order.length === 0) problems.push({ scenario: "(run)", id: "(run)", status: "FAILURE", msg: "no scenario ran" });
for (const p of problems) p.allowed = p.scenario !== "(run)" && allowed(p.scenario);
const bad = problems.filter((p) => !p.allowed), ok = problems.filter((p) => p.allowed);
if (exitCode !== 0 && bad.length === 0 && !ok.some((p) => p.status === "FAILURE"))
  bad.push({ scenario: "(run)", id: "(run)", status: "FAILURE", msg: `the CLI exited with status ${exitCode} but no failed check explains it (see ${logFile})` });
const clip = (t) => { t = String(t).replace(/\s+/g, " "); return t.length > 600 ? t.slice(0, 600) + "..." : t; };
console.log(`[${runName}] ${order.length} scenarios, checks: ` + Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(", "));
for (const p of bad) console.log(`[${runName}] ${p.status}  ${p.scenario} / ${p.id}: ${clip(p.msg)}`);
for (const p of ok) console.log(`[${runName}] (allowed) ${p.status}  ${p.scenario} / ${p.id}: ${clip(p.msg)}`);
console.log(`RESULT ${passed} ${bad.length} ${ok.length}`);
JS
}

# ---------------------------------------------------------------- runs
OUT="${CONFORMANCE_OUT:-}"
if [ -z "$OUT" ]; then OUT="$(mktemp -d /tmp/mcp-conformance.XXXXXX)"; fi
mkdir -p "$OUT" || die "cannot create $OUT"
OUT="$(cd "$OUT" && pwd)"
write_judge "$OUT/.judge.cjs" || die "cannot write $OUT/.judge.cjs"
ALLOW="${CONFORMANCE_ALLOW-}"
RUN_TIMEOUT="${CONFORMANCE_RUN_TIMEOUT:-1200}"
SCENARIO="${CONFORMANCE_SCENARIO:-}"

echo "conformance.sh: server $URL, runs: ${RUNS[*]}, node $(node --version), results in $OUT"
[ -n "$ALLOW" ] && echo "conformance.sh: failures/warnings in scenarios matching '$ALLOW' are reported but allowed"

total_passed=0; total_bad=0; total_allowed=0; failed_runs=()
for run in "${RUNS[@]}"; do
  rundir="$OUT/$run"; log="$OUT/$run.log"
  rm -rf "$rundir"; mkdir -p "$rundir"
  if [ "$run" = legacy ]; then
    cli="$(pkg_dir "$CONFORMANCE_LEGACY_VERSION")/node_modules/@modelcontextprotocol/conformance/dist/index.js"
    args=(server --url "$URL" -o "$rundir")
    if [ -n "$SCENARIO" ]; then args+=(--scenario "$SCENARIO"); else args+=(--suite all); fi
    label="@modelcontextprotocol/conformance@$CONFORMANCE_LEGACY_VERSION"
  else
    cli="$(pkg_dir "$CONFORMANCE_MODERN_VERSION")/node_modules/@modelcontextprotocol/conformance/dist/index.js"
    args=(server --url "$URL" -o "$rundir" --timeout "${CONFORMANCE_TIMEOUT_MS:-30000}")
    if [ -n "$SCENARIO" ]; then args+=(--scenario "$SCENARIO" --spec-version "$run" --force)
    else args+=(--requirements "$run"); fi
    label="@modelcontextprotocol/conformance@$CONFORMANCE_MODERN_VERSION"
  fi
  echo
  echo "=== [$run] $label ${args[*]}"
  # Prefix every CLI line with the run name (keeps the CLI's own "Total: N passed,
  # N failed" line from being mistaken for this script's verdict).
  timeout --kill-after=10 "$RUN_TIMEOUT" node "$cli" "${args[@]}" < /dev/null 2>&1 |
    tee "$log" | sed -u "s/^/[$run] /"
  rc=${PIPESTATUS[0]}
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "[$run] the run did not finish within ${RUN_TIMEOUT}s (CONFORMANCE_RUN_TIMEOUT)"
  fi
  verdict="$(node "$OUT/.judge.cjs" "$log" "$run" "$rc" "$ALLOW" "${CONFORMANCE_VERBOSE:-0}" "$([ -n "$SCENARIO" ] && echo 1 || echo 0)")" || verdict="RESULT 0 1 0"
  echo "$verdict" | grep -v '^RESULT ' || true
  read -r _ p b a <<<"$(echo "$verdict" | grep '^RESULT ' | tail -n1)"
  p=${p:-0}; b=${b:-1}; a=${a:-0}
  total_passed=$((total_passed + p)); total_bad=$((total_bad + b)); total_allowed=$((total_allowed + a))
  if [ "$b" -gt 0 ]; then
    failed_runs+=("$run")
    echo "[$run] FAILED: $b failing or warning check(s) (CLI exit $rc; raw log $log)"
  else
    extra=""; [ "$a" -gt 0 ] && extra=", $a allowed problem(s) in scenarios matching '$ALLOW'"
    echo "[$run] OK: $p checks passed (CLI exit $rc$extra)"
  fi
done

echo
if [ "${#failed_runs[@]}" -gt 0 ]; then
  echo "conformance.sh: FAILED runs: ${failed_runs[*]} (results in $OUT)"
else
  echo "conformance.sh: all runs clean (results in $OUT)"
fi
# The one plain summary line (failed = FAILURE + WARNING checks that count).
echo "conformance: $total_passed passed, $total_bad failed"
[ "${#failed_runs[@]}" -eq 0 ]
