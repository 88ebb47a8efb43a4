// What the node agent is started with (the `nexus-agent` flags, or the server's
// single-machine mode over loopback), checked once at start.
import { NexusError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { PluginRegistry } from "../registry.js";
import { isValidHostname, isValidName } from "../wire/validation.js";

export interface AgentCapacity {
  max_workspaces: number;
  cpu?: number;
  memory_bytes?: number;
  disk_bytes?: number;
}

export interface AgentRuntimeOptions {
  /** Base URL of the coordination server. */
  server: string;
  /** `nxj_…`: needed unless a node identity is given or stored in dataDir. */
  joinToken?: string;
  /** A node identity issued earlier (with nodeId); otherwise the one stored in dataDir is used. */
  nodeToken?: string;
  nodeId?: string;
  /** The node's name (`^[a-z0-9][a-z0-9-]{0,62}$`). */
  name: string;
  registry: PluginRegistry;
  /** The provider plugin workspaces are created with (registered in `registry`). */
  providerName: string;
  /** The address users' SSH connects to. */
  sshHost: string;
  /** The node ports the server allocates workspace SSH ports from, inclusive. */
  sshPorts: [number, number];
  /** agent.json (node identity, 0600), the command journal, the repository mirror cache. */
  dataDir: string;
  log: Logger;
  /** Single-machine mode: `file://` and local-path repositories are allowed. */
  allowLocalRepos?: boolean;
  capacity?: Partial<AgentCapacity>;
  /** Host of accepted repository URLs (default github.com). */
  githubHost?: string;
  /** More repository hosts (`host` or `host:port`) an admin allows. */
  allowedRepoHosts?: readonly string[];
  /** Plain http:// repository URLs to allowed hosts (local git servers). */
  allowHttpRepos?: boolean;
  /** PEM certificates added to every workspace's CA bundle (intercepting proxies). */
  caBundle?: string;
  /** Labels put on every container this agent creates, besides the ones it always sets. */
  labels?: Readonly<Record<string, string>>;
  /** Commands run at once (default 16). */
  concurrency?: number;
  /** How often the services of running workspaces are looked at (default 5 s). */
  serviceWatchIntervalMs?: number;
  /** How long stop() lets commands in flight finish before cancelling them (default 15 s). */
  stopGraceMs?: number;
  /** Seconds a long-poll may be held by the server (default 25). */
  pollWaitSeconds?: number;
}

export interface ResolvedAgentOptions extends AgentRuntimeOptions {
  capacity: AgentCapacity;
  githubHost: string;
  concurrency: number;
  serviceWatchIntervalMs: number;
  stopGraceMs: number;
  pollWaitSeconds: number;
}

const LABEL_KEY = /^[a-z0-9.-]{1,128}$/;

function invalid(message: string, details: Record<string, unknown>): NexusError {
  return new NexusError("invalid_config", `agent: ${message}`, { details });
}

export function resolveAgentOptions(options: AgentRuntimeOptions): ResolvedAgentOptions {
  if (!isValidName(options.name)) throw invalid(`node name ${JSON.stringify(options.name)} must be 1-63 lower-case letters, digits or '-'`, { name: options.name });
  if (!isValidHostname(options.sshHost)) throw invalid(`--ssh-host ${JSON.stringify(options.sshHost)} must be a DNS name or an IPv4 address`, { sshHost: options.sshHost });
  const [start, end] = options.sshPorts;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 1 || end > 65535 || start > end) {
    throw invalid(`--ssh-ports ${start}-${end} is not a port range (1-65535, start <= end)`, { sshPorts: options.sshPorts });
  }
  try {
    new URL(options.server);
  } catch {
    throw invalid(`--server ${JSON.stringify(options.server)} is not a URL`, { server: options.server });
  }
  if ((options.nodeId === undefined) !== (options.nodeToken === undefined)) {
    throw invalid("nodeId and nodeToken go together", {});
  }
  for (const key of Object.keys(options.labels ?? {})) {
    if (!LABEL_KEY.test(key)) throw invalid(`label key ${JSON.stringify(key)} must be lower-case letters, digits, '.' and '-'`, { key });
  }
  options.registry.get("provider", options.providerName);
  const maxWorkspaces = options.capacity?.max_workspaces ?? end - start + 1;
  return {
    ...options,
    capacity: { ...options.capacity, max_workspaces: Math.max(1, Math.min(10_000, maxWorkspaces)) },
    githubHost: options.githubHost ?? "github.com",
    concurrency: Math.max(1, options.concurrency ?? 16),
    serviceWatchIntervalMs: options.serviceWatchIntervalMs ?? 5_000,
    stopGraceMs: options.stopGraceMs ?? 15_000,
    pollWaitSeconds: options.pollWaitSeconds ?? 25,
  };
}
