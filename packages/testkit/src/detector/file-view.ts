import { posix } from "node:path";
import type { FileView } from "@nexus/core";

/** Inline repository fixture: POSIX paths relative to the repo root → file content. */
export type FileTreeRecord = Readonly<Record<string, string>>;

function normalize(path: string): string {
  const normal = posix.normalize(path.replace(/^\.?\/+/, "")).replace(/\/+$/, "");
  return normal === "." ? "" : normal;
}

/** A read-only FileView over an inline file tree, for detector tests. */
export function createFileView(files: FileTreeRecord): FileView {
  const contents = new Map(Object.entries(files).map(([path, content]) => [normalize(path), content]));
  const dirs = new Set<string>([""]);
  for (const path of contents.keys()) {
    for (let dir = posix.dirname(path); dir !== "."; dir = posix.dirname(dir)) dirs.add(dir);
  }
  return Object.freeze({
    read: (path: string) => contents.get(normalize(path)),
    exists: (path: string) => contents.has(normalize(path)) || dirs.has(normalize(path)),
    list(dir: string): string[] {
      const base = normalize(dir);
      if (!dirs.has(base)) return [];
      const prefix = base === "" ? "" : `${base}/`;
      const names = new Set<string>();
      for (const path of [...contents.keys(), ...dirs]) {
        if (path === base || !path.startsWith(prefix)) continue;
        const rest = path.slice(prefix.length);
        const slash = rest.indexOf("/");
        names.add(slash === -1 ? (dirs.has(path) ? `${rest}/` : rest) : `${rest.slice(0, slash)}/`);
      }
      return [...names].sort();
    },
  });
}
