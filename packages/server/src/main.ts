#!/usr/bin/env node
// `nexus-server`: the coordination server as a process (SPEC §7 `nexus server start`).
// Flags are parsed here; everything else is startServer's. SIGINT/SIGTERM shut it down
// gracefully; a second signal exits at once.
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { NexusError, createLogger, isNexusError, toNexusError } from "@nexus/core";
import { DEFAULT_HOST, DEFAULT_PORT, startServer } from "./start.js";
import { SERVER_VERSION } from "./version.js";

const USAGE = `Usage: nexus-server [options]

  --port N                 port to listen on (default ${DEFAULT_PORT})
  --host ADDR              address to listen on (default ${DEFAULT_HOST})
  --data DIR               data directory: nexus.db, admin-token, agent/ (default $NEXUS_HOME/server)
  --tls-cert FILE          PEM certificate chain (with --tls-key: serve HTTPS)
  --tls-key FILE           PEM private key
  --with-agent             run an agent in this process on the local engine (single-machine mode)
  --single-machine         local user and local repositories without the in-process agent
  --provider NAME          the in-process agent's provider (default: lxc if Incus/LXD answers, else docker)
  --github-api-url URL     GitHub API base URL (env NEXUS_GITHUB_API_URL; default https://api.github.com)
  --allowed-repo-host H    another repository host to accept (host or host:port); repeatable
  --rate-limit N           API requests per minute per token (default 600; 0 turns the limit off)
  --log-level LEVEL        trace, debug, info, warn, error (env NEXUS_LOG_LEVEL; default info)
  -V, --version            print the version
  -h, --help               print this help

Environment: NEXUS_HOME (default ~/.nexus), NEXUS_ADMIN_TOKEN (default: <data>/admin-token, generated),
NEXUS_AGENT_LABELS (k=v,k2=v2: labels the in-process agent puts on every container).`;

function fail(error: unknown): never {
  const nexus = isNexusError(error) ? error : toNexusError(error);
  process.stderr.write(`nexus-server: ${nexus.message}\n${nexus.hint ? `hint: ${nexus.hint}\n` : ""}`);
  process.exit(nexus.exitCode);
}

/** NEXUS_AGENT_LABELS=`k=v,k2=v2`; the agent checks the keys. */
function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new NexusError("invalid_request", `NEXUS_AGENT_LABELS: ${JSON.stringify(pair)} is not key=value`);
    labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return labels;
}

function parsePort(text: string, flag: string): number {
  const port = Number(text);
  if (!/^\d{1,5}$/.test(text) || port < 0 || port > 65535) throw new NexusError("invalid_request", `${flag} ${JSON.stringify(text)} is not a port number`);
  return port;
}

function parseRateLimit(text: string): { max: number; windowMs: number } | false {
  const max = Number(text);
  if (!/^\d{1,9}$/.test(text)) throw new NexusError("invalid_request", `--rate-limit ${JSON.stringify(text)} is not a number of requests`);
  return max === 0 ? false : { max, windowMs: 60_000 };
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        port: { type: "string" },
        host: { type: "string" },
        data: { type: "string" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "with-agent": { type: "boolean" },
        "single-machine": { type: "boolean" },
        provider: { type: "string" },
        "github-api-url": { type: "string" },
        "allowed-repo-host": { type: "string", multiple: true },
        "log-level": { type: "string" },
        "rate-limit": { type: "string" },
        version: { type: "boolean", short: "V" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
  } catch (error) {
    throw new NexusError("invalid_request", (error as Error).message, { hint: "Run `nexus-server --help` for usage." });
  }
  const flags = parsed.values;
  if (flags.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (flags.version) {
    process.stdout.write(`${SERVER_VERSION}\n`);
    return;
  }
  if (Boolean(flags["tls-cert"]) !== Boolean(flags["tls-key"])) {
    throw new NexusError("invalid_request", "--tls-cert and --tls-key go together", { hint: "Give both files, or neither for plain HTTP." });
  }
  const env = process.env;
  const nexusHome = env.NEXUS_HOME ? resolve(env.NEXUS_HOME) : join(homedir(), ".nexus");
  const log = createLogger({ level: flags["log-level"] ?? env.NEXUS_LOG_LEVEL ?? "info", base: { component: "server" } });
  const server = await startServer({
    port: flags.port === undefined ? DEFAULT_PORT : parsePort(flags.port, "--port"),
    host: flags.host ?? DEFAULT_HOST,
    dataDir: resolve(flags.data ?? join(nexusHome, "server")),
    ...(flags["tls-cert"] && flags["tls-key"] ? { tls: { certFile: resolve(flags["tls-cert"]), keyFile: resolve(flags["tls-key"]) } } : {}),
    withAgent: Boolean(flags["with-agent"]),
    ...(flags["single-machine"] ? { singleMachine: true } : {}),
    ...(flags.provider ? { provider: flags.provider } : {}),
    ...(flags["github-api-url"] ?? env.NEXUS_GITHUB_API_URL ? { githubApiUrl: flags["github-api-url"] ?? env.NEXUS_GITHUB_API_URL } : {}),
    ...(flags["allowed-repo-host"] ? { allowedRepoHosts: flags["allowed-repo-host"] } : {}),
    ...(env.NEXUS_ADMIN_TOKEN ? { adminToken: env.NEXUS_ADMIN_TOKEN } : {}),
    ...(env.NEXUS_AGENT_LABELS ? { agentLabels: parseLabels(env.NEXUS_AGENT_LABELS) } : {}),
    ...(flags["rate-limit"] === undefined ? {} : { rateLimit: parseRateLimit(flags["rate-limit"]) }),
    nexusHome,
    log,
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    log.info(`${signal}: shutting down`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch(fail);
