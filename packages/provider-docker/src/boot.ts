// What runs as the container's main process. The script is a constant: nothing from
// a workspace spec is interpolated into it. Per-workspace inputs (authorized keys, the
// CA bundle) are files written through the archive API before the first start.
import type { TarEntry } from "./tar.js";

export const DEV_USER = "dev";
export const DEV_UID = 1000;
export const DEV_GID = 1000;
export const HOST_KEY_PATH = "/etc/ssh/ssh_host_ed25519_key";
/** Extra CA certificates land here; the boot script appends them to the system bundle once. */
export const CA_BUNDLE_PATH = "/etc/nexus/ca-bundle.pem";

/**
 * Runs on every start (first boot and restarts), so each step is idempotent:
 * - a fresh ed25519 host key per container, made on first boot (the image ships none);
 * - user dev (uid 1000, passwordless sudo) unless the image has it;
 * - the CA bundle appended once, and NODE_EXTRA_CA_CERTS for SSH sessions (Node ignores the system bundle);
 * - sshd in the foreground, logging to stderr (container logs). Only the ed25519
 *   key is loaded, so no time goes into RSA key generation.
 */
export const BOOT_SCRIPT = `set -eu
if [ ! -s ${HOST_KEY_PATH} ]; then
  rm -f ${HOST_KEY_PATH} ${HOST_KEY_PATH}.pub
  ssh-keygen -q -t ed25519 -N '' -f ${HOST_KEY_PATH}
fi
if ! id -u ${DEV_USER} >/dev/null 2>&1; then
  useradd --create-home --uid ${DEV_UID} --user-group --shell /bin/bash ${DEV_USER}
fi
chown ${DEV_USER}:${DEV_USER} /home/${DEV_USER}
if [ -s ${CA_BUNDLE_PATH} ] && [ ! -e ${CA_BUNDLE_PATH}.applied ]; then
  mkdir -p /etc/ssl/certs
  cat ${CA_BUNDLE_PATH} >> /etc/ssl/certs/ca-certificates.crt
  echo 'NODE_EXTRA_CA_CERTS=${CA_BUNDLE_PATH}' >> /etc/environment
  : > ${CA_BUNDLE_PATH}.applied
fi
mkdir -p /run/sshd
chmod 0755 /run/sshd
exec /usr/sbin/sshd -D -e -o HostKey=${HOST_KEY_PATH}
`;

export const BOOT_COMMAND = ["/bin/sh", "-c", BOOT_SCRIPT, "nexus-boot"];

export interface WorkspaceFiles {
  authorizedKeys: readonly string[];
  /** PEM text to append to the container's CA bundle; empty = none. */
  caBundle: string;
}

/** The files a new container gets before its first start, as one archive extracted at `/`. */
export function workspaceFileEntries(files: WorkspaceFiles): TarEntry[] {
  const home = `home/${DEV_USER}`;
  const entries: TarEntry[] = [
    { path: `${home}/.ssh`, type: "directory", mode: 0o700, uid: DEV_UID, gid: DEV_GID },
    {
      path: `${home}/.ssh/authorized_keys`,
      type: "file",
      data: files.authorizedKeys.map((key) => `${key}\n`).join(""),
      mode: 0o600,
      uid: DEV_UID,
      gid: DEV_GID,
    },
    { path: "etc/sudoers.d/nexus-dev", type: "file", data: `${DEV_USER} ALL=(ALL) NOPASSWD:ALL\n`, mode: 0o440, uid: 0, gid: 0 },
  ];
  if (files.caBundle.trim()) {
    entries.push({ path: CA_BUNDLE_PATH.slice(1), type: "file", data: files.caBundle.endsWith("\n") ? files.caBundle : `${files.caBundle}\n`, mode: 0o644, uid: 0, gid: 0 });
  }
  return entries;
}
