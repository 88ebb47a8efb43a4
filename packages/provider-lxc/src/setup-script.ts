// Everything provisioning does inside the container, in ONE exec: each exec costs a
// round trip and a process spawn in the daemon, and provision → SSH must stay fast.
// The script is a constant; inputs arrive as positional arguments, never spliced in.
import { NexusError } from "@nexus/core";

/** Where injected CA certificates live in the container (read by update-ca-certificates). */
export const CONTAINER_CA_FILE = "/usr/local/share/ca-certificates/nexus-node.crt";
export const DEV_UID = 1000;

/**
 * `sh -c SCRIPT nexus-setup <action> <ca-file or ""> <authorized key>...`
 * action `provision`: user dev, authorized_keys, CA, sshd; prints the host key once sshd listens.
 * action `sshd`: makes sure sshd listens again (after a restart of a container without an init system).
 */
export const SETUP_SCRIPT = String.raw`set -eu
action=$1 ca_file=$2
shift 2
hostkey=/etc/ssh/ssh_host_ed25519_key

# With systemd as PID 1 the image's own units make host keys and start sshd at boot;
# doing it here too would race them. Without an init system, this script does both.
case "$(readlink /proc/1/exe 2>/dev/null || true)" in
  */systemd) own_sshd=no ;;
  *) own_sshd=yes ;;
esac

start_sshd() {
  if [ ! -s "$hostkey" ]; then
    rm -f "$hostkey" "$hostkey.pub"
    ssh-keygen -q -t ed25519 -N '' -C '' -f "$hostkey"
  fi
  mkdir -p /etc/ssh/sshd_config.d /run/sshd
  chmod 0755 /run/sshd
  printf '%s
' "HostKey $hostkey" >/etc/ssh/sshd_config.d/nexus-hostkey.conf
  if [ -s /run/sshd.pid ] && kill -0 "$(cat /run/sshd.pid)" 2>/dev/null; then
    kill -HUP "$(cat /run/sshd.pid)"
  else
    /usr/sbin/sshd
  fi
}

# Returns once sshd listens on port 22 (0016 in /proc/net/tcp*), so callers can connect at once.
wait_for_sshd() {
  i=0
  until grep -Eqs ':0016 [0-9A-F]+:0000 0A ' /proc/net/tcp /proc/net/tcp6; do
    i=$((i + 1))
    [ "$i" -lt 3000 ] || { echo "sshd is not listening on port 22 after 30 s" >&2; exit 4; }
    sleep 0.01
  done
}

if [ "$action" = sshd ]; then
  [ "$own_sshd" = no ] || start_sshd
  wait_for_sshd
  exit 0
fi

if ! getent passwd dev >/dev/null; then
  useradd --create-home --uid 1000 --user-group --shell /bin/bash dev
fi
[ "$(id -u dev)" = 1000 ] || { echo "user dev exists with uid $(id -u dev), expected 1000" >&2; exit 3; }
# '*' (no password) rather than '!' (locked): sshd refuses public keys for locked accounts without PAM.
usermod -p '*' dev
printf '%s
' 'dev ALL=(ALL:ALL) NOPASSWD:ALL' >/etc/sudoers.d/nexus-dev
chmod 0440 /etc/sudoers.d/nexus-dev
install -d -m 0755 -o 1000 -g 1000 /home/dev
install -d -m 0700 -o 1000 -g 1000 /home/dev/.ssh
keys=/home/dev/.ssh/authorized_keys
: >"$keys.tmp"
for key in "$@"; do printf '%s
' "$key" >>"$keys.tmp"; done
chown 1000:1000 "$keys.tmp"
chmod 0600 "$keys.tmp"
mv -f "$keys.tmp" "$keys"

if [ -n "$ca_file" ] && [ -s "$ca_file" ]; then
  # Early in boot systemd mounts or cleans /tmp under our feet: keep temporary files elsewhere.
  TMPDIR=$(mktemp -d /var/tmp/nexus-setup.XXXXXX)
  export TMPDIR
  ca_log=$(update-ca-certificates 2>&1) || { printf 'update-ca-certificates failed: %s\n' "$ca_log" >&2; rm -rf "$TMPDIR"; exit 5; }
  rm -rf "$TMPDIR"
  grep -qs '^NODE_EXTRA_CA_CERTS=' /etc/environment || printf 'NODE_EXTRA_CA_CERTS=%s
' "$ca_file" >>/etc/environment
fi

[ "$own_sshd" = no ] || start_sshd
wait_for_sshd
[ -s "$hostkey.pub" ] || { echo "sshd runs without an ed25519 host key" >&2; exit 6; }
cat "$hostkey.pub"
`;

const KEY_LINE = /^(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp(?:256|384|521)|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)[ \t]+[A-Za-z0-9+/=]+(?:[ \t]+[^\r\n\0]*)?$/;

/** authorized_keys lines must be single public keys: a newline would smuggle in a second entry (with options). */
export function checkAuthorizedKeys(keys: readonly string[]): string[] {
  return keys.map((key) => {
    const line = typeof key === "string" ? key.trim() : "";
    if (!KEY_LINE.test(line)) {
      throw new NexusError("invalid_request", "lxc: authorized key is not a single OpenSSH public key line", {
        details: { plugin: "lxc", key: line.slice(0, 40) },
      });
    }
    return line;
  });
}

export function setupCommand(action: "provision" | "sshd", caFile: string | undefined, keys: readonly string[]): string[] {
  return ["/bin/sh", "-c", SETUP_SCRIPT, "nexus-setup", action, caFile ?? "", ...keys];
}

/** `ssh-ed25519 AAAA…` from the script's output (type and key, without a comment). */
export function parseHostKey(stdout: string): string | undefined {
  const line = stdout.split("\n").reverse().find((l) => l.startsWith("ssh-ed25519 "));
  return line?.split(/\s+/).slice(0, 2).join(" ");
}
