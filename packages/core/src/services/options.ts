// What the coordination services are configured with, and the defaults (SPEC §5, §6).
import type { Logger } from "../logger.js";
import type { Store } from "../contracts/store.js";
import type { Clock } from "./clock.js";

export const DEFAULT_GITHUB_API_URL = "https://api.github.com";

export interface ServicesOptions {
  store: Store;
  clock?: Clock;
  log?: Logger;
  /** The server's version, reported by /health. */
  version?: string;
  /** GitHub (Enterprise) REST API base URL; default https://api.github.com. */
  githubApiUrl?: string;
  /** Host of clone URLs; default derived from githubApiUrl (api.github.com → github.com, HOST/api/v3 → HOST). */
  githubHost?: string;
  /** More repository hosts (`host` or `host:port`) an admin allows. */
  allowedRepoHosts?: readonly string[];
  /** Plain http:// repository URLs to allowed hosts (local git servers in tests). */
  allowHttpRepos?: boolean;
  /** Single-machine mode: a local user, and `file://` / local-path repositories. */
  singleMachine?: boolean;
  /** The admin bearer token; admin routes are refused without one. */
  adminToken?: string;
  /**
   * Single-machine mode: the local user's public keys (the CLI's key, registered
   * locally instead of uploaded). Read before each create of the local user.
   */
  localKeys?: () => Promise<readonly string[]>;
  /** A workspace no node can take fails with no_node_available after this long (default 60 s). */
  scheduleTimeoutMs?: number;
  /** Creates a node works on at once; more wait in a queue (default 4). */
  maxConcurrentCreatesPerNode?: number;
  /** Seconds between agent heartbeats (default 10). */
  heartbeatIntervalSeconds?: number;
  /** Missed heartbeats before a node is offline (default 3). */
  missedHeartbeats?: number;
  /** Containers without a workspace row younger than this are spared by reconcile (default 10 min). */
  orphanGraceMs?: number;
  /** How long a request waits for an agent's answer to a logs command (default 30 s). */
  commandTimeoutMs?: number;
  /** A delivered command not completed within this is delivered again (default 2 min; the agent de-duplicates by id). */
  redeliverAfterMs?: number;
  /** GitHub token verifications are cached this long, by token hash (default 5 min). */
  githubCacheTtlMs?: number;
  /** Time limit of one GitHub API call (default 10 s). */
  githubTimeoutMs?: number;
}

export interface ResolvedServicesOptions {
  version: string;
  githubApiUrl: string;
  githubHost: string;
  allowedRepoHosts: readonly string[];
  allowHttpRepos: boolean;
  singleMachine: boolean;
  adminToken: string | undefined;
  scheduleTimeoutMs: number;
  maxConcurrentCreatesPerNode: number;
  heartbeatIntervalSeconds: number;
  missedHeartbeats: number;
  orphanGraceMs: number;
  commandTimeoutMs: number;
  redeliverAfterMs: number;
  githubCacheTtlMs: number;
  githubTimeoutMs: number;
}

/** `https://api.github.com` → `github.com`; `https://ghe.example.com/api/v3` → `ghe.example.com`; else the URL's host. */
export function githubHostFromApiUrl(apiUrl: string): string {
  const url = new URL(apiUrl);
  if (url.hostname === "api.github.com") return "github.com";
  const host = url.host.toLowerCase();
  return host.startsWith("api.") && url.pathname.replace(/\/$/, "") === "" ? host.slice(4) : host;
}

export function resolveServicesOptions(options: ServicesOptions): ResolvedServicesOptions {
  const githubApiUrl = (options.githubApiUrl ?? DEFAULT_GITHUB_API_URL).replace(/\/+$/, "");
  return {
    version: options.version ?? "0.0.0",
    githubApiUrl,
    githubHost: options.githubHost ?? githubHostFromApiUrl(githubApiUrl),
    allowedRepoHosts: options.allowedRepoHosts ?? [],
    allowHttpRepos: options.allowHttpRepos ?? false,
    singleMachine: options.singleMachine ?? false,
    adminToken: options.adminToken === "" ? undefined : options.adminToken,
    scheduleTimeoutMs: options.scheduleTimeoutMs ?? 60_000,
    maxConcurrentCreatesPerNode: options.maxConcurrentCreatesPerNode ?? 4,
    heartbeatIntervalSeconds: options.heartbeatIntervalSeconds ?? 10,
    missedHeartbeats: options.missedHeartbeats ?? 3,
    orphanGraceMs: options.orphanGraceMs ?? 10 * 60_000,
    commandTimeoutMs: options.commandTimeoutMs ?? 30_000,
    redeliverAfterMs: options.redeliverAfterMs ?? 2 * 60_000,
    githubCacheTtlMs: options.githubCacheTtlMs ?? 5 * 60_000,
    githubTimeoutMs: options.githubTimeoutMs ?? 10_000,
  };
}
