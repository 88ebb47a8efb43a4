// A whole nexus on this machine for the benchmark: `nexus-server` (single-machine mode,
// SQLite on disk) and one `nexus-agent` per engine, each its own process built from the
// current sources (build.ts), the local user's SSH key, and local git repositories. Every
// container the agents create carries `nexus.test-run=<run id>`; close() removes them all,
// and is safe to call after a partial start.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { LABELS, createClient, createNexus, silentLogger, type NexusClient, type PluginDescriptor } from "@nexus/core";
import { dockerProvider } from "@nexus/provider-docker";
import { lxcProvider } from "@nexus/provider-lxc";
import { DAEMON_NODE_OPTIONS } from "../../packages/cli/src/daemon-node-options.js";
import type { Programs } from "./build.js";

const run = promisify(execFile);
const GIT_IDENTITY = ["-c", "user.name=nexus bench", "-c", "user.email=bench@nexus.invalid", "-c", "commit.gpgsign=false"];

export type EngineName = "lxc" | "docker";
export const ENGINES: readonly EngineName[] = ["lxc", "docker"];
const DESCRIPTORS: Record<EngineName, PluginDescriptor> = { lxc: lxcProvider as PluginDescriptor, docker: dockerProvider as PluginDescriptor };
/** Node ports for workspace SSH, per engine: away from the defaults and the e2e suites' ranges. */
const SSH_PORTS: Record<EngineName, [number, number]> = { lxc: [26000, 26039], docker: [26100, 26139] };

export interface Repo {
  owner: string;
  name: string;
  /** A local path (single-machine mode accepts those). */
  url: string;
}

export interface BenchProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
}

export interface Stack {
  runId: string;
  root: string;
  url: string;
  adminToken: string;
  user: NexusClient;
  admin: NexusClient;
  /** The user's private key (its public half is the local user's registered key). */
  keyFile: string;
  nexusHome: string;
  server: BenchProcess;
  agents: Partial<Record<EngineName, BenchProcess>>;
  repo(name: string, files: Record<string, string>): Promise<Repo>;
  close(): Promise<void>;
}

