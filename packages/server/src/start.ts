// startServer: the server as a process runs it — SQLite under the data directory,
// listening (optionally with TLS), and in single-machine mode the local user, its token
// file, and the in-process agent on the local container engine.
import { readFileSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import * as core from "@nexus/core";
import {
  NexusError,
  createNexus,
  createServices,
  toWorkspaceName,
  type Logger,
  type NexusServices,
  type PluginRegistry,
  type ServicesOptions,
} from "@nexus/core";
import { dockerProvider } from "@nexus/provider-docker";
import { lxcProvider } from "@nexus/provider-lxc";
import { buildServer } from "./app.js";
import { ensurePrivateDir, loadOrCreateAdminToken, readLocalKeys, readLocalToken, writeLocalToken } from "./local-files.js";
import { openSqliteStore } from "./store/index.js";
import { SERVER_VERSION } from "./version.js";

export const DEFAULT_PORT = 3001;
export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_AGENT_SSH_PORTS: [number, number] = [2222, 2299];

export interface StartServerOptions {
  port?: number;
  host?: string;
  /** Holds nexus.db, admin-token and (with the agent) agent/. */
  dataDir: string;
  tls?: { certFile: string; keyFile: string };
  /** Runs an agent in this process on the local provider (implies singleMachine). */
  withAgent?: boolean;
  /** A local user and token file; `file://` and local-path repositories. Default: withAgent. */
  singleMachine?: boolean;
  githubApiUrl?: string;
  /** Default: `<dataDir>/admin-token`, generated on first start. */
  adminToken?: string;
  allowedRepoHosts?: readonly string[];
  log: Logger;
  /** Where single-machine mode writes server/local-token (default NEXUS_HOME or ~/.nexus). */
  nexusHome?: string;
  /** The in-process agent's providers; default Incus/LXD and Docker. */
  registry?: PluginRegistry;
  /** Force the in-process agent's provider instead of probing (lxc first, then docker). */
  provider?: string;
  agentSshPorts?: [number, number];
  /** Labels the in-process agent puts on every container it creates (e.g. a test run's id). */
  agentLabels?: Readonly<Record<string, string>>;
  /** Tuning passed to the services (timeouts, limits). */
  services?: Partial<Omit<ServicesOptions, "store" | "log">>;
  /** Graceful shutdown waits this long for requests in flight (default 10 s). */
  closeGraceMs?: number;
  /** Requests per token per window (default 600 a minute); false turns the limit off. */
  rateLimit?: { max: number; windowMs: number } | false;
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  services: NexusServices;
  adminToken: string;
  /** Set in single-machine mode. */
  localToken?: string;
  /** Set with the in-process agent. */
  agent?: { nodeId: string; provider: string };
  /** Stops the agent, finishes requests in flight, stops the periodic work, closes the database. */
  close(): Promise<void>;
}

type StartAgentRuntime = (options: Record<string, unknown>) => Promise<{ nodeId: string; stop(): Promise<void> }>;

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { log } = options;
  const singleMachine = options.singleMachine ?? Boolean(options.withAgent);
  const nexusHome = options.nexusHome ?? process.env.NEXUS_HOME ?? join(homedir(), ".nexus");
  ensurePrivateDir(options.dataDir);
  const adminToken = options.adminToken ?? loadOrCreateAdminToken(options.dataDir);
  const store = openSqliteStore({ file: join(options.dataDir, "nexus.db") });
  const services = createServices({
    ...options.services,
    store,
    log,
    version: SERVER_VERSION,
    ...(options.githubApiUrl === undefined ? {} : { githubApiUrl: options.githubApiUrl }),
    ...(options.allowedRepoHosts === undefined ? {} : { allowedRepoHosts: options.allowedRepoHosts }),
    singleMachine,
    adminToken,
    ...(singleMachine ? { localKeys: async () => readLocalKeys(nexusHome) } : {}),
  });
  const https = options.tls ? { cert: readFileSync(options.tls.certFile), key: readFileSync(options.tls.keyFile) } : undefined;
  const app = buildServer({ services, closeStore: true, ...(https ? { https } : {}), ...(options.rateLimit === undefined ? {} : { rateLimit: options.rateLimit }) });
  try {
    await app.listen({ port: options.port ?? DEFAULT_PORT, host: options.host ?? DEFAULT_HOST });
  } catch (error) {
    await app.close();
    throw listenError(error, options);
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : (options.port ?? DEFAULT_PORT);
  const url = `${https ? "https" : "http"}://${clientHost(options.host ?? DEFAULT_HOST)}:${port}`;
  log.info({ url, data: options.dataDir, single_machine: singleMachine }, `nexus server listening on ${url}`);

  const running: RunningServer = { url, app, services, adminToken, close: () => app.close() };
  try {
    if (singleMachine) {
      const { user, apiToken } = await services.users.ensureLocalUser(readLocalToken(nexusHome)?.token);
      writeLocalToken(nexusHome, { url, token: apiToken, user_id: user.user_id, username: user.username });
      running.localToken = apiToken;
    }
    if (options.withAgent) {
      const registry = options.registry ?? createNexus({ providers: [lxcProvider, dockerProvider] });
      const agentDir = join(options.dataDir, "agent");
      const provider = options.provider ?? (await chooseProvider(registry, agentDir, log));
      const { token } = await services.nodes.createJoinToken({ description: "in-process agent", ttl_seconds: 3600 });
      const startAgentRuntime = (core as unknown as Record<string, unknown>).startAgentRuntime as StartAgentRuntime | undefined;
      if (typeof startAgentRuntime !== "function") {
        throw new NexusError("internal_error", "this build of @nexus/core has no agent runtime (startAgentRuntime), so --with-agent cannot run", {
          hint: "Run a separate agent with `nexus agent start`, or upgrade nexus.",
        });
      }
      const agent = await startAgentRuntime({
        server: url,
        joinToken: token,
        name: toWorkspaceName(hostname().split(".")[0] ?? "local"),
        registry,
        providerName: provider,
        sshHost: "127.0.0.1",
        sshPorts: options.agentSshPorts ?? DEFAULT_AGENT_SSH_PORTS,
        dataDir: agentDir,
        log,
        allowLocalRepos: true,
        ...(options.agentLabels ? { labels: options.agentLabels } : {}),
        githubHost: services.options.githubHost,
        allowedRepoHosts: services.options.allowedRepoHosts,
      });
      running.agent = { nodeId: agent.nodeId, provider };
      running.close = async () => {
        await agent.stop();
        await closeGracefully(app, options.closeGraceMs);
        await registry.dispose();
      };
    } else {
      running.close = () => closeGracefully(app, options.closeGraceMs);
    }
  } catch (error) {
    await app.close();
    throw error;
  }
  return running;
}

/** Closes the server; requests still running after the grace period are cut off. */
async function closeGracefully(app: FastifyInstance, graceMs = 10_000): Promise<void> {
  const closed = app.close();
  const timer = setTimeout(() => app.server.closeAllConnections(), graceMs);
  timer.unref();
  try {
    await closed;
  } finally {
    clearTimeout(timer);
  }
}

/** Incus/LXD when its socket answers, else Docker. */
async function chooseProvider(registry: PluginRegistry, agentDir: string, log: Logger): Promise<string> {
  const reasons: string[] = [];
  for (const name of ["lxc", "docker"]) {
    if (!registry.has("provider", name)) continue;
    try {
      const instance = await registry.instance("provider", name, { log, env: process.env, dataDir: join(agentDir, "plugins", name) });
      const health = await instance.health({ signal: AbortSignal.timeout(5_000), log });
      if (health.ok) {
        log.info({ provider: name, version: health.version }, `in-process agent uses the ${name} provider${health.version ? ` (${health.version})` : ""}`);
        return name;
      }
      reasons.push(`${name}: ${health.reason ?? "not healthy"}`);
    } catch (error) {
      reasons.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new NexusError("provider_unavailable", `no container engine answers (${reasons.join("; ")})`, {
    details: { reasons },
    hint: "Start Incus (or LXD) or Docker, then run `nexus doctor`.",
  });
}

/** The address local clients use: a wildcard listen address is reached over loopback. */
function clientHost(host: string): string {
  if (host === "0.0.0.0" || host === "::" || host === "") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

function listenError(error: unknown, options: StartServerOptions): NexusError {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${options.host ?? DEFAULT_HOST}:${options.port ?? DEFAULT_PORT}`;
  if (code === "EADDRINUSE") {
    return new NexusError("invalid_request", `cannot listen on ${where}: the port is in use`, {
      details: { code },
      hint: "Stop the other server (`nexus server stop`) or choose another port with --port.",
      cause: error,
    });
  }
  return new NexusError("internal_error", `cannot listen on ${where}: ${error instanceof Error ? error.message : String(error)}`, { details: { code }, cause: error });
}
