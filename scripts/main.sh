#!/usr/bin/env bash
# The main job on a fresh machine: the single-machine journey on the example project.
#   1. set up: Node 24 if needed, dependencies, build (scripts/bootstrap.sh)
#   2. as root, install and start the container engines when none answers (scripts/engines/setup.sh)
#   3. nexus up examples/hello --editor none: builds the base image if missing, starts a local
#      server with its agent, brings the workspace to `running` with its services healthy,
#      and prints how to connect. Running it again just connects.
# Everything comes from the npm registry and the Debian archive. Extra arguments go to `nexus up`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/bootstrap.sh
. "$ROOT/scripts/bootstrap.sh"
NEXUS=(node "$ROOT/packages/cli/dist/main.js")

# True when Incus, LXD or Docker answers on its unix socket.
engine_answers() {
  node -e '
    const { get } = require("node:http");
    const probe = (socketPath, path) => new Promise((done) => {
      const req = get({ socketPath, path, timeout: 3000 }, (res) => { res.resume(); done(res.statusCode === 200); });
      req.on("error", () => done(false));
      req.on("timeout", () => { req.destroy(); done(false); });
    });
    Promise.all([
      probe("/var/lib/incus/unix.socket", "/1.0"),
      probe("/var/lib/lxd/unix.socket", "/1.0"),
      probe("/var/snap/lxd/common/lxd/unix.socket", "/1.0"),
      probe("/var/run/docker.sock", "/_ping"),
    ]).then((answers) => process.exit(answers.some(Boolean) ? 0 : 1));
  '
}

if ! engine_answers; then
  if [ "$(id -u)" != 0 ]; then
    echo "main: no container engine (Incus or Docker) answers on this machine. Install and start them as root, then run this again:" >&2
    echo "  sudo bash $ROOT/scripts/engines/setup.sh" >&2
    echo "  bash $ROOT/scripts/main.sh" >&2
    exit 1
  fi
  echo "main: no container engine answers: installing and starting Incus and Docker" >&2
  bash "$ROOT/scripts/engines/setup.sh"
fi

cd "$ROOT"
status=0
"${NEXUS[@]}" up examples/hello --editor none "$@" || status=$?
# provision_failed before anything ran: the base image is missing and only root can build it.
if [ "$status" = 10 ] && [ "$(id -u)" != 0 ]; then
  echo "main: from this checkout, that command is:" >&2
  echo "  sudo $(command -v node) $ROOT/packages/cli/dist/main.js node image build" >&2
fi
exit "$status"