export interface StackOptions {
  runId: string;
  programs: Programs;
  engines: readonly EngineName[];
  logLevel: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export async function until<T>(read: () => Promise<T | undefined | false>, what: string, ms: number, everyMs = 100): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await read();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function launch(name: string, program: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): BenchProcess {
  const log = createWriteStream(logFile, { flags: "a" });
  // As `nexus server start` / `nexus agent start` run them (node, the CLI's Node.js options, the
  // program): the pid is the process whose memory is measured.
  const child = spawn(process.execPath, [...DAEMON_NODE_OPTIONS, program, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  child.once("exit", () => log.end());
  return { name, child, logFile };
}

async function stopProcess(proc: BenchProcess | undefined, graceMs: number): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = once(proc.child, "exit");
  proc.child.kill("SIGTERM");
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Removes every container of this run on the engine (nexus-managed or not, e.g. the peer's). */
export async function sweep(engine: EngineName, runId: string): Promise<number> {
  if (engine === "docker") {
    const { stdout } = await run("docker", ["ps", "-aq", "--filter", `label=${LABELS.testRun}=${runId}`]).catch(() => ({ stdout: "" }));
    const ids = stdout.split("\n").filter(Boolean);
    if (ids.length) await run("docker", ["rm", "-f", "-v", ...ids]);
    return ids.length;
  }
  const registry = createNexus({ providers: [DESCRIPTORS[engine]] });
  const dir = mkdtempSync(join(tmpdir(), "nexus-bench-sweep-"));
  try {
    const instance = await registry.instance("provider", engine, { log: silentLogger, env: process.env, dataDir: dir });
    if (!(await instance.health({ signal: AbortSignal.timeout(5_000), log: silentLogger })).ok) return 0;
    const op = () => ({ signal: AbortSignal.timeout(120_000), log: silentLogger });
    const mine = (await instance.list(op())).filter((h) => h.labels[LABELS.testRun] === runId);
    await Promise.all(mine.map((handle) => instance.destroy(handle, op())));
    return mine.length;
  } finally {
    await registry.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const { runId, programs } = options;
  const root = mkdtempSync(join(tmpdir(), "nexus-bench-"));
  const nexusHome = join(root, "home");
  const adminToken = `nexus-bench-admin-${runId}`;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;

  // The local user's key: the server reads NEXUS_HOME/server/authorized_keys in single-machine mode.
  const keyFile = join(root, "keys", "id_ed25519");
  mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 });
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "nexus-bench", "-f", keyFile]);
  mkdirSync(join(nexusHome, "server"), { recursive: true, mode: 0o700 });
  writeFileSync(join(nexusHome, "server", "authorized_keys"), readFileSync(`${keyFile}.pub`));

  const stack: Stack = {
    runId,
    root,
    url,
    adminToken,
    keyFile,
    nexusHome,
    admin: createClient({ server: url, token: adminToken }),
    user: undefined as unknown as NexusClient,
    server: launch(
      "nexus-server",
      programs.server,
      ["--port", String(port), "--host", "127.0.0.1", "--data", join(root, "server"), "--single-machine", "--log-level", options.logLevel,
        // The default (600 a minute per token) would turn the API measure's 200 req/s into 429s; it stays on, raised.
        "--rate-limit", "1000000"],
      { NEXUS_HOME: nexusHome, NEXUS_ADMIN_TOKEN: adminToken },
      join(root, "server.log"),
    ),
    agents: {},
    async repo(name, files) {
      const dir = join(root, "repos", name);
      mkdirSync(dir, { recursive: true });
      await run("git", ["init", "--quiet", "--initial-branch", "main", dir]);
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), content);
      }
      await run("git", ["-C", dir, "add", "--all"]);
      await run("git", ["-C", dir, ...GIT_IDENTITY, "commit", "--quiet", "-m", "initial commit"]);
      return { owner: "bench", name, url: dir };
    },
    async close() {
      await Promise.all(Object.values(stack.agents).map((agent) => stopProcess(agent, 20_000)));
      await stopProcess(stack.server, 15_000);
      const errors: unknown[] = [];
      for (const engine of ENGINES) await sweep(engine, runId).catch((error: unknown) => errors.push(error));
      if (!process.env.NEXUS_BENCH_KEEP) rmSync(root, { recursive: true, force: true });
      if (errors.length) throw new AggregateError(errors, "cleaning up the benchmark's containers failed");
    },
  };

  try {
    const health = await until(async () => stack.server.child.exitCode === null ? stack.admin.health() : Promise.reject(new Error(`nexus-server exited; see ${stack.server.logFile}`)), "nexus-server to answer", 30_000, 50);
    if (health.status !== "ok") throw new Error(`nexus-server is ${health.status}`);
    const local = await until(async () => JSON.parse(readFileSync(join(nexusHome, "server", "local-token"), "utf8")) as { token: string }, "the local token file", 10_000, 50);
    stack.user = createClient({ server: url, token: local.token });
    const { token: joinToken } = await stack.admin.createNodeToken({ description: "nexus bench", ttl_seconds: 3600 });
    for (const engine of options.engines) {
      const [first, last] = SSH_PORTS[engine];
      stack.agents[engine] = launch(
        `nexus-agent (${engine})`,
        programs.agent,
        [
          "--server", url, "--provider", engine, "--name", `bench-${engine}`, "--ssh-host", "127.0.0.1", "--ssh-ports", `${first}-${last}`,
          "--data", join(root, `agent-${engine}`), "--allow-local-repos", "--label", `${LABELS.testRun}=${runId}`, "--log-level", options.logLevel,
        ],
        { NEXUS_JOIN_TOKEN: joinToken },
        join(root, `agent-${engine}.log`),
      );
    }
    await until(async () => {
      for (const [engine, agent] of Object.entries(stack.agents)) {
        if (agent.child.exitCode !== null) throw new Error(`nexus-agent (${engine}) exited; see ${agent.logFile}`);
      }
      const nodes = (await stack.admin.listNodes()).nodes;
      return options.engines.every((engine) => nodes.some((n) => n.name === `bench-${engine}` && n.status === "online"));
    }, "the agents to be online", 60_000);
    return stack;
  } catch (error) {
    await stack.close().catch(() => undefined);
    throw error;
  }
}
