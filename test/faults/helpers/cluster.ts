// The coordination server and a node agent as two separate OS processes (node + tsx on
// the sources: `nexus-server` and `nexus-agent` exactly as their bins run them), so the
// fault suites can SIGKILL either one and start it again on the same data directories.
// Containers carry the e2e harness's `nexus.test-run` label and are swept at the end.
import type { Test } from "tap";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { promisify } from "node:util";
import { LABELS, createClient, createNexus, silentLogger, type Handle, type NexusClient, type PluginDescriptor } from "@nexus/core";
import { lxcProvider } from "@nexus/provider-lxc";
import { dockerProvider } from "@nexus/provider-docker";
import { TEST_RUN, sweep, until, type ProviderName } from "../../e2e/helpers/stack.js";

export { TEST_RUN, until, type ProviderName };

const ROOT = join(import.meta.dirname, "..", "..", "..");
const SERVER_MAIN = join(ROOT, "packages", "server", "src", "main.ts");
const AGENT_MAIN = join(ROOT, "packages", "agent", "src", "main.ts");
const TSX = ["--import=tsx", "--conditions=nexus-source"];
const DESCRIPTORS: Record<ProviderName, PluginDescriptor> = { lxc: lxcProvider as PluginDescriptor, docker: dockerProvider as PluginDescriptor };

export interface Proc {
  child: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
}

export interface ServerOptions {
  /** The server's data directory (nexus.db, admin-token); default `<root>/server`. */
  dataDir?: string;
}

export interface ServerProcess {
  root: string;
  dataDir: string;
  dbFile: string;
  nexusHome: string;
  url: string;
  adminToken: string;
  logFile: string;
  proc: Proc | undefined;
  /** The single-machine local user (the token the server writes into NEXUS_HOME). */
  user: NexusClient;
  admin: NexusClient;
  start(): Promise<void>;
  /** SIGKILL (no goodbye) or SIGTERM; waits for the exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

export interface Cluster extends ServerProcess {
  provider: ProviderName;
  nodeName: string;
  agentDir: string;
  agentLogFile: string;
  agent: Proc | undefined;
  startAgent(): Promise<void>;
  killAgent(signal: NodeJS.Signals): Promise<void>;
  /** The node, as the server's admin API sees it. */
  node(): Promise<{ node_id: string; status: string } | undefined>;
}

function launch(args: string[], env: NodeJS.ProcessEnv, logFile: string): Proc {
  const log = createWriteStream(logFile, { flags: "a" });
  const child = spawn(process.execPath, [...TSX, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, pid: child.pid!, exited };
}

async function stop(proc: Proc | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const exited = await Promise.race([proc.exited.then(() => true), new Promise<false>((r) => (timer = setTimeout(() => r(false), 30_000)))]);
  clearTimeout(timer);
  if (!exited) {
    proc.child.kill("SIGKILL");
    await proc.exited;
  }
}

/** A port free on loopback right now (the server keeps it across restarts, so agents find it again). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === "object" && address ? address.port : 0;
}

/** The server process alone (`--single-machine`: a local user, local repositories). */
export async function startServerProcess(t: Test, options: ServerOptions = {}): Promise<ServerProcess> {
  const server = await serverProcess(mkdtempSync(join(tmpdir(), "nexus-faults-")), options);
  t.teardown(async () => {
    await stop(server.proc, "SIGKILL");
    if (!process.env.NEXUS_E2E_KEEP) rmSync(server.root, { recursive: true, force: true });
  });
  return server;
}

async function serverProcess(root: string, options: ServerOptions): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? join(root, "server");
  const nexusHome = join(root, "home");
  mkdirSync(nexusHome, { recursive: true });
  const port = await freePort();
  const adminToken = `nxa_faults_${randomUUID().replaceAll("-", "")}`;
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(root, "server.log");
  const tokenFile = join(nexusHome, "server", "local-token");
  const env = { ...process.env, NEXUS_HOME: nexusHome, NEXUS_ADMIN_TOKEN: adminToken, NEXUS_LOG_LEVEL: "debug" };

  const server: ServerProcess = {
    root, dataDir, dbFile: join(dataDir, "nexus.db"), nexusHome, url, adminToken, logFile,
    proc: undefined,
    user: undefined as unknown as NexusClient,
    admin: createClient({ server: url, token: adminToken }),
    async start() {
      rmSync(tokenFile, { force: true });
      const proc = launch([SERVER_MAIN, "--port", String(port), "--host", "127.0.0.1", "--data", dataDir, "--single-machine"], env, logFile);
      server.proc = proc;
      await until(async () => {
        if (proc.child.exitCode !== null) throw new Error(`the server exited with ${proc.child.exitCode}; see ${logFile}`);
        return existsSync(tokenFile) && (await server.admin.health({ timeoutMs: 2_000 }));
      }, "the server to answer /health", 60_000);
      const { token } = JSON.parse(readFileSync(tokenFile, "utf8")) as { token: string };
      server.user = createClient({ server: url, token });
    },
    kill: (signal) => stop(server.proc, signal),
  };
  try {
    await server.start();
  } catch (error) {
    await stop(server.proc, "SIGKILL");
    throw error;
  }
  return server;
}

