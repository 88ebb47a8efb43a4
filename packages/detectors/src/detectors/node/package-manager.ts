import type { FileView } from "@nexus/core";
import { shellJoin } from "../../util/shell.js";

export type PackageManagerName = "npm" | "pnpm" | "yarn" | "bun";

export interface PackageManager {
  name: PackageManagerName;
  /** The install command for `setup`. */
  install: string;
  /** Why this manager and this install command. */
  reason: string;
  /** Installs the manager itself when the image lacks it (the nexus base image has node and npm only). */
  provision?: string;
}

/**
 * pnpm and yarn come through corepack, which runs the version `packageManager` pins (yarn 1
 * refuses to run a project that pins yarn 2+); bun ships as an npm package. Guarded, so an
 * image that has the tool skips it, and run with sudo because global installs go to /usr.
 */
function provisionCommand(name: PackageManagerName): string | undefined {
  switch (name) {
    case "npm": return undefined;
    case "pnpm": case "yarn": return `if ! command -v ${name} >/dev/null 2>&1; then sudo npm install -g corepack && sudo corepack enable ${name}; fi`;
    case "bun": return "if ! command -v bun >/dev/null 2>&1; then sudo npm install -g bun; fi";
  }
}

/**
 * Lockfiles in precedence order, used only when several managers' lockfiles exist and
 * `packageManager` does not settle it. A stray package-lock.json is the usual leftover of
 * someone running `npm install` in a project that uses another manager, so npm ranks last.
 */
const LOCKFILES: readonly { file: string; manager: PackageManagerName }[] = [
  { file: "pnpm-lock.yaml", manager: "pnpm" },
  { file: "yarn.lock", manager: "yarn" },
  { file: "bun.lock", manager: "bun" },
  { file: "bun.lockb", manager: "bun" },
  { file: "package-lock.json", manager: "npm" },
  { file: "npm-shrinkwrap.json", manager: "npm" },
];
const PRECEDENCE = "pnpm > yarn > bun > npm";
const MANAGERS: ReadonlySet<string> = new Set(["npm", "pnpm", "yarn", "bun"]);

/** `"pnpm@9.1.0+sha512…"` → `{ name: "pnpm", major: 9 }`. */
function declaredManager(packageManagerField: string | undefined): { name: PackageManagerName; major?: number } | undefined {
  const match = /^([a-z]+)@(\d+)?/.exec(packageManagerField ?? "") ?? /^([a-z]+)$/.exec(packageManagerField ?? "");
  if (!match || !MANAGERS.has(match[1]!)) return undefined;
  return { name: match[1] as PackageManagerName, ...(match[2] ? { major: Number(match[2]) } : {}) };
}

/** Yarn 2+ ("berry") replaced --frozen-lockfile with --immutable. */
function isYarnBerry(files: FileView, declaredMajor: number | undefined): boolean {
  if (declaredMajor !== undefined) return declaredMajor >= 2;
  return files.exists(".yarnrc.yml") || /^__metadata:/m.test(files.read("yarn.lock") ?? "");
}

function installCommand(name: PackageManagerName, locked: boolean, berry: boolean): string {
  switch (name) {
    case "npm": return locked ? "npm ci" : "npm install";
    case "pnpm": return locked ? "pnpm install --frozen-lockfile" : "pnpm install";
    case "yarn": return !locked ? "yarn install" : berry ? "yarn install --immutable" : "yarn install --frozen-lockfile";
    case "bun": return "bun install";
  }
}

/** Picks the package manager of the package whose root is `files` (a scoped view). */
export function choosePackageManager(files: FileView, packageManagerField: string | undefined): PackageManager {
  const present = LOCKFILES.filter((lock) => files.exists(lock.file));
  const declared = declaredManager(packageManagerField);
  const managersPresent = [...new Set(present.map((lock) => lock.manager))];
  const lockfileOf = (name: PackageManagerName): string => present.find((lock) => lock.manager === name)!.file;

  let name: PackageManagerName;
  let reason: string;
  if (managersPresent.length === 0) {
    name = declared?.name ?? "npm";
    reason = declared
      ? `no lockfile; package.json's \`packageManager\` names ${name}, so dependencies are resolved afresh`
      : "no lockfile, so npm resolves dependencies afresh";
  } else if (managersPresent.length === 1) {
    name = managersPresent[0]!;
    reason = `${lockfileOf(name)} found`;
    if (declared && declared.name !== name) reason += ` (\`packageManager\` names ${declared.name}, but the lockfile decides)`;
  } else {
    const files = present.map((lock) => lock.file).join(", ");
    if (declared && managersPresent.includes(declared.name)) {
      name = declared.name;
      reason = `lockfiles of several package managers (${files}); package.json's \`packageManager\` names ${name}`;
    } else {
      name = managersPresent[0]!;
      reason = `lockfiles of several package managers (${files}); picked ${name} by the fixed precedence ${PRECEDENCE} — delete the stale lockfile or set \`packageManager\``;
    }
  }
  const locked = managersPresent.includes(name);
  const berry = name === "yarn" && isYarnBerry(files, declared?.name === "yarn" ? declared.major : undefined);
  const provision = provisionCommand(name);
  return { name, install: installCommand(name, locked, berry), reason, ...(provision ? { provision } : {}) };
}

/** `npm run dev -- --port 3001`, `pnpm run dev --port 3001`: npm alone needs `--` before script arguments. */
export function runScript(manager: PackageManagerName, script: string, extraArgs: readonly string[] = []): string {
  const base = shellJoin([manager, "run", script]);
  if (extraArgs.length === 0) return base;
  return manager === "npm" ? `${base} -- ${shellJoin(extraArgs)}` : `${base} ${shellJoin(extraArgs)}`;
}
