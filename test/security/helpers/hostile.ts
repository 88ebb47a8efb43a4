// Inputs an attacker would send to make nexus run a command, and the canary file a
// successful injection would create. Shared by the fast and the real injection tests.

/** A canary path that a successful injection would create. */
export const CANARY_PREFIX = "/tmp/nexus-canary-";

/** Clone URLs an attacker would send; every one must be refused before git runs. */
export function hostileCloneUrls(canary: string): string[] {
  return [
    `ext::sh -c touch% ${canary}`,
    `ext::sh -c "touch ${canary}"`,
    "fd::17",
    `--upload-pack=touch ${canary}`,
    `-u touch ${canary}`,
    `--config=core.sshCommand=touch ${canary}`,
    `ssh://-oProxyCommand=touch%20${canary}/octo/shop.git`,
    `ssh://-oProxyCommand=touch ${canary}/octo/shop.git`,
    `ssh://git@-oProxyCommand=touch${canary}/octo/shop.git`,
    `-oProxyCommand=touch${canary}:octo/shop.git`,
    `git@github.com:-oProxyCommand=touch/shop.git`,
    `git@github.com:octo/--upload-pack=touch.git`,
    `https://github.com/octo/shop.git --upload-pack=touch ${canary}`,
    `https://github.com/octo/shop.git;touch ${canary}`,
    `https://github.com/octo/$(touch ${canary}).git`,
    "https://github.com/octo/%2e%2e/%2e%2e/etc.git",
    "https://github.com/octo/../../etc",
    "https://user:password@github.com/octo/shop.git",
    "https://169.254.169.254/latest/meta-data",
    "https://127.0.0.1:2375/octo/shop.git",
    "https://[::1]/octo/shop.git",
    "http://github.com/octo/shop.git",
    "git://github.com/octo/shop.git",
    "file:///etc",
    "file:///etc/passwd",
    "file://localhost/root/.ssh",
    "/etc",
    "/var/lib/nexus/../../../etc",
    "./relative",
    "../../etc",
    "transport::https://github.com/octo/shop.git",
    `https://github.com/octo/shop.git\ntouch ${canary}`,
    "https://github.com/octo/shop.git\u0000",
  ];
}

/** Branch names git accepts (`git check-ref-format --branch`) that a shell would execute. */
export function hostileBranches(canary: string): string[] {
  return [`x$(touch\${IFS}${canary})`, `y\`touch\${IFS}${canary}\``, `z;touch\${IFS}${canary};`, `w|touch\${IFS}${canary}`, "q'\"&&x"];
}
