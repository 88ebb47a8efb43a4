// The only I/O in this package: a read-only, lazy FileView over a directory on disk.
// Detectors stay pure; this is what `nexus config init` hands them.
import { lstatSync, readFileSync, readdirSync, realpathSync, statSync, type Stats } from "node:fs";
import { join, sep } from "node:path";
import type { FileView } from "@nexus/core";
import { NexusError } from "@nexus/core";
import { normalizeRepoPath } from "./paths.js";
import { SKIPPED_DIRECTORIES } from "./skipped.js";

export interface DirectoryViewOptions {
  /** Directory entries the view enumerates in total (across every list()); later entries are left out. Default 20000. */
  maxFiles?: number;
  /** Deepest path, in segments below the root, that is visible. Default 8. */
  maxDepth?: number;
  /** Larger files read as absent. Default 1 MiB. */
  maxFileBytes?: number;
}

const DEFAULTS = { maxFiles: 20_000, maxDepth: 8, maxFileBytes: 1024 * 1024 };

export function fileViewFromDirectory(dir: string, options: DirectoryViewOptions = {}): FileView {
  const limits = { ...DEFAULTS, ...options };
  let root: string;
  try {
    root = realpathSync(dir);
    if (!statSync(root).isDirectory()) throw new Error("not a directory");
  } catch (cause) {
    throw new NexusError("invalid_request", `${dir} is not a readable directory`, { cause, details: { dir } });
  }

  const contents = new Map<string, string | undefined>();
  const listings = new Map<string, string[]>();
  let entriesLeft = limits.maxFiles;

  /** The real path of a repo path, or undefined when it is hidden, too deep, absent or (via a symlink) outside the root. */
  const resolve = (path: string): string | undefined => {
    const normalized = normalizeRepoPath(path);
    if (normalized === undefined) return undefined;
    if (normalized === "") return root;
    const segments = normalized.split("/");
    if (segments.length > limits.maxDepth) return undefined;
    if (segments.some((segment) => SKIPPED_DIRECTORIES.has(segment))) return undefined;
    try {
      const real = realpathSync(join(root, ...segments));
      return real === root || real.startsWith(root + sep) ? real : undefined;
    } catch {
      return undefined;
    }
  };

  const statOf = (real: string): Stats | undefined => {
    try {
      return statSync(real);
    } catch {
      return undefined;
    }
  };

  /** A Python virtualenv under any name (`env/`, `.env3/`) is recognised by its marker file. */
  const isVirtualenv = (real: string): boolean => {
    try {
      return lstatSync(join(real, "pyvenv.cfg")).isFile();
    } catch {
      return false;
    }
  };

  return {
    read(path) {
      const key = normalizeRepoPath(path);
      if (key === undefined) return undefined;
      if (contents.has(key)) return contents.get(key);
      const real = resolve(key);
      const stats = real === undefined ? undefined : statOf(real);
      let text: string | undefined;
      if (real !== undefined && stats?.isFile() && stats.size <= limits.maxFileBytes) {
        try {
          text = readFileSync(real, "utf8");
        } catch {
          text = undefined;
        }
      }
      contents.set(key, text);
      return text;
    },
    exists(path) {
      const real = resolve(path);
      return real !== undefined && statOf(real) !== undefined;
    },
    list(path) {
      const key = normalizeRepoPath(path);
      if (key === undefined) return [];
      const cached = listings.get(key);
      if (cached) return cached;
      const real = resolve(key);
      const depth = key === "" ? 0 : key.split("/").length;
      let names: string[] = [];
      if (real !== undefined && depth < limits.maxDepth && statOf(real)?.isDirectory()) {
        try {
          names = readdirSync(real).sort();
        } catch {
          names = [];
        }
      }
      const entries: string[] = [];
      for (const name of names) {
        if (entriesLeft <= 0) break;
        if (SKIPPED_DIRECTORIES.has(name)) continue;
        const childPath = key === "" ? name : `${key}/${name}`;
        const childReal = resolve(childPath);
        if (childReal === undefined) continue;
        const stats = statOf(childReal);
        if (!stats) continue;
        if (stats.isDirectory()) {
          if (isVirtualenv(childReal)) continue;
          entries.push(`${name}/`);
        } else if (stats.isFile()) {
          entries.push(name);
        } else {
          continue;
        }
        entriesLeft -= 1;
      }
      listings.set(key, entries);
      return entries;
    },
  };
}
