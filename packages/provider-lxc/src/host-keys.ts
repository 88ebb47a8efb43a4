// Host keys are made on the node and written into the container before it first
// boots. The base image would otherwise run `ssh-keygen -A` at boot, and its RSA key
// alone takes about a second on a small node: that second sits between "container
// started" and "sshd listening". Each container still gets its own fresh key.
import ssh2 from "ssh2";
import type { IncusClient } from "./incus/client.js";
import { pushFile } from "./incus/files.js";

export const HOST_KEY_PATH = "/etc/ssh/ssh_host_ed25519_key";
/** Restricts sshd to the key we made (it would otherwise look for RSA and ECDSA keys too). */
export const SSHD_HOST_KEY_CONFIG = "/etc/ssh/sshd_config.d/nexus-hostkey.conf";
/**
 * The base image's unit that runs `ssh-keygen -A` before ssh.service. A drop-in turns
 * it into a no-op; on images without that unit the drop-in is inert.
 */
export const HOSTKEY_UNIT_DROPIN_DIR = "/etc/systemd/system/nexus-ssh-hostkeys.service.d";
const HOSTKEY_UNIT_DROPIN = `${HOSTKEY_UNIT_DROPIN_DIR}/nexus-provider.conf`;

export interface HostKeyPair {
  /** OpenSSH private key (openssh-key-v1 PEM). */
  privateKey: string;
  /** `ssh-ed25519 AAAA…` without a comment. */
  publicKey: string;
}

export function generateHostKey(): HostKeyPair {
  const pair = ssh2.utils.generateKeyPairSync("ed25519");
  return { privateKey: pair.private, publicKey: pair.public.trim().split(/\s+/).slice(0, 2).join(" ") };
}

/** Writes the key, the sshd setting and the unit drop-in into a (stopped) container, in parallel. */
export async function seedHostKey(client: IncusClient, instance: string, key: HostKeyPair, signal: AbortSignal): Promise<void> {
  const root = { uid: 0, gid: 0 };
  await Promise.all([
    pushFile(client, instance, HOST_KEY_PATH, key.privateKey, signal, { ...root, mode: 0o600 }),
    pushFile(client, instance, `${HOST_KEY_PATH}.pub`, `${key.publicKey}\n`, signal, { ...root, mode: 0o644 }),
    pushFile(client, instance, SSHD_HOST_KEY_CONFIG, `HostKey ${HOST_KEY_PATH}\n`, signal, { ...root, mode: 0o644 }),
    (async () => {
      await pushFile(client, instance, HOSTKEY_UNIT_DROPIN_DIR, "", signal, { ...root, mode: 0o755, type: "directory" });
      await pushFile(client, instance, HOSTKEY_UNIT_DROPIN, "[Service]\nExecStart=\nExecStart=/bin/true\n", signal, { ...root, mode: 0o644 });
    })(),
  ]);
}
