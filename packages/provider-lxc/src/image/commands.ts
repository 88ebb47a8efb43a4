// Argument vectors for every process the builder starts. Each is an array handed
// to spawn without a shell, so no value is ever parsed as shell syntax.

import type { BaseImageRecipe } from "./recipe.js";

export type Argv = readonly [string, ...string[]];

export function debootstrapArgv(input: {
  recipe: BaseImageRecipe;
  target: string;
  mirror: string;
  cacheDir?: string;
}): Argv {
  const { recipe } = input;
  return [
    "debootstrap",
    `--variant=${recipe.variant}`,
    `--arch=${recipe.architecture}`,
    `--include=${recipe.bootstrapPackages.join(",")}`,
    ...(input.cacheDir ? [`--cache-dir=${input.cacheDir}`] : []),
    // debootstrap has no "--" terminator; the positionals can't look like flags
    // because the target is an absolute path and the mirror a validated URL.
    recipe.suite,
    input.target,
    input.mirror,
  ];
}

export const APT_UPDATE: readonly string[] = ["apt-get", "-q", "update"];

export function aptInstallArgv(packages: readonly string[]): string[] {
  return ["apt-get", "-q", "-y", "--no-install-recommends", "install", ...packages];
}

/** A command run inside the new rootfs. */
export function chrootArgv(rootfs: string, command: readonly string[]): Argv {
  return ["chroot", rootfs, ...command];
}

export function createUserArgv(user: BaseImageRecipe["user"]): string[] {
  return [
    "useradd",
    "--uid",
    String(user.uid),
    "--user-group",
    "--create-home",
    "--home-dir",
    user.home,
    "--shell",
    user.shell,
    "--groups",
    "sudo",
    user.name,
  ];
}

/** "*" (not the default "!"): no password can match, yet the account isn't locked for key logins. */
export function disablePasswordArgv(user: BaseImageRecipe["user"]): string[] {
  return ["usermod", "--password", "*", user.name];
}

export function systemctlArgv(action: "enable" | "mask", units: readonly string[]): string[] {
  return ["systemctl", action, "--quiet", ...units];
}

/** Paths left out of the rootfs tarball: the engines provide them at run time. */
export const ROOTFS_TAR_EXCLUDES = ["./dev/*", "./proc/*", "./sys/*", "./run/*", "./tmp/*"] as const;

/** A plain tar of `directory`'s contents, with numeric owners (ids, not host names). */
export function tarCreateArgv(input: { directory: string; output: string; excludes?: readonly string[] }): Argv {
  return [
    "tar",
    "--create",
    `--file=${input.output}`,
    "--numeric-owner",
    "--one-file-system",
    ...(input.excludes ?? []).map((pattern) => `--exclude=${pattern}`),
    `--directory=${input.directory}`,
    ".",
  ];
}
