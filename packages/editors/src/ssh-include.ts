// The one change nexus makes to the user's ~/.ssh/config: an `Include` of the
// nexus-owned config as the very first line (an Include after a `Host` line would only
// apply to that host). Everything else in the file stays byte-identical, CRLF files
// stay CRLF, and when the file is not nexus's to change — read-only, or a symlink into
// a Nix/home-manager store — the caller gets the line to show the user instead.
import { accessSync, constants, lstatSync, mkdirSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { Env } from "./executables.js";
import { readOptional, withFileLock, writeFileAtomic, type FileLockOptions } from "./files.js";
import { nexusSshPaths, resolveNexusHome, userSshDir } from "./paths.js";

export interface SshIncludeOptions {
  /** Default: NEXUS_HOME from `env`. */
  nexusHome?: string;
  /** The directory holding the user's SSH config; default `$HOME/.ssh`. */
  sshDir?: string;
  env?: Env;
  lock?: FileLockOptions;
}

export type SshIncludeResult =
  /** `added`: the line was written; `present`: the file already includes the nexus config. */
  | { status: "added" | "present"; file: string; line: string }
  /** nexus may not change the file: show `line` and ask the user to add it at the top. */
  | { status: "manual"; file: string; line: string; reason: string };

/** `Include <NEXUS_HOME>/ssh/config`, quoted when the path has spaces. */
export function sshIncludeLine(nexusHome: string): string {
  const { config } = nexusSshPaths(nexusHome);
  return `Include ${/\s/.test(config) ? `"${config}"` : config}`;
}

/** Splits ssh_config arguments: whitespace-separated words, "double quotes" group. */
function configWords(text: string): string[] {
  return [...text.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? "");
}

/**
 * True when some `Include` line of `text` names `target`, however it is spelled:
 * absolute, `~/…`, relative to ~/.ssh, quoted, `Include=…`, any keyword case.
 */
export function includesFile(text: string, target: string, sshDir: string): boolean {
  const home = dirname(sshDir);
  const wanted = resolve(target);
  for (const rawLine of text.split("\n")) {
    const match = /^\s*include(?:\s*=\s*|\s+)(.*?)\s*$/i.exec(rawLine.replace(/\r$/, ""));
    if (!match) continue;
    for (const word of configWords(match[1] ?? "")) {
      const expanded = word === "~" ? home : word.startsWith("~/") ? join(home, word.slice(2)) : word;
      if (resolve(isAbsolute(expanded) ? expanded : join(sshDir, expanded)) === wanted) return true;
    }
  }
  return false;
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** The file with `line` inserted first (after a BOM), in the file's own line ending. */
export function withIncludeLine(original: Buffer, line: string): Buffer {
  const eol = original.includes("\r\n") ? "\r\n" : "\n";
  const bom = original.subarray(0, 3).equals(UTF8_BOM) ? UTF8_BOM : Buffer.alloc(0);
  return Buffer.concat([bom, Buffer.from(`${line}${eol}`, "utf8"), original.subarray(bom.length)]);
}

/** Why nexus may not write `path`, or undefined. Owner-write bits count even for root. */
function notWritable(path: string, what: string): string | undefined {
  try {
    accessSync(path, constants.W_OK);
  } catch {
    return `${what} is not writable`;
  }
  if ((statSync(path).mode & 0o200) === 0) return `${what} is read-only`;
  return undefined;
}

const WRITE_DENIED = new Set(["EACCES", "EPERM", "EROFS"]);

/** Ensures ~/.ssh/config includes NEXUS_HOME/ssh/config; never fails for files nexus may not touch. */
export async function ensureSshInclude(options: SshIncludeOptions = {}): Promise<SshIncludeResult> {
  const env = options.env ?? process.env;
  const nexusHome = options.nexusHome ?? resolveNexusHome(env);
  const sshDir = resolve(options.sshDir ?? userSshDir(env));
  const file = join(sshDir, "config");
  const line = sshIncludeLine(nexusHome);
  const target = nexusSshPaths(nexusHome).config;
  const manual = (reason: string): SshIncludeResult => ({ status: "manual", file, line, reason });

  // Checked before and again under the lock: the common case (already present) takes no lock.
  const inspect = (): SshIncludeResult | { status: "write"; original: Buffer; mode: number } => {
    let stat;
    try {
      stat = lstatSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    // Read through a symlink: a managed config may already include the nexus file.
    const original = stat ? readOptional(file) ?? Buffer.alloc(0) : Buffer.alloc(0);
    if (stat && includesFile(original.toString("utf8"), target, sshDir)) return { status: "present", file, line };
    if (stat?.isSymbolicLink()) return manual(`${file} is a symlink (managed by another tool, e.g. home-manager)`);
    const denied = (stat && notWritable(file, file)) || notWritable(sshDir, sshDir);
    if (denied) return manual(denied);
    // Never group/world-writable: OpenSSH refuses such a config.
    return { status: "write", original, mode: stat ? stat.mode & 0o755 : 0o600 };
  };

  try {
    mkdirSync(sshDir, { recursive: true, mode: 0o700 });
    const first = inspect();
    if (first.status !== "write") return first;
    return await withFileLock(join(sshDir, ".config.nexus-lock"), () => {
      const current = inspect();
      if (current.status !== "write") return current;
      writeFileAtomic(file, withIncludeLine(current.original, line), current.mode);
      return { status: "added", file, line } as const;
    }, options.lock);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code && WRITE_DENIED.has(code)) return manual(`${file} cannot be written (${code})`);
    throw error;
  }
}
