import type { FileView } from "@nexus/core";
import { joinRepoPath, normalizeRepoPath } from "./paths.js";

/** The view of one package directory, so a detector written for a repo root also works on `apps/web`. */
export function scopeFileView(files: FileView, dir: string): FileView {
  const base = normalizeRepoPath(dir) ?? "";
  if (base === "") return files;
  const inside = (path: string): string | undefined => {
    const normalized = normalizeRepoPath(path);
    return normalized === undefined ? undefined : joinRepoPath(base, normalized);
  };
  return {
    read: (path) => {
      const full = inside(path);
      return full === undefined ? undefined : files.read(full);
    },
    exists: (path) => {
      const full = inside(path);
      return full !== undefined && files.exists(full);
    },
    list: (path) => {
      const full = inside(path);
      return full === undefined ? [] : files.list(full);
    },
  };
}
