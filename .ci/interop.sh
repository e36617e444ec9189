#!/usr/bin/env bash
# Drive a running conformance-server with the official MCP Python SDK's client
# (.ci/interop/python_sdk.py): every protocol version, every feature the fixture serves.
# A second, independent client next to the conformance suites, which drive the TypeScript
# SDK.
#
# Usage: .ci/interop.sh <server-url>
#
# Needs python3 >= 3.10 with the venv module. The SDK and its dependencies, pinned in
# .ci/interop/requirements.txt, are installed from PyPI into .ci/cache/python-sdk once
# (again when the pins change). Exit status: 0 when every check passed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/cache/python-sdk"
REQUIREMENTS="$HERE/interop/requirements.txt"

[ $# -eq 1 ] || { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
url=$1

python=$(command -v python3 || true)
if [ -z "$python" ] || ! "$python" -c 'import sys, venv; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "interop.sh: python3 >= 3.10 with the venv module is needed" >&2
  exit 1
fi

# The stamp holds the pins the venv was made from: changed pins make a new venv.
want=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ "$(cat "$VENV/.stamp" 2>/dev/null)" != "$want" ]; then
  echo "interop.sh: installing the MCP Python SDK into $VENV" >&2
  rm -rf "$VENV"
  "$python" -m venv "$VENV"
  # Wheels only: nothing is compiled, and an sdist cannot run code at install time.
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input \
    --only-binary=:all: --requirement "$REQUIREMENTS"
  echo "$want" >"$VENV/.stamp"
fi

timeout 300 "$VENV/bin/python" "$HERE/interop/python_sdk.py" "$url"
