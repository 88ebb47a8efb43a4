// One agent under test: the fake server, a FakeProvider that records every file written
// into a container, an SSH banner on a free port (the fake's containers have no sshd),
// scripted answers for what the agent runs in a container (git clone from the bundle,
// the supervisor), captured logs and a temp data dir.
import type { Test } from "tap";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { createNexus, defineProvider, startAgentRuntime, type AgentCommandInput, type AgentRuntime, type AgentRuntimeOptions, type ExecResult, type ProviderInstance } from "@nexus/core";
import { createFakeProvider, createLogCapture, generateTestKeyPair, type FakeProviderKit, type LogCapture } from "@nexus/testkit";
import type { SupervisorResult, SupervisorStatus, WorkspaceFile } from "../../../src/agent/supervisor/types.js";
import { startFakeServer, type FakeServer } from "./fake-server.js";

export interface WrittenFile {
  path: string;
  data: Buffer;
}

export type SupervisorScript = (args: string[], workspace: WorkspaceFile) => SupervisorResult;

export interface AgentHarness {
  server: FakeServer;
  kit: FakeProviderKit;
  writes: WrittenFile[];
  capture: LogCapture;
  dataDir: string;
  /** A new port answering with an SSH banner (the fake refuses two containers on one port). */
  sshPort(): Promise<number>;
  publicKey: string;
  /** Every supervisor command run, as argv after the script path. */
  supervisorCalls: string[][];
  /** The arguments of every install-and-clone exec: [sh, -c, script, name, supervisor, workspace.json, bundle, dir, branch, origin, upstream]. */
  cloneCalls: string[][];
  /** How the fake supervisor answers; default: every service healthy. */
  supervisor: SupervisorScript;
  start(overrides?: Partial<AgentRuntimeOptions>): Promise<AgentRuntime>;
  /** The workspace file the agent gave the container last, parsed. */
  workspaceFile(): WorkspaceFile;
}

export function healthyStatus(workspace: WorkspaceFile): SupervisorStatus {
  const at = new Date().toISOString();
  return {
    pid: 4242, state: "running", started_at: at, updated_at: at,
    services: Object.fromEntries(workspace.services.map((s) => [s.name, {
      status: "running", health: "healthy", pid: 100, restarts: 0, started_at: at, healthy_at: at, last_check: at, last_error: null, exit_code: null, failed: false,
    }])),
  } as SupervisorStatus;
}

async function sshBanner(): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => socket.end("SSH-2.0-FakeSSH_1.0\r\n"));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { port: (server.address() as { port: number }).port, server };
}

/** `# v2 git bundle\n<sha> refs/heads/<branch>\n…`: the commit the bundle's branch points at. */
function bundleCommit(bundle: string | undefined): string | undefined {
  return bundle?.split("\n")[1]?.split(" ")[0];
}

export async function agentHarness(t: Test): Promise<AgentHarness> {
  const server = await startFakeServer();
  const kit = createFakeProvider();
  const banners: Server[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), "nexus-agent-"));
  const capture = createLogCapture();
  const writes: WrittenFile[] = [];
  const runtimes: AgentRuntime[] = [];
  const recording = defineProvider({
    name: "fake",
    apiVersion: 1,
    capabilities: { exec: true, logs: true, snapshot: true },
    async create(ctx) {
      const inner = (await kit.descriptor.create(ctx, undefined)) as ProviderInstance;
      return new Proxy(inner, {
        get(target, prop) {
          if (prop === "writeFile") {
            return (...args: Parameters<ProviderInstance["writeFile"]>) => {
              writes.push({ path: args[1], data: Buffer.from(args[2]) });
              return target.writeFile(...args);
            };
          }
          const value = Reflect.get(target, prop) as unknown;
          return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
    },
  });

  const harness: AgentHarness = {
    server,
    kit,
    writes,
    capture,
    dataDir,
    async sshPort() {
      const banner = await sshBanner();
      banners.push(banner.server);
      return banner.port;
    },
    publicKey: generateTestKeyPair("agent-test").publicKey,
    supervisorCalls: [],
    cloneCalls: [],
    supervisor: (args, workspace) => (args[0] === "start" || args[0] === "wait" || args[0] === "up" ? { ok: true, status: healthyStatus(workspace) } : { ok: true }),
    workspaceFile() {
      const call = harness.cloneCalls.at(-1);
      if (!call) throw new Error("no workspace file was installed");
      return JSON.parse(call[5]!) as WorkspaceFile;
    },
    async start(overrides = {}) {
      const runtime = await startAgentRuntime({
        server: server.url,
        joinToken: server.joinToken,
        name: "node-a",
        registry: createNexus({ providers: [recording] }),
        providerName: "fake",
        sshHost: "127.0.0.1",
        sshPorts: [2222, 2299],
        dataDir,
        log: capture.log,
        allowLocalRepos: true,
        pollWaitSeconds: 1,
        serviceWatchIntervalMs: 200,
        stopGraceMs: 2_000,
        ...overrides,
      });
      runtimes.push(runtime);
      return runtime;
    },
  };

  kit.control.onExec(({ argv, readFile }): ExecResult | undefined => {
    if (argv[0] === "sh" && argv[3] === "nexus-clone") {
      harness.cloneCalls.push(argv);
      const commit = bundleCommit(readFile(argv[6]!));
      return commit ? { exitCode: 0, stdout: `${commit}\n`, stderr: "" } : { exitCode: 1, stdout: "", stderr: "fatal: not a bundle\n" };
    }
    if (argv[0] === "node" && argv[1] === "/opt/nexus/supervisor.mjs") {
      const args = argv.slice(2);
      harness.supervisorCalls.push(args);
      return { exitCode: 0, stdout: `${JSON.stringify(harness.supervisor(args, harness.workspaceFile()))}\n`, stderr: "" };
    }
    return undefined;
  });

  t.teardown(async () => {
    for (const runtime of runtimes) await runtime.stop();
    await server.close();
    for (const banner of banners) banner.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return harness;
}

let counter = 0;
export function ids(): { command: string; workspace: string } {
  counter++;
  return { command: `cmd_test${counter}${Date.now()}`, workspace: `ws_test${counter}${Date.now()}` };
}

export async function createCommand(h: AgentHarness, input: { id: string; workspace: string; url: string; name?: string; config?: Record<string, unknown>; cloneToken?: string; branch?: string }): Promise<AgentCommandInput> {
  return {
    id: input.id,
    type: "create",
    workspace_id: input.workspace,
    created_at: new Date().toISOString(),
    payload: {
      provider: "fake",
      name: input.name ?? "demo",
      ssh_port: await h.sshPort(),
      authorized_keys: [h.publicKey],
      labels: { "nexus.test-run": "agent-fast" },
      repo: { owner: "octo", name: "demo", url: input.url, ...(input.branch ? { branch: input.branch } : {}) },
      ...(input.cloneToken ? { clone_token: input.cloneToken } : {}),
      ...(input.config ? { config: input.config } : {}),
    },
  } as AgentCommandInput;
}
