#!/usr/bin/env bash
# The main job on a fresh machine: set up (Node, dependencies, build), then run nexus on
# the example project shipped in examples/hello.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/bootstrap.sh
. "$ROOT/scripts/bootstrap.sh"
node "$ROOT/packages/cli/dist/main.js" config validate "$ROOT/examples/hello" "$@"
