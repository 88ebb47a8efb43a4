// The GitHub step of `workspace create`: who the user is, which repository they work on
// (theirs, or their fork — created and waited for when needed), and an optional local
// clone with `origin` = that repository and `upstream` = the original.
import { existsSync } from "node:fs";
import { NexusError, Secret } from "@nexus/core";
import {
  cloneLocally,
  createGithubClient,
  parseRepoRef,
  resolveRepository,
  tokenFromEnv,
  type GithubClient,
  type ResolvedRepository,
} from "@nexus/github";
import { readCredentials } from "../../home.js";
import { git } from "./source.js";

export interface GithubToken {
  token: Secret;
  /** `NEXUS_GITHUB_TOKEN`, `GITHUB_TOKEN` or `credentials.json`. */
  source: string;
}

/** The user's GitHub token: the environment first, then what `nexus auth github` stored. */
export function githubToken(env: Readonly<Record<string, string | undefined>>, home: string): GithubToken | undefined {
  const fromEnv = tokenFromEnv(env);
  if (fromEnv) return { token: fromEnv.token, source: fromEnv.variable };
  const stored = readCredentials(home).github?.token;
  return stored ? { token: new Secret(stored), source: "credentials.json" } : undefined;
}

export function requireGithubToken(env: Readonly<Record<string, string | undefined>>, home: string): GithubToken {
  const found = githubToken(env, home);
  if (!found) {
    throw new NexusError("auth_required", "a GitHub repository needs a GitHub login, and none was found", {
      details: { looked_in: ["NEXUS_GITHUB_TOKEN", "GITHUB_TOKEN", "credentials.json"] },
      hint: "Run `nexus auth github` (or set NEXUS_GITHUB_TOKEN), then run this command again.",
    });
  }
  return found;
}

export interface GithubRepoResult {
  resolved: ResolvedRepository;
  login: string;
  token: Secret;
  client: GithubClient;
}

/** Parses the reference, identifies the user and decides on their repository or fork. */
export async function resolveGithubRepo(input: {
  ref: string;
  branch?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  home: string;
  signal?: AbortSignal | undefined;
}): Promise<GithubRepoResult> {
  const { token } = requireGithubToken(input.env, input.home);
  const client = createGithubClient({ token, env: input.env });
  const ref = parseRepoRef(input.ref, { host: client.endpoints.host });
  const me = await client.getAuthenticatedUser({ signal: input.signal });
  const resolved = await resolveRepository(client, ref, me.login, { branch: input.branch, signal: input.signal });
  return { resolved, login: me.login, token, client };
}

/**
 * git's environment for one clone over https: the token as an Authorization header for
 * the GitHub host only, passed in environment variables (never written to .git/config).
 */
export function gitTokenEnv(env: Readonly<Record<string, string | undefined>>, webUrl: string, token: Secret): Record<string, string | undefined> {
  const basic = Buffer.from(`x-access-token:${token.reveal()}`).toString("base64");
  return { ...env, GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: `http.${webUrl}/.extraheader`, GIT_CONFIG_VALUE_0: `AUTHORIZATION: basic ${basic}` };
}

export type LocalCheckout = { dir: string; cloned: boolean };

/**
 * Clones into `dir`, or reuses it when it already is a checkout of the same repository
 * (running create twice, or from inside the clone).
 */
export async function ensureLocalCheckout(input: {
  dir: string;
  resolved: ResolvedRepository;
  token: Secret;
  webUrl: string;
  env: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal | undefined;
}): Promise<LocalCheckout> {
  const { dir, resolved } = input;
  if (existsSync(dir)) {
    const origin = await git(["remote", "get-url", "origin"], dir, input.env).catch(() => undefined);
    if (origin !== undefined && [resolved.clone_url, resolved.ssh_url].some((url) => sameRepoUrl(url, origin))) return { dir, cloned: false };
  }
  const env = resolved.clone_url.startsWith(`${input.webUrl}/`) ? gitTokenEnv(input.env, input.webUrl, input.token) : input.env;
  await cloneLocally({
    dir,
    origin: resolved.clone_url,
    upstream: resolved.upstream?.clone_url,
    branch: resolved.branch,
    env,
    ...(input.signal ? { signal: input.signal } : {}),
  });
  return { dir, cloned: true };
}

function sameRepoUrl(a: string, b: string): boolean {
  const norm = (url: string) => url.trim().replace(/\/+$/, "").replace(/\.git$/i, "").toLowerCase();
  return norm(a) === norm(b);
}
