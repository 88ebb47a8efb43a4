// The node's repository cache (SPEC §6): one bare mirror per repository URL under
// <dataDir>/mirrors/<sha256(url)>, cloned once and fetched before each create, from
// which a bundle of the requested branch is cut for the container.
//
// The clone token lives only in this process's memory and in git's environment: git
// asks an environment-configured credential helper, which prints it from an environment
// variable. It is never in a URL, an argument, a file or a log line.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { NexusError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Secret } from "../secret.js";
import type { ParsedRepositoryUrl } from "../wire/repo-url.js";

export interface GitResult {
  stdout: Buffer;
  stderr: string;
}

/** A branch of a repository, packed as a git bundle. */
export interface RepositoryBundle {
  /** The mirror it was cut from. */
  mirror: string;
  branch: string;
  commit: string;
  data: Buffer;
}

// git runs this with `sh -c`; it reads the token from the environment at the moment git
// asks, so the token appears in no argument list. `get` is the only operation answered.
const CREDENTIAL_HELPER = `!f() { test "$1" = get || exit 0; printf 'username=%s\\npassword=%s\\n' "\${NEXUS_GIT_USERNAME:-x-access-token}" "$NEXUS_CLONE_TOKEN"; }; f`;
const TOKEN_ENV = "NEXUS_CLONE_TOKEN";
const GIT_TIMEOUT_MS = 10 * 60_000;
const STDERR_LIMIT = 64 * 1024;

function cloneFailed(message: string, details: Record<string, unknown> = {}, cause?: unknown): NexusError {
  return new NexusError("clone_failed", message, { details: { ...details, phase: "repo_cloned" }, ...(cause === undefined ? {} : { cause }) });
}

export class MirrorCache {
  readonly root: string;
  /** One fetch per URL at a time; creates that arrive meanwhile share it. */
  readonly #inFlight = new Map<string, Promise<string>>();

  constructor(
    dataDir: string,
    private readonly log: Logger,
  ) {
    this.root = join(dataDir, "mirrors");
  }

  dirFor(url: string): string {
    return join(this.root, createHash("sha256").update(url).digest("hex"));
  }

  /** Fetches (or first clones) the mirror of a checked URL; returns its directory. */
  async update(repo: ParsedRepositoryUrl, token: Secret | undefined, signal: AbortSignal): Promise<string> {
    const running = this.#inFlight.get(repo.url);
    if (running) {
      // Shared with another create; if that one was cancelled, this one fetches by itself.
      const shared = await running.then((dir) => dir, () => undefined);
      if (shared !== undefined) return shared;
      signal.throwIfAborted();
      return this.update(repo, token, signal);
    }
    const work = this.#update(repo, token, signal).finally(() => this.#inFlight.delete(repo.url));
    this.#inFlight.set(repo.url, work);
    return work;
  }

  async #update(repo: ParsedRepositoryUrl, token: Secret | undefined, signal: AbortSignal): Promise<string> {
    const dir = this.dirFor(repo.url);
    const local = repo.kind === "file" || repo.kind === "path";
    const env = gitEnvironment(token, local);
    const started = Date.now();
    if (await exists(join(dir, "HEAD"))) {
      await this.#git(["-C", dir, "fetch", "--prune", "--quiet", "origin"], env, signal, "fetching");
      this.log.debug({ mirror: dir, ms: Date.now() - started }, "mirror fetched");
      return dir;
    }
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const temp = `${dir}.tmp-${randomBytes(4).toString("hex")}`;
    try {
      await this.#git(["clone", "--bare", "--quiet", "--", repo.url, temp], env, signal, "cloning");
      // Branches and tags only: a forge's other refs (pull requests) can dwarf the repository.
      await this.#git(["-C", temp, "config", "--replace-all", "remote.origin.fetch", "+refs/heads/*:refs/heads/*"], env, signal, "configuring");
      await this.#git(["-C", temp, "config", "--add", "remote.origin.fetch", "+refs/tags/*:refs/tags/*"], env, signal, "configuring");
      await rename(temp, dir).catch(async (error: NodeJS.ErrnoException) => {
        // Another agent process won the race: its mirror is as good as ours.
        if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error;
        await rm(temp, { recursive: true, force: true });
      });
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
    this.log.debug({ mirror: dir, ms: Date.now() - started }, "mirror cloned");
    return dir;
  }

