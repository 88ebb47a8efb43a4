#!/usr/bin/env bash
# Sets up everything and runs every test suite: typecheck, the fast suite, then the
# integration suites (OpenSSH, git, tmux, child processes), then the real-engine suites
# (Incus, Docker). Ends with "N passed, N failed".
# Real-engine suites need root (they install and start the engines); as another user
# they are reported as skipped. NEXUS_SKIP_REAL=1 skips them on purpose.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
LOGDIR="${NEXUS_TEST_LOGS:-$ROOT/.tap/logs}"
mkdir -p "$LOGDIR"

passed=0 failed=0 skipped=0
step() { printf '\n==> %s\n' "$*"; }

# tap prints "# { total: N, pass: N, fail: N, skip: N, todo: N }" last.
count_tap() {
  local log="$1" line
  line="$(grep -E '^# \{ total:' "$log" | tail -1)"
  if [ -z "$line" ]; then failed=$((failed + 1)); echo "no tap summary in $log" >&2; return; fi
  local p f s
  p="$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$line")"
  f="$(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$line")"
  s="$(sed -nE 's/.*skip: ([0-9]+).*/\1/p' <<<"$line")"
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
}

step "bootstrap (Node, dependencies, build)"
# shellcheck source=scripts/bootstrap.sh
if ! . "$ROOT/scripts/bootstrap.sh"; then
  echo "bootstrap failed"; echo "0 passed, 1 failed"; exit 1
fi
# bootstrap.sh runs with `set -e`; here a failing step is counted, never the end of the run
# (the summary line must always be printed).
set +e

# Tools the suites drive for real: shellcheck (install.sh), tmux (TTY tests), zsh and fish
# (completion scripts), OpenSSH and git. Installed when missing and we may (root + apt).
need=()
for tool in shellcheck:shellcheck tmux:tmux zsh:zsh fish:fish ssh:openssh-client git:git; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool#*:}")
done
if [ "${#need[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  step "installing test tools: ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null 2>&1; } \
    || echo "could not install ${need[*]}; the tests that need them are skipped"
fi

step "typecheck"
if npx tsc -p tsconfig.json --noEmit; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

step "fast suite"
npm test --silent 2>&1 | tee "$LOGDIR/fast.log" | grep -E '^(not ok|ok|# )' || true
count_tap "$LOGDIR/fast.log"

step "integration suites (OpenSSH, git, tmux, child processes)"
npm run test:int --silent 2>&1 | tee "$LOGDIR/int.log" | grep -E '^(not ok|ok|# )' || true
count_tap "$LOGDIR/int.log"

real_ok=1
if [ "${NEXUS_SKIP_REAL:-0}" = 1 ]; then
  echo "real-engine suites skipped (NEXUS_SKIP_REAL=1)"; real_ok=0
elif [ "$(id -u)" != 0 ]; then
  echo "real-engine suites skipped: they install and start Incus and Docker, which needs root (run as root or in CI)"; real_ok=0
fi

if [ "$real_ok" = 1 ]; then
  step "engines (Incus, Docker) and the base image"
  if bash "$ROOT/scripts/engines/setup.sh" && node "$ROOT/packages/cli/dist/main.js" node image build --provider all; then
    step "real-engine suites"
    TAP_RCFILE=.taprc.real.yaml npx tap 2>&1 | tee "$LOGDIR/real.log" | grep -E '^(not ok|ok|# )' || true
    count_tap "$LOGDIR/real.log"
  else
    echo "engine setup failed: real-engine suites not run"; failed=$((failed + 1))
  fi
  bash "$ROOT/scripts/engines/teardown.sh" || true
fi

[ "$real_ok" = 1 ] || skipped=$((skipped + 1))
echo
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
