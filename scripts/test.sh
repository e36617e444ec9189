#!/usr/bin/env bash
# Runs every test of mcp-tower, setting up what they need from the package registries:
#   1. formatting and lints (cargo fmt --check, clippy -D warnings, rustdoc)
#   2. unit, integration, end-to-end (real sockets) and doc tests of every crate
#   3. the load-test kit builds (so it never rots; criterion benches are type-checked by
#      clippy --all-targets)
#   4. the official MCP conformance suites (Node >= 22 from npm) against the
#      conformance-server example: 0.1.16 --suite all, and 0.2.x --requirements
#      2025-11-25 and 2026-07-28.
#   5. the official MCP Python SDK's client (pinned, from PyPI) against the same server,
#      at every protocol version (.ci/interop.sh).
# Usage: scripts/test.sh [--no-conformance]   (skips 4 and 5)
set -euo pipefail
cd "$(dirname "$0")/.."

conformance=1
for arg in "$@"; do
  case "$arg" in
    --no-conformance) conformance=0 ;;
    *) echo "usage: scripts/test.sh [--no-conformance]" >&2; exit 2 ;;
  esac
done

step() { printf '\n=== %s ===\n' "$*"; }

# A clean build of every test, example and the load kit with full debug info and incremental
# caches filled a CI machine's disk (the linker died with SIGBUS, then "No space left on
# device"): 7 GB before the docs. Without debug info (panic messages still give file:line;
# only backtraces lose lines) and without incremental caches (useless in a one-off build),
# the whole run peaks at ~1.9 GB. A caller's own settings win.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-0}"
export CARGO_PROFILE_DEV_STRIP="${CARGO_PROFILE_DEV_STRIP:-debuginfo}"
step "disk"
# The disk of a CI machine is shared and its free space swings: one run died with "No space
# left on device" while compiling, at ~1 GB into the build. When the target directory's disk
# has less room than the whole run needs (plus a margin) and RAM-backed /dev/shm has it, the
# build goes there instead. An explicit CARGO_TARGET_DIR is always respected.
need_kib=$((4 * 1024 * 1024))
free_kib() { df -Pk "$1" 2>/dev/null | awk 'NR==2 { print $4 }'; }
if [ -z "${CARGO_TARGET_DIR:-}" ]; then
  disk_free=$(free_kib . || true)
  shm_free=$(free_kib /dev/shm || true)
  if [ "${disk_free:-0}" -lt "$need_kib" ] && [ "${shm_free:-0}" -ge "$need_kib" ]; then
    export CARGO_TARGET_DIR="/dev/shm/mcp-tower-target-$(id -u)"
    echo "only $((disk_free / 1024)) MiB free on disk: building in $CARGO_TARGET_DIR"
  fi
fi
df -h "${CARGO_TARGET_DIR:-target}" 2>/dev/null || df -h .

step "format"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests"
cargo test --workspace --locked

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

step "load kit build"
cargo build --locked --quiet -p load

if [ "$conformance" = 1 ]; then
  step "conformance"
  # The debug build reuses what the tests compiled; speed does not matter here.
  cargo build --locked -p conformance-server
  log=$(mktemp)
  "${CARGO_TARGET_DIR:-target}/debug/conformance-server" --addr 127.0.0.1:0 >"$log" 2>&1 &
  server=$!
  trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT
  url=""
  for _ in $(seq 1 100); do
    url=$(sed -n 's/^listening on \(http[^ ]*\).*/\1/p' "$log" | head -n1)
    [ -n "$url" ] && break
    sleep 0.1
  done
  if [ -z "$url" ]; then
    echo "conformance-server did not start:" >&2
    cat "$log" >&2
    exit 1
  fi
  .ci/conformance.sh "$url"
  step "python sdk interop"
  .ci/interop.sh "$url"
fi
echo
echo "all tests passed"
