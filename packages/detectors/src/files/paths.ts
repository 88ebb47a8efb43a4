/**
 * Repository paths as detectors see them: POSIX, relative to the repo root, no "." or ".."
 * segments. "" is the root. Anything that would climb out of the root is rejected.
 */
export function normalizeRepoPath(path: string): string | undefined {
  if (path.startsWith("/") || path.includes("\\") || path.includes("\0")) return undefined;
  const segments: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") return undefined;
    segments.push(segment);
  }
  return segments.join("/");
}

/** Joins a package directory ("." or "apps/web") and a path inside it. */
export function joinRepoPath(dir: string, path: string): string {
  const base = normalizeRepoPath(dir) ?? "";
  if (base === "") return path;
  return path === "" ? base : `${base}/${path}`;
}

/** The "." / "apps/web" form used in hints. */
export function displayDir(dir: string): string {
  const normalized = normalizeRepoPath(dir) ?? "";
  return normalized === "" ? "." : normalized;
}

/** Last segment of a directory path ("apps/web" → "web"). */
export function baseName(dir: string): string {
  const normalized = normalizeRepoPath(dir) ?? "";
  return normalized.slice(normalized.lastIndexOf("/") + 1);
}