/** Server + agent as two processes on a real engine. */
export async function startCluster(t: Test, provider: ProviderName, sshPorts: [number, number]): Promise<Cluster> {
  const server = await serverProcess(mkdtempSync(join(tmpdir(), "nexus-faults-")), {});
  const cluster = server as Cluster;
  // One teardown, in order: the agent, the engine's containers, the server, the files.
  // Every step runs even when one before it failed (a failed sweep must not leave the server running).
  t.teardown(async () => {
    const steps = [
      () => stop(cluster.agent, "SIGTERM"),
      () => sweepWithRetry(provider),
      () => stop(server.proc, "SIGKILL"),
      async () => {
        if (!process.env.NEXUS_E2E_KEEP) rmSync(server.root, { recursive: true, force: true });
      },
    ];
    const failures: unknown[] = [];
    for (const step of steps) await step().catch((error: unknown) => void failures.push(error));
    if (failures.length > 0) throw failures[0];
  });
  const nodeName = `faults-${provider}-${randomUUID().slice(0, 8)}`;
  const agentDir = join(server.root, "agent");
  const agentLogFile = join(server.root, "agent.log");
  const { token: joinToken } = await server.admin.createNodeToken({ description: "fault suite agent", ttl_seconds: 3600 });
  const env = { ...process.env, NEXUS_JOIN_TOKEN: joinToken };
  Object.assign(cluster, {
    provider, nodeName, agentDir, agentLogFile, agent: undefined,
    async node() {
      return (await server.admin.listNodes({ timeoutMs: 5_000 })).nodes.find((n) => n.name === nodeName);
    },
    async startAgent() {
      cluster.agent = launch(
        [
          AGENT_MAIN, "--server", server.url, "--provider", provider, "--name", nodeName, "--ssh-host", "127.0.0.1",
          "--ssh-ports", `${sshPorts[0]}-${sshPorts[1]}`, "--data", agentDir, "--allow-local-repos",
          "--label", `${LABELS.testRun}=${TEST_RUN}`, "--log-level", "debug",
        ],
        env,
        agentLogFile,
      );
    },
    killAgent: (signal: NodeJS.Signals) => stop(cluster.agent, signal),
  } satisfies Partial<Cluster>);
  await cluster.startAgent();
  await until(async () => (await cluster.node())?.status === "online", "the agent to be online", 90_000);
  return cluster;
}

/** The engine may refuse a delete for a moment (a container still shutting down): a few tries. */
async function sweepWithRetry(provider: ProviderName): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await sweep(provider);
      return;
    } catch (error) {
      if (attempt >= 3) throw error;
      await sleep(2_000);
    }
  }
}

