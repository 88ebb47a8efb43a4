#!/usr/bin/env bash
# Removes resources that tests created: Incus instances and profiles carrying
# `user.nexus.test-run`, Docker containers, networks and volumes labelled
# `nexus.test-run`. Leaves the daemons, images, pools and everything else alone.
#   teardown.sh              every test run's resources (end of CI)
#   teardown.sh --run ID     only the resources of test run ID
set -euo pipefail

run_id=""
if [ "${1:-}" = "--run" ]; then
  run_id="${2:?--run needs a test-run id}"
elif [ $# -gt 0 ]; then
  printf 'usage: %s [--run ID]\n' "$0" >&2
  exit 2
fi

# True when a label value belongs to the run being torn down.
selected() { [ -n "$1" ] && { [ -z "$run_id" ] || [ "$1" = "$run_id" ]; }; }
docker_filter="label=nexus.test-run${run_id:+=$run_id}"

say() { printf '[teardown] %s\n' "$*"; }

removed=0

if command -v incus >/dev/null 2>&1 && incus info >/dev/null 2>&1; then
  while IFS= read -r name; do
    [ -n "$name" ] || continue
    # The lxc conformance decoy has no user.nexus.* key on purpose (list() must not see it);
    # it carries user.decoy-run instead.
    if selected "$(incus config get "$name" user.nexus.test-run 2>/dev/null)" \
      || selected "$(incus config get "$name" user.decoy-run 2>/dev/null)"; then
      incus delete --force "$name" && say "deleted incus instance ${name}" && removed=$((removed + 1))
    fi
  done < <(incus list --format csv --columns n)
  while IFS= read -r name; do
    [ -n "$name" ] || continue
    if selected "$(incus profile get "$name" user.nexus.test-run 2>/dev/null)"; then
      incus profile delete "$name" && say "deleted incus profile ${name}" && removed=$((removed + 1))
    fi
  done < <(incus profile list --format csv | cut -d, -f1)
else
  say "incus not reachable; skipped"
fi

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  while IFS= read -r id; do
    [ -n "$id" ] || continue
    docker rm --force --volumes "$id" >/dev/null && say "removed docker container ${id}" && removed=$((removed + 1))
  done < <(docker ps --all --quiet --filter "$docker_filter")
  while IFS= read -r id; do
    [ -n "$id" ] || continue
    docker network rm "$id" >/dev/null && say "removed docker network ${id}" && removed=$((removed + 1))
  done < <(docker network ls --quiet --filter "$docker_filter")
  while IFS= read -r name; do
    [ -n "$name" ] || continue
    docker volume rm "$name" >/dev/null && say "removed docker volume ${name}" && removed=$((removed + 1))
  done < <(docker volume ls --quiet --filter "$docker_filter")
else
  say "docker not reachable; skipped"
fi

say "removed ${removed} test resource(s)"
