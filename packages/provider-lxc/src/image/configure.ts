// Turns a fresh debootstrap rootfs into the workspace base image: user dev,
// sshd without host keys, systemd units, apt sources, and no per-machine state.

import { join } from "node:path";
import { chmod, chown, mkdir, readdir, rm, symlink, writeFile } from "node:fs/promises";
import {
  APT_UPDATE,
  aptInstallArgv,
  chrootArgv,
  createUserArgv,
  disablePasswordArgv,
  systemctlArgv,
  type Argv,
} from "./commands.js";
import { imageAptSources } from "./mirror.js";
import type { BaseImageRecipe } from "./recipe.js";

/** Maps an absolute in-image path into the rootfs on the host. */
function inRootfs(rootfs: string, path: string): string {
  if (!path.startsWith("/") || path.split("/").includes("..")) throw new Error(`bad image path: ${path}`);
  return join(rootfs, path);
}

async function writeImageFile(rootfs: string, path: string, content: string, mode: number): Promise<void> {
  const target = inRootfs(rootfs, path);
  await mkdir(join(target, ".."), { recursive: true });
  // A symlink here (e.g. a package's /etc/resolv.conf link) would be followed by writeFile.
  await rm(target, { force: true });
  await writeFile(target, content, { mode });
  await chmod(target, mode);
}

/** Removes a directory's entries but keeps the directory itself. */
async function emptyDirectory(path: string, keep: readonly string[] = []): Promise<void> {
  const entries = await readdir(path).catch(() => [] as string[]);
  for (const entry of entries) {
    if (!keep.includes(entry)) await rm(join(path, entry), { recursive: true, force: true });
  }
}

/** Runs a process, optionally inside the rootfs, and fails on a non-zero exit. */
export type StepRunner = (argv: Argv, options?: { onLine?: (line: string) => void; env?: NodeJS.ProcessEnv }) => Promise<void>;

/**
 * apt-get install of the recipe's packages inside the rootfs, with /proc and
 * /dev/pts mounted (maintainer scripts and apt's log use them), the host-side
 * package cache bind-mounted as apt's archive (rebuilds download nothing new),
 * and services kept from starting.
 */
export async function installPackages(
  rootfs: string,
  recipe: BaseImageRecipe,
  packageCache: string,
  run: StepRunner,
  onLine: (line: string) => void,
): Promise<void> {
  await rm(inRootfs(rootfs, "/etc/apt/sources.list"), { force: true });
  await writeImageFile(rootfs, "/etc/apt/sources.list.d/debian.sources", imageAptSources(recipe.mirror, recipe.suite), 0o644);
  // Debian's way to tell maintainer scripts not to start daemons (101 = forbidden).
  const policy = "/usr/sbin/policy-rc.d";
  await writeImageFile(rootfs, policy, "#!/bin/sh\nexit 101\n", 0o755);
  const mounts: [source: string, target: string, args: string[]][] = [
    ["proc", "/proc", ["-t", "proc"]],
    ["devpts", "/dev/pts", ["-t", "devpts"]],
    [packageCache, "/var/cache/apt/archives", ["--bind"]],
  ];
  const mounted: string[] = [];
  try {
    for (const [source, target, args] of mounts) {
      const path = inRootfs(rootfs, target);
      await mkdir(path, { recursive: true });
      await run(["mount", ...args, source, path]);
      mounted.unshift(path);
    }
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C.UTF-8", LANG: "C.UTF-8" };
    await run(chrootArgv(rootfs, [...APT_UPDATE]), { onLine, env });
    await run(chrootArgv(rootfs, aptInstallArgv(recipe.packages)), { onLine, env });
  } finally {
    for (const path of mounted) await run(["umount", path]);
    await rm(inRootfs(rootfs, policy), { force: true });
  }
}

export async function configureRootfs(
  rootfs: string,
  recipe: BaseImageRecipe,
  hash: string,
  run: StepRunner,
): Promise<void> {
  const inChroot = (command: string[]) => run(chrootArgv(rootfs, command));

  for (const file of recipe.files) await writeImageFile(rootfs, file.path, file.content, file.mode);

  const { user } = recipe;
  await inChroot(createUserArgv(user));
  await inChroot(disablePasswordArgv(user));
  const sshDir = inRootfs(rootfs, `${user.home}/.ssh`);
  await mkdir(sshDir, { recursive: true, mode: 0o700 });
  await chmod(sshDir, 0o700);
  await chown(sshDir, user.uid, user.uid);

  await inChroot(systemctlArgv("enable", recipe.enabledUnits));
  await inChroot(systemctlArgv("mask", recipe.maskedUnits));
  await inChroot(["apt-get", "clean"]);

  // Per-machine state must not be shared by every container made from the image.
  for (const name of await readdir(inRootfs(rootfs, "/etc/ssh"))) {
    if (name.startsWith("ssh_host_")) await rm(join(inRootfs(rootfs, "/etc/ssh"), name), { force: true });
  }
  await writeImageFile(rootfs, "/etc/machine-id", "", 0o444);
  await rm(inRootfs(rootfs, "/var/lib/dbus/machine-id"), { force: true });
  await rm(inRootfs(rootfs, "/etc/hostname"), { force: true });
  // systemd-resolved's stub (Incus boots systemd); Docker mounts its own file at the link's target.
  await rm(inRootfs(rootfs, "/etc/resolv.conf"), { force: true });
  await symlink("../run/systemd/resolve/stub-resolv.conf", inRootfs(rootfs, "/etc/resolv.conf"));

  // Build leftovers: package lists (apt-get update refreshes them) and logs.
  await emptyDirectory(inRootfs(rootfs, "/var/lib/apt/lists"), ["partial", "lock"]);
  await emptyDirectory(inRootfs(rootfs, "/var/cache/apt"), ["archives"]);
  await emptyDirectory(inRootfs(rootfs, "/var/log"));

  await writeImageFile(
    rootfs,
    "/etc/nexus-image",
    [`recipe=${hash}`, `builder=${recipe.builderVersion}`, `suite=${recipe.suite}`, `built=${new Date().toISOString()}`, ""].join("\n"),
    0o644,
  );
}

/** The metadata half of the Incus split image: metadata.yaml and hostname templates. */
export async function writeIncusMetadata(
  directory: string,
  recipe: BaseImageRecipe,
  hash: string,
  incusArchitecture: string,
): Promise<void> {
  await mkdir(join(directory, "templates"), { recursive: true });
  const metadata = {
    architecture: incusArchitecture,
    creation_date: Math.floor(Date.now() / 1000),
    properties: {
      os: "Debian",
      release: recipe.suite,
      architecture: recipe.architecture,
      description: `nexus workspace base (Debian 12 ${recipe.suite}, recipe ${hash.slice(0, 12)})`,
      "nexus.recipe": hash,
    },
    templates: Object.fromEntries(
      recipe.incusTemplates.map((t) => [t.path, { when: ["create", "copy"], create_only: false, template: t.file }]),
    ),
  };
  // JSON is valid YAML, so no YAML writer is needed for this one file.
  await writeFile(join(directory, "metadata.yaml"), `${JSON.stringify(metadata, null, 2)}\n`);
  for (const template of recipe.incusTemplates) {
    await writeFile(join(directory, "templates", template.file), template.content);
  }
}
