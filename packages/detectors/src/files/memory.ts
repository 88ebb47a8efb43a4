import type { FileView } from "@nexus/core";
import { NexusError } from "@nexus/core";
import { normalizeRepoPath } from "./paths.js";

/**
 * An inline file tree: a string is a file's content, an object is a directory.
 * Keys may contain "/" (`{ "apps/web/package.json": "{}" }`), so fixtures stay flat or nest as they read best.
 */
export interface MemoryTree {
  [name: string]: string | MemoryTree;
}

/** A FileView over an inline tree, for detector tests (first- and third-party). */
export function memoryFileView(tree: MemoryTree): FileView {
  const files = new Map<string, string>();
  const children = new Map<string, Set<string>>([["", new Set()]]);

  const addEntry = (path: string, isDirectory: boolean): void => {
    const slash = path.lastIndexOf("/");
    const parent = slash === -1 ? "" : path.slice(0, slash);
    if (parent !== "" && !children.has(parent)) addEntry(parent, true);
    if (isDirectory && !children.has(path)) children.set(path, new Set());
    children.get(parent)!.add(path.slice(slash + 1) + (isDirectory ? "/" : ""));
  };

  const walk = (node: MemoryTree, prefix: string): void => {
    for (const [name, value] of Object.entries(node)) {
      const path = normalizeRepoPath(prefix === "" ? name : `${prefix}/${name}`);
      if (path === undefined || path === "") {
        throw new NexusError("invalid_request", `memoryFileView: ${JSON.stringify(name)} is not a relative path inside the tree`);
      }
      if (typeof value === "string") {
        if (children.has(path)) throw new NexusError("invalid_request", `memoryFileView: ${path} is both a file and a directory`);
        files.set(path, value);
        addEntry(path, false);
      } else {
        if (files.has(path)) throw new NexusError("invalid_request", `memoryFileView: ${path} is both a file and a directory`);
        addEntry(path, true);
        walk(value, path);
      }
    }
  };
  walk(tree, "");

  return {
    read(path) {
      const normalized = normalizeRepoPath(path);
      return normalized === undefined ? undefined : files.get(normalized);
    },
    exists(path) {
      const normalized = normalizeRepoPath(path);
      return normalized !== undefined && (files.has(normalized) || children.has(normalized));
    },
    list(dir) {
      const normalized = normalizeRepoPath(dir);
      const entries = normalized === undefined ? undefined : children.get(normalized);
      return entries ? [...entries].sort() : [];
    },
  };
}
