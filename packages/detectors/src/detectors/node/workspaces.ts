// Workspace packages of an npm/yarn/bun (package.json `workspaces`) or pnpm (pnpm-workspace.yaml) monorepo.
import type { FileView } from "@nexus/core";
import { joinRepoPath, normalizeRepoPath } from "../../files/paths.js";
import { asObject, asStringArray, readYamlFile, type JsonObject } from "../../util/parse.js";

/** `**` is followed at most this deep, and at most this many packages are returned: detection stays cheap on huge repos. */
const MAX_GLOBSTAR_DEPTH = 4;
const MAX_PACKAGES = 200;

export interface WorkspaceDeclaration {
  /** Where the patterns came from, for reasons ("package.json `workspaces`"). */
  source: string;
  patterns: string[];
}

/** The workspace patterns a root declares, if it is a monorepo root. */
export function workspaceDeclaration(files: FileView, manifest: JsonObject): WorkspaceDeclaration | undefined {
  const pnpm = files.exists("pnpm-workspace.yaml") ? readYamlFile(files, "pnpm-workspace.yaml") : undefined;
  if (pnpm) return { source: "pnpm-workspace.yaml", patterns: asStringArray(pnpm.packages) };
  const workspaces = manifest.workspaces;
  // Yarn classic's object form: { packages: [...], nohoist: [...] }.
  const patterns = Array.isArray(workspaces) ? asStringArray(workspaces) : asStringArray(asObject(workspaces)?.packages);
  return workspaces === undefined ? undefined : { source: "package.json `workspaces`", patterns };
}

function segmentPattern(segment: string): RegExp {
  const source = segment.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", "[^/]*").replaceAll("?", "[^/]");
  return new RegExp(`^${source}$`);
}

function pathPattern(glob: string): RegExp {
  const source = glob
    .split("/")
    .map((segment) => (segment === "**" ? "(?:.*)" : segment.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", "[^/]*").replaceAll("?", "[^/]")))
    .join("/")
    .replaceAll("(?:.*)/", "(?:.*/)?");
  return new RegExp(`^${source}$`);
}

function cleanPattern(pattern: string): string | undefined {
  return normalizeRepoPath(pattern.trim().replace(/\/package\.json$/, "").replace(/\/+$/, ""));
}

function subdirectories(files: FileView, dir: string): string[] {
  return files
    .list(dir)
    .filter((entry) => entry.endsWith("/") && entry !== "node_modules/")
    .map((entry) => joinRepoPath(dir, entry.slice(0, -1)));
}

function expand(files: FileView, dir: string, segments: readonly string[], depth: number, found: Set<string>): void {
  if (found.size >= MAX_PACKAGES) return;
  const [segment, ...rest] = segments;
  if (segment === undefined) {
    if (files.exists(joinRepoPath(dir, "package.json"))) found.add(dir);
    return;
  }
  if (segment === "**") {
    expand(files, dir, rest, depth, found);
    if (depth < MAX_GLOBSTAR_DEPTH) for (const child of subdirectories(files, dir)) expand(files, child, segments, depth + 1, found);
    return;
  }
  if (!/[*?]/.test(segment)) {
    expand(files, joinRepoPath(dir, segment), rest, depth, found);
    return;
  }
  const matcher = segmentPattern(segment);
  for (const child of subdirectories(files, dir)) {
    if (matcher.test(child.slice(child.lastIndexOf("/") + 1))) expand(files, child, rest, depth, found);
  }
}

/** Directories (relative to the root, in pattern order) of the workspace packages the patterns select. */
export function expandWorkspacePatterns(files: FileView, patterns: readonly string[]): string[] {
  const found = new Set<string>();
  const excluded: RegExp[] = [];
  for (const raw of patterns) {
    const negated = raw.startsWith("!");
    const pattern = cleanPattern(negated ? raw.slice(1) : raw);
    if (pattern === undefined || pattern === "") continue;
    if (negated) excluded.push(pathPattern(pattern));
    else {
      const matches = new Set<string>();
      expand(files, "", pattern.split("/"), 0, matches);
      for (const dir of [...matches].sort()) found.add(dir);
    }
  }
  return [...found].filter((dir) => !excluded.some((pattern) => pattern.test(dir)));
}
