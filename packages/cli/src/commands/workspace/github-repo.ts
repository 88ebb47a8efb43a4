// The GitHub step of `workspace create`: who the user is, which repository they work on
// (theirs, or their fork — created and waited for when needed), and an optional local
// clone with `origin` = that repository and `upstream` = the original.
import { existsSync } from "node:fs";
import type { Secret } from "@nexus/core";
import { cloneLocally, parseRepoRef, resolveRepository, type GithubClient, type ResolvedRepository } from "@nexus/github";
import type { CommandContext } from "../../io.js";
import { githubSession } from "../auth.js";
import { git } from "./source.js";

export interface GithubRepoResult {
  resolved: ResolvedRepository;
  login: string;
  token: Secret;
  client: GithubClient;
}

/**
 * Parses the reference, identifies the user (the login `nexus auth github` made, the
 * environment, `gh`, or the device flow) and decides on their repository or fork.
 */
export async function resolveGithubRepo(ctx: CommandContext, input: { ref: string; branch?: string | undefined; signal?: AbortSignal | undefined }): Promise<GithubRepoResult> {
  const session = await githubSession(ctx);
  const ref = parseRepoRef(input.ref, { host: session.endpoints.host });
  const resolved = await resolveRepository(session.client, ref, session.user.login, { branch: input.branch, signal: input.signal });
  return { resolved, login: session.user.login, token: session.token, client: session.client };
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
