// Where a workspace's code comes from: a GitHub repository (OWNER/REPO or a URL) or, in
// single-machine mode, a directory on this machine. Everything here runs git with
// argument arrays; nothing the user typed reaches a shell.
import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { NexusError, branchNameProblem, isValidRepoName } from "@nexus/core";

export type RepoInput = { kind: "local"; dir: string } | { kind: "github"; ref: string };

const LOCAL_PREFIX = /^(?:\.{1,2}(?:\/|$)|\/|~(?:\/|$))/;
const URL_LIKE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/|^[^/\s]+@[^/\s]+:/;

/**
 * `./app`, `../app`, `/abs/path`, `~/app`, `.` and any existing directory are local; a URL
 * or `OWNER/REPO` that is not a directory here is a GitHub repository.
 */
export function classifyRepoInput(input: string, cwd: string, env: Readonly<Record<string, string | undefined>>): RepoInput {
  const text = input.trim();
  if (text === "") throw new NexusError("invalid_request", "no repository given", { hint: "Give OWNER/REPO, a GitHub URL, or a local directory such as `.`." });
  if (text.startsWith("file://")) {
    try {
      return { kind: "local", dir: fileURLToPath(text) };
    } catch {
      throw new NexusError("invalid_request", `${JSON.stringify(text)} is not a local file:// URL`, { hint: "Give the directory as a path, e.g. `.` or `/home/you/app`." });
    }
  }
  if (URL_LIKE.test(text)) return { kind: "github", ref: text };
  if (LOCAL_PREFIX.test(text)) {
    const expanded = text === "~" || text.startsWith("~/") ? join(env.HOME || homedir(), text.slice(1)) : text;
    return { kind: "local", dir: resolve(cwd, expanded) };
  }
  const candidate = resolve(cwd, text);
  if (isDirectory(candidate)) return { kind: "local", dir: candidate };
  return { kind: "github", ref: text };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A directory name as a valid repository name (letters, digits, `.`, `_`, `-`). */
export function sanitizeRepoName(dirName: string): string {
  let name = dirName
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/\.git$/i, "")
    .replace(/^[-.]+/, "")
    .slice(0, 100)
    .replace(/[-.]+$/, "");
  if (!isValidRepoName(name)) name = "project";
  return name;
}

export function git(args: string[], cwd: string, env?: Readonly<Record<string, string | undefined>>): Promise<string> {
  const childEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(env ?? process.env)) if (value !== undefined) childEnv[key] = value;
  childEnv.GIT_TERMINAL_PROMPT = "0";
  return new Promise((resolvePromise, reject) => {
    execFile("git", args, { cwd, env: childEnv, encoding: "utf8", maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr }));
      else resolvePromise(stdout.trim());
    });
  });
}

export interface LocalRepo {
  /** The repository's top-level directory. */
  dir: string;
  owner: "local";
  name: string;
  /** `file://<dir>`. */
  url: string;
  branch: string | undefined;
  /** Uncommitted changes exist (they are not in the workspace: it clones the commits). */
  dirty: boolean;
}

/** A local directory as a repository the single-machine server can clone. */
export async function resolveLocalRepo(dir: string, branch: string | undefined, env: Readonly<Record<string, string | undefined>>): Promise<LocalRepo> {
  if (!isAbsolute(dir) || !existsSync(dir) || !isDirectory(dir)) {
    throw new NexusError("invalid_request", `${dir} is not a directory`, { details: { dir }, hint: "Give an existing directory, OWNER/REPO or a GitHub URL." });
  }
  let top: string;
  try {
    top = await git(["rev-parse", "--show-toplevel"], dir, env);
  } catch {
    throw new NexusError("invalid_request", `${dir} is not a git repository`, {
      details: { dir },
      hint: `The workspace clones the repository's commits. Run \`git -C ${JSON.stringify(dir)} init && git -C ${JSON.stringify(dir)} add -A && git -C ${JSON.stringify(dir)} commit -m init\` first.`,
    });
  }
  if (branch !== undefined) {
    const problem = branchNameProblem(branch);
    if (problem) throw new NexusError("invalid_request", `branch ${JSON.stringify(branch)} ${problem}`, { details: { branch } });
  }
  const current = branch ?? (await git(["symbolic-ref", "--quiet", "--short", "HEAD"], top, env).catch(() => undefined));
  const dirty = (await git(["status", "--porcelain", "--untracked-files=no"], top, env).catch(() => "")) !== "";
  return { dir: top, owner: "local", name: sanitizeRepoName(basename(top)), url: pathToFileURL(top).href, branch: current || undefined, dirty };
}