  /** The branch (default: the repository's default branch) as a bundle, with its commit. */
  async bundle(dir: string, branch: string | undefined, signal: AbortSignal): Promise<RepositoryBundle> {
    const env = gitEnvironment(undefined, false);
    let name = branch;
    if (name === undefined) {
      const head = (await this.#git(["-C", dir, "symbolic-ref", "--quiet", "HEAD"], env, signal, "reading the default branch")).stdout.toString().trim();
      if (!head.startsWith("refs/heads/")) throw cloneFailed("the repository has no default branch", { head });
      name = head.slice("refs/heads/".length);
    }
    const ref = `refs/heads/${name}`;
    let commit: string;
    try {
      commit = (await this.#git(["-C", dir, "rev-parse", "--verify", "--quiet", `${ref}^{commit}`], env, signal, "resolving the branch")).stdout.toString().trim();
    } catch (error) {
      throw cloneFailed(`branch ${JSON.stringify(name)} does not exist in the repository`, { branch: name }, error);
    }
    const { stdout } = await this.#git(["-C", dir, "bundle", "create", "--quiet", "-", ref], env, signal, "bundling");
    return { mirror: dir, branch: name, commit, data: stdout };
  }

  /** A file's text at a commit, or undefined when the commit has no such file. */
  async show(dir: string, commit: string, path: string, signal: AbortSignal): Promise<string | undefined> {
    try {
      return (await this.#git(["-C", dir, "cat-file", "blob", `${commit}:${path}`], gitEnvironment(undefined, false), signal, "reading a file of")).stdout.toString("utf8");
    } catch (error) {
      if (signal.aborted) throw error;
      return undefined;
    }
  }

  #git(args: string[], env: NodeJS.ProcessEnv, signal: AbortSignal, doing: string): Promise<GitResult> {
    return new Promise((resolve, reject) => {
      const child = spawn("git", args, { env, stdio: ["ignore", "pipe", "pipe"], signal, timeout: GIT_TIMEOUT_MS });
      const out: Buffer[] = [];
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
      child.stderr.on("data", (chunk: Buffer) => {
        if (stderr.length < STDERR_LIMIT) stderr += chunk.toString("utf8");
      });
      child.once("error", (error) => reject(signal.aborted ? signal.reason : cloneFailed(`git could not be run while ${doing}: ${error.message}`, {}, error)));
      child.once("close", (code, killedBy) => {
        if (code === 0) return resolve({ stdout: Buffer.concat(out), stderr });
        if (signal.aborted) return reject(signal.reason);
        const reason = stderr.trim().split("\n").filter(Boolean).slice(-3).join("; ") || (killedBy ? `killed by ${killedBy}` : `exit ${code}`);
        reject(cloneFailed(`git failed while ${doing} the repository: ${reason}`, { exit_code: code }));
      });
    });
  }
}

function gitEnvironment(token: Secret | undefined, allowLocal: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GIT_TERMINAL_PROMPT: "0",
    // Defence in depth behind checkRepositoryUrl: no remote helpers, no ext::.
    GIT_ALLOW_PROTOCOL: allowLocal ? "https:http:ssh:file" : "https:http:ssh",
    GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? "ssh -o BatchMode=yes",
  };
  // git and its helpers get no credential of the agent's own (a join token, an API token).
  for (const key of Object.keys(env)) if (/TOKEN|SECRET|PASSWORD/i.test(key)) delete env[key];
  delete env.GIT_ASKPASS;
  delete env.SSH_ASKPASS;
  if (token !== undefined) {
    const value = token.reveal();
    if (/[\x00-\x1f\x7f]/.test(value)) throw new NexusError("invalid_request", "clone_token contains control characters", { details: { phase: "repo_cloned" } });
    // An empty helper first clears any the node's git configuration names.
    Object.assign(env, {
      GIT_CONFIG_COUNT: "2",
      GIT_CONFIG_KEY_0: "credential.helper",
      GIT_CONFIG_VALUE_0: "",
      GIT_CONFIG_KEY_1: "credential.helper",
      GIT_CONFIG_VALUE_1: CREDENTIAL_HELPER,
      [TOKEN_ENV]: value,
    });
  }
  return env;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
