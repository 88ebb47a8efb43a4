// The GitHub REST client: octokit with its retry plugin (5xx and network failures,
// with backoff) and throttling plugin (secondary rate limits honour Retry-After). A
// primary rate limit is never slept through — the reset can be an hour away — and is
// reported as rate_limited with the reset time instead. Every failure is a NexusError.
import { randomUUID } from "node:crypto";
import Bottleneck from "bottleneck";
import { Octokit } from "octokit";
import { NexusError, Secret, silentLogger, type ErrorCode, type Logger } from "@nexus/core";
import { githubEndpoints, type GithubEndpoints } from "./endpoints.js";
import { toGithubError } from "./errors.js";

export interface GithubClientOptions {
  /** The user's token; omitted for anonymous calls (public data only). */
  token?: Secret | undefined;
  /** Default: env NEXUS_GITHUB_API_URL, else https://api.github.com. Enterprise: https://HOST/api/v3. */
  apiUrl?: string | undefined;
  /** Default: derived from apiUrl (github.com, or the Enterprise host). */
  webUrl?: string | undefined;
  env?: Readonly<Record<string, string | undefined>>;
  log?: Logger;
  /** Retries after 5xx, network failures and secondary rate limits (default 3). */
  retries?: number;
  /** The backoff unit: retry n waits n² units; Retry-After: s waits s units (default 1000 ms). */
  backoffUnitMs?: number;
  /** Longest Retry-After (seconds) a secondary rate limit is waited out before it is reported (default 60). */
  maxRetryAfterSeconds?: number;
  /** Least time between two writes (POST, PATCH…) of this client: GitHub asks for one second (default 1000 ms). */
  writeSpacingMs?: number;
  /** Time limit per call, retries included (default 30 s). */
  timeoutMs?: number;
  userAgent?: string;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

export interface GithubUser {
  login: string;
  id: number;
  name: string | null;
  /** Scopes of a classic token (x-oauth-scopes); undefined for fine-grained tokens. */
  scopes: string[] | undefined;
}

export interface GithubSshKey {
  id: number;
  key: string;
  title: string;
}

export interface GithubRepositoryRef {
  owner: string;
  name: string;
  full_name: string;
  clone_url: string;
  ssh_url: string;
}

export interface GithubRepository extends GithubRepositoryRef {
  id: number;
  private: boolean;
  fork: boolean;
  default_branch: string;
  html_url: string;
  /** Size in KiB; 0 for an empty repository. */
  size: number;
  /** The caller's permissions; absent for anonymous calls. */
  permissions?: { admin: boolean; push: boolean; pull: boolean };
  /** The repository this one was forked from. */
  parent?: GithubRepositoryRef;
}

export type RefState = "present" | "missing" | "empty";

export interface GithubClient {
  readonly endpoints: GithubEndpoints;
  /** The underlying octokit, for calls this client does not wrap. */
  readonly octokit: Octokit;
  getAuthenticatedUser(call?: CallOptions): Promise<GithubUser>;
  listSshKeys(call?: CallOptions): Promise<GithubSshKey[]>;
  /** POST /user/keys; a 422 (key already in use) surfaces as invalid_request with GitHub's `errors`. */
  createSshKey(input: { title: string; key: string }, call?: CallOptions): Promise<GithubSshKey>;
  /** repo_not_found when missing or invisible to the token. */
  getRepository(owner: string, name: string, call?: CallOptions): Promise<GithubRepository>;
  /** null when missing. */
  findRepository(owner: string, name: string, call?: CallOptions): Promise<GithubRepository | null>;
  /** POST /repos/{owner}/{repo}/forks: the fork (GitHub creates it asynchronously). */
  createFork(owner: string, name: string, call?: CallOptions): Promise<GithubRepository>;
  /** Whether refs/heads/<branch> exists (`empty` when the repository has no commits yet). */
  branchState(owner: string, name: string, branch: string, call?: CallOptions): Promise<RefState>;
}

const DO_NOT_RETRY = [400, 401, 403, 404, 409, 410, 422, 429, 451];

export function createGithubClient(options: GithubClientOptions = {}): GithubClient {
  const endpoints = githubEndpoints({ apiUrl: options.apiUrl, webUrl: options.webUrl, env: options.env });
  const log = options.log ?? silentLogger;
  const unit = options.backoffUnitMs ?? 1000;
  const retries = options.retries ?? 3;
  const maxRetryAfter = options.maxRetryAfterSeconds ?? 60;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const octokit = new Octokit({
    ...(options.token ? { auth: options.token.reveal() } : {}),
    baseUrl: endpoints.apiUrl,
    userAgent: options.userAgent ?? "nexus",
    log: {
      debug: (message: string) => log.debug(message),
      info: (message: string) => log.info(message),
      warn: (message: string) => log.warn(message),
      error: (message: string) => log.error(message),
    },
    retry: { retries, retryAfterBaseValue: unit, doNotRetry: DO_NOT_RETRY },
    throttle: {
      // Its own limiter key: clients in one process never queue behind each other.
      id: randomUUID(),
      write: new Bottleneck.Group({ maxConcurrent: 1, minTime: options.writeSpacingMs ?? 1000 }),
      retryAfterBaseValue: unit,
      onRateLimit: () => false,
      onSecondaryRateLimit: (retryAfter: number, _options: unknown, _octokit: unknown, retryCount: number) =>
        retryCount < retries && retryAfter <= maxRetryAfter,
    },
  });

  async function call<T>(action: string, run: (signal: AbortSignal) => Promise<T>, callOptions: CallOptions | undefined, context: { notFound?: ErrorCode; details?: Record<string, unknown> } = {}): Promise<T> {
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = callOptions?.signal ? AbortSignal.any([callOptions.signal, deadline]) : deadline;
    try {
      return await run(signal);
    } catch (error) {
      if (callOptions?.signal?.aborted) throw callOptions.signal.reason;
      if (deadline.aborted) {
        throw new NexusError("timeout", `${action}: GitHub did not answer within ${Math.round(timeoutMs / 1000)} s`, {
          cause: error,
          details: { phase: "github", api_url: endpoints.apiUrl, ...context.details },
        });
      }
      throw toGithubError(error, { action, apiUrl: endpoints.apiUrl, ...context });
    }
  }

  const getRepository = (owner: string, name: string, callOptions?: CallOptions): Promise<GithubRepository> =>
    call(`GET /repos/${owner}/${name}`, async (signal) => {
      const { data } = await octokit.request("GET /repos/{owner}/{repo}", { owner, repo: name, request: { signal } });
      return toRepository(data);
    }, callOptions, { notFound: "repo_not_found", details: { owner, name } });

  return {
    endpoints,
    octokit,
    getAuthenticatedUser: (callOptions) =>
      call("GET /user", async (signal) => {
        const response = await octokit.request("GET /user", { request: { signal } });
        const scopes = response.headers["x-oauth-scopes"];
        return {
          login: response.data.login,
          id: Number(response.data.id),
          name: response.data.name ?? null,
          scopes: typeof scopes === "string" ? scopes.split(",").map((s) => s.trim()).filter(Boolean) : undefined,
        };
      }, callOptions),
    listSshKeys: (callOptions) =>
      call("GET /user/keys", async (signal) => {
        const keys = await octokit.paginate(octokit.rest.users.listPublicSshKeysForAuthenticatedUser, { per_page: 100, request: { signal } });
        return keys.map((k) => ({ id: Number(k.id), key: k.key, title: k.title }));
      }, callOptions),
    createSshKey: (input, callOptions) =>
      call("POST /user/keys", async (signal) => {
        const { data } = await octokit.request("POST /user/keys", { title: input.title, key: input.key, request: { signal } });
        return { id: Number(data.id), key: data.key, title: data.title };
      }, callOptions),
    getRepository,
    findRepository: async (owner, name, callOptions) => {
      try {
        return await getRepository(owner, name, callOptions);
      } catch (error) {
        if ((error as NexusError).code === "repo_not_found") return null;
        throw error;
      }
    },
    createFork: (owner, name, callOptions) =>
      call(`POST /repos/${owner}/${name}/forks`, async (signal) => {
        const { data } = await octokit.request("POST /repos/{owner}/{repo}/forks", { owner, repo: name, request: { signal } });
        return toRepository(data);
      }, callOptions, { notFound: "repo_not_found", details: { owner, name } }),
    branchState: async (owner, name, branch, callOptions) => {
      try {
        await call(`GET /repos/${owner}/${name}/git/ref/heads/${branch}`, (signal) =>
          octokit.request("GET /repos/{owner}/{repo}/git/ref/{ref}", { owner, repo: name, ref: `heads/${branch}`, request: { signal } }),
        callOptions);
        return "present";
      } catch (error) {
        const status = (error as NexusError).details?.status;
        if (status === 404) return "missing";
        if (status === 409) return "empty";
        throw error;
      }
    },
  };
}

// GitHub ids are int64 in the description (bigint in octokit's types); real ones fit a double.
interface RepositoryData {
  id: number | bigint;
  name: string;
  full_name: string;
  owner: { login: string };
  private: boolean;
  fork: boolean;
  default_branch?: string;
  html_url: string;
  clone_url?: string;
  ssh_url?: string;
  size?: number;
  permissions?: { admin: boolean; push: boolean; pull: boolean };
  parent?: { name: string; full_name: string; owner: { login: string }; clone_url?: string; ssh_url?: string };
}

function toRepository(data: RepositoryData): GithubRepository {
  return {
    id: Number(data.id),
    owner: data.owner.login,
    name: data.name,
    full_name: data.full_name,
    private: data.private,
    fork: data.fork,
    default_branch: data.default_branch ?? "main",
    html_url: data.html_url,
    clone_url: data.clone_url ?? `${data.html_url}.git`,
    ssh_url: data.ssh_url ?? "",
    size: data.size ?? 0,
    ...(data.permissions ? { permissions: { admin: data.permissions.admin, push: data.permissions.push, pull: data.permissions.pull } } : {}),
    ...(data.parent
      ? {
          parent: {
            owner: data.parent.owner.login,
            name: data.parent.name,
            full_name: data.parent.full_name,
            clone_url: data.parent.clone_url ?? "",
            ssh_url: data.parent.ssh_url ?? "",
          },
        }
      : {}),
  };
}
