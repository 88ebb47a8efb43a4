// Host keys are made on the node and written into the container before it first
// boots. The base image would otherwise run `ssh-keygen -A` at boot, and its RSA key
// alone takes about a second on a small node: that second sits between "container
// started" and "sshd listening". Each container still gets its own fresh key.
import { isValidSshPublicKey } from "@nexus/core";
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
/**
 * systemd starts ssh.service only after sysinit.target and basic.target (udev coldplug,
 * modprobe, tmpfiles…): about a second of boot that sshd does not need. Without the default
 * dependencies it starts once the journal socket and the network are up; shutdown ordering is
 * kept. Measured on a 2-core node: container start → sshd listening 1.1–2.0 s → 0.6–1.1 s.
 */
export const SSH_UNIT_DROPIN_DIR = "/etc/systemd/system/ssh.service.d";
const SSH_UNIT_DROPIN = `${SSH_UNIT_DROPIN_DIR}/nexus-early.conf`;
const EARLY_UNIT = "[Unit]\nDefaultDependencies=no\nAfter=systemd-journald.socket\nConflicts=shutdown.target\nBefore=shutdown.target\n";
/**
 * systemd-tmpfiles creates /run/nologin at boot and systemd-user-sessions removes it at the end
 * of boot; with sshd up earlier, dev's first login could meet it. An empty file of the same name
 * in /etc/tmpfiles.d overrides the vendor entry. (An image without systemd has nothing to override.)
 */
export const TMPFILES_DIR = "/etc/tmpfiles.d";
const NOLOGIN_TMPFILES_OVERRIDE = `${TMPFILES_DIR}/systemd-nologin.conf`;

export interface HostKeyPair {
  /** OpenSSH private key (openssh-key-v1 PEM). */
  privateKey: string;
  /** `ssh-ed25519 AAAA…` without a comment. */
  publicKey: string;
}

export function generateHostKey(): HostKeyPair {
  // ssh2 drops a leading zero byte of the public key (mscdex/ssh2#1513): about one pair in 256
  // would be a host key sshd refuses to load. Draw again until it parses as a 32-byte key.
  let pair;
  do pair = ssh2.utils.generateKeyPairSync("ed25519");
  while (!wellFormed(pair));
  return { privateKey: pair.private, publicKey: pair.public.trim().split(/\s+/).slice(0, 2).join(" ") };
}

function wellFormed(pair: { private: string; public: string }): boolean {
  return isValidSshPublicKey(pair.public.trim()) && !(ssh2.utils.parseKey(pair.private) instanceof Error);
}

/** Writes the key, the sshd setting and the unit drop-ins into a (stopped) container, in parallel. */
export async function seedHostKey(client: IncusClient, instance: string, key: HostKeyPair, signal: AbortSignal): Promise<void> {
  const root = { uid: 0, gid: 0 };
  const inDirectory = async (dir: string, file: string, content: string) => {
    await pushFile(client, instance, dir, "", signal, { ...root, mode: 0o755, type: "directory" });
    await pushFile(client, instance, file, content, signal, { ...root, mode: 0o644 });
  };
  await Promise.all([
    pushFile(client, instance, HOST_KEY_PATH, key.privateKey, signal, { ...root, mode: 0o600 }),
    pushFile(client, instance, `${HOST_KEY_PATH}.pub`, `${key.publicKey}\n`, signal, { ...root, mode: 0o644 }),
    pushFile(client, instance, SSHD_HOST_KEY_CONFIG, `HostKey ${HOST_KEY_PATH}\n`, signal, { ...root, mode: 0o644 }),
    // ssh.service requires this unit and starts after it: it must not wait for basic.target either.
    inDirectory(HOSTKEY_UNIT_DROPIN_DIR, HOSTKEY_UNIT_DROPIN, `${EARLY_UNIT}\n[Service]\nExecStart=\nExecStart=/bin/true\n`),
    inDirectory(SSH_UNIT_DROPIN_DIR, SSH_UNIT_DROPIN, EARLY_UNIT),
    inDirectory(TMPFILES_DIR, NOLOGIN_TMPFILES_OVERRIDE, ""),
  ]);
}