/** Containers of this test run on the engine. */
export async function listContainers(provider: ProviderName): Promise<Handle[]> {
  const registry = createNexus({ providers: [DESCRIPTORS[provider]] });
  const dir = mkdtempSync(join(tmpdir(), "nexus-faults-list-"));
  try {
    const instance = await registry.instance("provider", provider, { log: silentLogger, env: process.env, dataDir: dir });
    const handles = await instance.list({ signal: AbortSignal.timeout(60_000), log: silentLogger });
    return handles.filter((h) => h.labels[LABELS.testRun] === TEST_RUN);
  } finally {
    await registry.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The engine's own record of a workspace's container (its log), for a failure message. */
export async function engineLog(provider: ProviderName, workspaceId: string): Promise<string> {
  const handle = (await listContainers(provider)).find((h) => h.workspaceId === workspaceId);
  if (!handle) return `no container for ${workspaceId}`;
  const argv = provider === "lxc" ? ["incus", "info", "--show-log", handle.id] : ["docker", "logs", "--tail", "50", handle.id];
  const { stdout, stderr } = await promisify(execFile)(argv[0]!, argv.slice(1), { timeout: 30_000, maxBuffer: 4 * 1024 * 1024 }).catch((error: { stdout?: string; stderr?: string; message: string }) => ({
    stdout: error.stdout ?? "",
    stderr: error.stderr ?? error.message,
  }));
  return `${handle.id}:\n${`${stdout}${stderr}`.split("\n").slice(-40).join("\n")}`;
}

/** `PRAGMA integrity_check` (opens read-write, so a WAL left by a killed server is recovered first). */
export function integrityCheck(dbFile: string): string {
  const db = new DatabaseSync(dbFile, { timeout: 10_000 });
  try {
    return (db.prepare("PRAGMA integrity_check").all() as { integrity_check: string }[]).map((r) => r.integrity_check).join("; ");
  } finally {
    db.close();
  }
}

export interface DbWorkspace {
  workspace_id: string;
  status: string;
  ssh_port: number | null;
  node_id: string | null;
}

export interface PortAllocation {
  node_id: string;
  port: number;
  workspace_id: string;
}

/** What the database holds about workspaces and SSH ports (read while the server runs: WAL readers never block it). */
export function readAllocations(dbFile: string): { workspaces: DbWorkspace[]; ports: PortAllocation[] } {
  const db = new DatabaseSync(dbFile, { readOnly: true, timeout: 10_000 });
  try {
    return {
      workspaces: db.prepare("SELECT workspace_id, status, ssh_port, node_id FROM workspaces").all() as unknown as DbWorkspace[],
      ports: db.prepare("SELECT node_id, port, workspace_id FROM port_allocations").all() as unknown as PortAllocation[],
    };
  } finally {
    db.close();
  }
}

/** Problems with SSH port bookkeeping: allocations without a holder, holders without an allocation, duplicates. */
export function portProblems({ workspaces, ports }: ReturnType<typeof readAllocations>): string[] {
  const problems: string[] = [];
  const byId = new Map(workspaces.map((w) => [w.workspace_id, w]));
  const seen = new Set<string>();
  for (const a of ports) {
    const key = `${a.node_id}:${a.port}`;
    if (seen.has(key)) problems.push(`port ${key} allocated twice`);
    seen.add(key);
    const holder = byId.get(a.workspace_id);
    if (!holder || holder.status === "deleted") problems.push(`port ${key} held for ${a.workspace_id}, which is gone`);
    else if (holder.ssh_port !== a.port) problems.push(`port ${key} allocated to ${a.workspace_id}, which records port ${holder.ssh_port}`);
  }
  for (const w of workspaces) {
    if (w.ssh_port === null || w.status === "deleted") continue;
    if (!ports.some((a) => a.workspace_id === w.workspace_id && a.port === w.ssh_port)) problems.push(`${w.workspace_id} (${w.status}) records port ${w.ssh_port} without an allocation`);
  }
  return problems;
}

/** VmRSS of a process in bytes (Linux). */
export function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"));
  const kb = line ? Number(/(\d+)/.exec(line)?.[1]) : Number.NaN;
  return kb * 1024;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same kill schedule. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
