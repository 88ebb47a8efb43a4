// Which repository a workspace works on: the user's own (or one they can push to), or
// else their fork of it — reused when it exists, created and waited for when not.
import { setTimeout as sleep } from "node:timers/promises";
import { NexusError, branchNameProblem } from "@nexus/core";
import type { CallOptions, GithubClient, GithubRepository } from "./client.js";
import type { RepoRef } from "./repo-ref.js";

export interface RepositoryLocation {
  owner: string;
  name: string;
  clone_url: string;
  ssh_url: string;
}

export interface ResolvedRepository extends RepositoryLocation {
  /** The branch to work on: the one asked for, else the upstream's default branch. */
  branch: string;
  html_url: string;
  private: boolean;
  /** The repository worked on is a fork (of `upstream`). */
  is_fork: boolean;
  /** True when this call created the fork. */
  forked: boolean;
  /** The original repository, when the one worked on is a fork. */
  upstream?: RepositoryLocation;
}

export interface ForkPolling {
  /** How many times a new fork is looked for before giving up (default 12). */
  attempts?: number;
  /** First wait between looks; doubles each time (default 500 ms). */
  delayMs?: number;
  /** Longest wait between looks (default 5000 ms). */
  maxDelayMs?: number;
}

export interface ResolveRepositoryOptions extends CallOptions {
  branch?: string | undefined;
  forkPolling?: ForkPolling;
}

/**
 * Looks the repository up and decides where the user works: on it when they own it or
 * may push to it, else on their fork (an existing one is reused; a new one is created
 * and polled until GitHub has finished copying it).
 */
export async function resolveRepository(client: GithubClient, ref: RepoRef, me: string, options: ResolveRepositoryOptions = {}): Promise<ResolvedRepository> {
  if (options.branch !== undefined) {
    const problem = branchNameProblem(options.branch);
    if (problem) throw new NexusError("invalid_request", `branch ${JSON.stringify(options.branch)} ${problem}`, { details: { branch: options.branch, reason: problem } });
  }
  const call: CallOptions = { signal: options.signal };
  const repo = await client.getRepository(ref.owner, ref.name, call);
  const branch = options.branch ?? repo.default_branch;
  if (repo.owner.toLowerCase() === me.toLowerCase() || repo.permissions?.push === true) {
    return {
      ...location(repo),
      branch,
      html_url: repo.html_url,
      private: repo.private,
      is_fork: repo.fork,
      forked: false,
      ...(repo.fork && repo.parent ? { upstream: location(repo.parent) } : {}),
    };
  }
  let fork = await findExistingFork(client, repo, me, call);
  const forked = fork === null;
  if (fork === null) {
    const created = await client.createFork(repo.owner, repo.name, call);
    fork = await waitForFork(client, created, repo, options);
  }
  return {
    ...location(fork),
    branch,
    html_url: fork.html_url,
    private: fork.private,
    is_fork: true,
    forked,
    upstream: location(repo),
  };
}

function location(repo: RepositoryLocation): RepositoryLocation {
  return { owner: repo.owner, name: repo.name, clone_url: repo.clone_url, ssh_url: repo.ssh_url };
}

function isForkOf(candidate: GithubRepository, upstream: GithubRepository): boolean {
  return candidate.fork && candidate.parent?.full_name.toLowerCase() === upstream.full_name.toLowerCase();
}

async function findExistingFork(client: GithubClient, upstream: GithubRepository, me: string, call: CallOptions): Promise<GithubRepository | null> {
  const candidate = await client.findRepository(me, upstream.name, call);
  return candidate && isForkOf(candidate, upstream) ? candidate : null;
}

/** Forks are created asynchronously: poll until the fork answers and has the upstream's default branch. */
async function waitForFork(client: GithubClient, created: GithubRepository, upstream: GithubRepository, options: ResolveRepositoryOptions): Promise<GithubRepository> {
  const attempts = options.forkPolling?.attempts ?? 12;
  const maxDelay = options.forkPolling?.maxDelayMs ?? 5000;
  let delay = options.forkPolling?.delayMs ?? 500;
  const call: CallOptions = { signal: options.signal };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const fork = await client.findRepository(created.owner, created.name, call);
    // An empty upstream has no branch to wait for.
    if (fork && (upstream.size === 0 || (await client.branchState(fork.owner, fork.name, fork.default_branch, call)) === "present")) return fork;
    if (attempt < attempts) {
      await sleep(delay, undefined, options.signal ? { signal: options.signal } : {});
      delay = Math.min(delay * 2, maxDelay);
    }
  }
  throw new NexusError("timeout", `GitHub has not finished creating the fork ${created.full_name} of ${upstream.full_name}`, {
    details: { phase: "fork", fork: created.full_name, upstream: upstream.full_name, attempts },
    hint: "Forks of large repositories can take a few minutes; run the command again shortly (the fork is reused).",
  });
}
