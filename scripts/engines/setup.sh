#!/usr/bin/env bash
# Installs and starts the container engines nexus uses (Incus and Docker) on a
# Debian 12 machine without systemd as PID 1. Idempotent: safe to re-run while
# both daemons are already up and initialised. Run as root.
set -euo pipefail

readonly BRIDGE=nexusbr0
readonly BRIDGE_ADDRESS=10.213.0.1/24
readonly POOL=nexus
readonly POOL_SIZE=20GiB
readonly INCUS_SOCKET=/var/lib/incus/unix.socket
readonly DOCKER_SOCKET=/var/run/docker.sock
readonly INCUSD_LOG=/var/log/nexus-incusd.log
readonly DOCKERD_LOG=/var/log/nexus-dockerd.log
readonly READY_MARKER=/tmp/nexus-engines-ready
readonly BACKPORTS_FILE=/etc/apt/sources.list.d/nexus-bookworm-backports.sources

say() { printf '[engines] %s\n' "$*"; }
fail() {
  printf '[engines] ERROR: %s\n' "$*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || fail "must run as root"
# shellcheck source=/dev/null
[ -r /etc/os-release ] && . /etc/os-release
[ "${VERSION_CODENAME:-}" = bookworm ] || fail "expected Debian 12 (bookworm), found '${PRETTY_NAME:-unknown}'"

export DEBIAN_FRONTEND=noninteractive

# Runs a command with its output hidden, printing the output only if it fails.
quietly() {
  local out status=0
  out=$("$@" 2>&1) || status=$?
  [ $status -eq 0 ] || printf '%s\n' "$out" | tail -n 30 >&2
  return $status
}

is_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

# The mirror the host already uses for bookworm, so backports come from the same
# (reachable) archive. deb822 first, then one-line sources.list.
host_mirror() {
  local uri=""
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '
      /^URIs:/ { uris = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") { print uris; exit } }
    ' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $0 ~ / bookworm / { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list)
  fi
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

ensure_backports() {
  if grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; then
    return 1
  fi
  local mirror
  mirror=$(host_mirror)
  cat >"$BACKPORTS_FILE" <<EOF
Types: deb
URIs: ${mirror}
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  say "added bookworm-backports from ${mirror} (${BACKPORTS_FILE})"
  return 0
}

install_packages() {
  local base=(docker.io btrfs-progs debootstrap openssh-client git curl iproute2 netcat-openbsd iptables)
  local missing=() pkg
  ensure_backports || true
  for pkg in "${base[@]}"; do is_installed "$pkg" || missing+=("$pkg"); done
  local need_incus=0
  is_installed incus || need_incus=1
  if [ ${#missing[@]} -eq 0 ] && [ $need_incus -eq 0 ]; then
    say "packages already installed"
    return
  fi
  # Package scripts must not try to start daemons through an init system that
  # isn't there; this script starts them itself below.
  local own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  # shellcheck disable=SC2064 # expand now: remove only the file we created
  trap "[ $own_policy -eq 1 ] && rm -f /usr/sbin/policy-rc.d" EXIT
  say "apt-get update"
  quietly apt-get update -qq || fail "apt-get update failed"
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    quietly apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
      fail "apt-get install ${missing[*]} failed"
  fi
  if [ $need_incus -eq 1 ]; then
    say "installing incus from bookworm-backports"
    quietly apt-get install -y -qq -t bookworm-backports incus ||
      fail "apt-get install -t bookworm-backports incus failed"
  fi
  [ $own_policy -eq 1 ] && rm -f /usr/sbin/policy-rc.d
  trap - EXIT
}

# Every container's systemd holds inotify instances, and unprivileged containers share one host
# uid: Linux's default of 128 instances per user stops the ~17th concurrent workspace from booting
# (its systemd dies; the create fails). Incus recommends these values for production hosts.
raise_inotify_limits() {
  local key wanted current
  for key in fs.inotify.max_user_instances fs.inotify.max_user_watches fs.inotify.max_queued_events; do
    wanted=1048576
    current=$(sysctl -n "$key")
    if [ "$current" -lt "$wanted" ]; then
      sysctl -q -w "$key=$wanted" || fail "could not raise $key (now $current)"
      say "raised $key from $current to $wanted"
    fi
  done
}

socket_answers() { # $1 socket, $2 path
  curl -fsS --max-time 3 --unix-socket "$1" "http://localhost$2" >/dev/null 2>&1
}

start_incusd() {
  if socket_answers "$INCUS_SOCKET" /1.0; then
    say "incusd already running"
  else
    say "starting incusd (log: ${INCUSD_LOG})"
    setsid nohup /usr/libexec/incus/incusd --group root >>"$INCUSD_LOG" 2>&1 </dev/null &
  fi
  quietly incus admin waitready --timeout=60 || fail "incusd did not become ready; see ${INCUSD_LOG}"
}

incus_has() { # $1 kind (network|storage), $2 name
  incus "$1" show "$2" >/dev/null 2>&1
}

init_incus() {
  local have_network=0 have_pool=0
  incus_has network "$BRIDGE" && have_network=1
  incus_has storage "$POOL" && have_pool=1
  if [ $have_network -eq 1 ] && [ $have_pool -eq 1 ]; then
    say "incus already initialised (network ${BRIDGE}, pool ${POOL})"
    return
  fi
  local preseed=""
  if [ $have_network -eq 0 ]; then
    preseed+="networks:
- name: ${BRIDGE}
  type: bridge
  config:
    ipv4.address: ${BRIDGE_ADDRESS}
    ipv4.nat: \"true\"
    ipv6.address: none
"
  fi
  if [ $have_pool -eq 0 ]; then
    preseed+="storage_pools:
- name: ${POOL}
  driver: btrfs
  config:
    size: ${POOL_SIZE}
"
  fi
  # The default profile only changes when it has no root disk/nic yet: an
  # existing profile may be in use by instances on another pool.
  local profile
  profile=$(incus profile show default)
  if ! grep -q '^  root:' <<<"$profile" && ! grep -q '^  eth0:' <<<"$profile"; then
    preseed+="profiles:
- name: default
  devices:
    root:
      type: disk
      path: /
      pool: ${POOL}
    eth0:
      type: nic
      name: eth0
      network: ${BRIDGE}
"
  else
    say "default profile already has devices; leaving it unchanged"
  fi
  say "initialising incus (network ${BRIDGE} ${BRIDGE_ADDRESS}, btrfs pool ${POOL} ${POOL_SIZE})"
  incus admin init --preseed <<<"$preseed" || fail "incus admin init --preseed failed"
}

start_dockerd() {
  if socket_answers "$DOCKER_SOCKET" /_ping; then
    say "dockerd already running"
    return
  fi
  say "starting dockerd (log: ${DOCKERD_LOG})"
  setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    socket_answers "$DOCKER_SOCKET" /_ping && return
    sleep 1
  done
  fail "dockerd did not answer /_ping within 60 s; see ${DOCKERD_LOG}"
}

# Docker sets the FORWARD policy to DROP, which would cut the Incus bridge's
# containers off from the outside (NAT goes through FORWARD). DOCKER-USER is
# Docker's documented place for such exceptions.
allow_incus_forwarding() {
  iptables -L DOCKER-USER -n >/dev/null 2>&1 || return 0
  local dir
  for dir in -i -o; do
    if ! iptables -C DOCKER-USER "$dir" "$BRIDGE" -j ACCEPT 2>/dev/null; then
      iptables -I DOCKER-USER "$dir" "$BRIDGE" -j ACCEPT
      say "allowed forwarding ${dir} ${BRIDGE} past Docker's FORWARD policy"
    fi
  done
}

install_packages
raise_inotify_limits
start_incusd
init_incus
start_dockerd
allow_incus_forwarding
touch "$READY_MARKER"
say "ready: incus ($(incus version 2>/dev/null | awk '/Server/ {print $3}')) on ${INCUS_SOCKET}, docker on ${DOCKER_SOCKET}"
