// A local clone for the user: origin is the repository they work on (their fork),
// upstream the original. git runs with argument arrays, never a shell string, and
// never prompts (a missing credential fails instead of hanging).
import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { NexusError, branchNameProblem, parseRepositoryUrl, redactRepositoryUrl } from "@nexus/core";

export interface CloneLocallyOptions {
  /** Absolute path of the new checkout; must not exist or be empty. */
  dir: string;
  /** The repository to clone (the fork, or the repository itself). */
  origin: string;
  /** The original repository, added as the `upstream` remote. */
  upstream?: string | undefined;
  /** Branch to check out (default: the remote's HEAD). */
  branch?: string | undefined;
  env?: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
}

export interface LocalClone {
  dir: string;
  branch: string;
  remotes: { origin: string; upstream?: string };
}

export async function cloneLocally(options: CloneLocallyOptions): Promise<LocalClone> {
  if (!isAbsolute(options.dir)) throw new NexusError("invalid_request", `clone directory ${JSON.stringify(options.dir)} is not absolute`);
  checkUrl(options.origin, "origin");
  if (options.upstream !== undefined) checkUrl(options.upstream, "upstream");
  if (options.branch !== undefined) {
    const problem = branchNameProblem(options.branch);
    if (problem) throw new NexusError("invalid_request", `branch ${JSON.stringify(options.branch)} ${problem}`, { details: { branch: options.branch } });
  }
  const entries = await readdir(options.dir).catch(() => [] as string[]);
  if (entries.length > 0) {
    throw new NexusError("invalid_request", `${options.dir} already exists and is not empty`, {
      details: { dir: options.dir },
      hint: "Choose another directory with --clone-dir, or skip the local clone with --no-clone.",
    });
  }
  const git = (args: string[], cwd?: string) => runGit(args, { cwd, env: options.env, signal: options.signal });
  await git(["clone", "--origin", "origin", ...(options.branch ? ["--branch", options.branch] : []), "--", options.origin, options.dir]);
  if (options.upstream !== undefined && options.upstream !== options.origin) {
    await git(["remote", "add", "upstream", options.upstream], options.dir);
  }
  const branch = (await git(["rev-parse", "--abbrev-ref", "HEAD"], options.dir)).trim();
  return {
    dir: options.dir,
    branch,
    remotes: { origin: options.origin, ...(options.upstream !== undefined && options.upstream !== options.origin ? { upstream: options.upstream } : {}) },
  };
}

function checkUrl(url: string, what: string): void {
  const parsed = parseRepositoryUrl(url);
  if (!parsed.ok) {
    throw new NexusError("invalid_request", `${what} URL ${JSON.stringify(redactRepositoryUrl(url))} ${parsed.reason}`, { details: { remote: what } });
  }
}

function runGit(args: string[], options: { cwd?: string | undefined; env?: Readonly<Record<string, string | undefined>> | undefined; signal?: AbortSignal | undefined }): Promise<string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.env ?? process.env)) if (value !== undefined) env[key] = value;
  env.GIT_TERMINAL_PROMPT = "0";
  return new Promise((resolve, reject) => {
    execFile("git", args, { cwd: options.cwd, env, maxBuffer: 4 * 1024 * 1024, encoding: "utf8", ...(options.signal ? { signal: options.signal } : {}) }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const shownArgs = args.map((a) => redactRepositoryUrl(a));
      const reason = stderr.trim().split("\n").slice(-3).join(" ").replace(/\S+:\/\/[^\s/@]+@/g, (m) => redactRepositoryUrl(m));
      reject(
        new NexusError("clone_failed", `git ${shownArgs[0]} failed: ${reason || error.message}`, {
          cause: error,
          details: { command: ["git", ...shownArgs] },
          hint: "Check that the repository and branch exist and that git can reach them (SSH key or credential helper).",
        }),
      );
    });
  });
}
