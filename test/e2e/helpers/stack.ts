// A whole nexus on this machine for end-to-end tests: the coordination server
// (startServer, SQLite in a temp dir), a GitHub API emulator for user registration, a
// token-protected git HTTP server, and the real `nexus-agent` process on a real engine.
// Everything the agent creates carries `nexus.test-run=<TEST_RUN>` and is swept at the end.
import type { Test } from "tap";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, type WriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  LABELS,
  createClient,
  createLogger,
  createNexus,
  isNexusError,
  silentLogger,
  type NexusClient,
  type PluginDescriptor,
  type WorkspaceDetail,
  type WorkspaceState,
} from "@nexus/core";
import { startGithubEmulator, type GithubEmulator } from "@nexus/github/testing";
import { startServer, type RunningServer } from "@nexus/server";
import { lxcProvider } from "@nexus/provider-lxc";
import { dockerProvider } from "@nexus/provider-docker";
import { startGitHttpServer, type GitHttpServer } from "../../../packages/core/test/agent/helpers/git-http.js";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "..", "..", "..");
const AGENT_MAIN = join(ROOT, "packages", "agent", "src", "main.ts");

export const TEST_RUN = `e2e-${randomUUID()}`;
export type ProviderName = "lxc" | "docker";
const DESCRIPTORS: Record<ProviderName, PluginDescriptor> = { lxc: lxcProvider as PluginDescriptor, docker: dockerProvider as PluginDescriptor };

export interface TestUser {
  login: string;
  client: NexusClient;
  keyFile: string;
  publicKey: string;
}

export interface AgentProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
}

export interface Stack {
  root: string;
  provider: ProviderName;
  /** The server's data dir (nexus.db). */
  serverDir: string;
  /** The agent's data dir (identity, journal, mirrors). */
  agentDir: string;
  serverLogFile: string;
  agentLogFile: string;
  github: GithubEmulator;
  git: GitHttpServer;
  /** The password the git server demands (a canary: it must never be stored anywhere). */
  gitToken: string;
  server: RunningServer;
  admin: NexusClient;
  agent: AgentProcess;
  restartServer(): Promise<void>;
  /** SIGKILL (no goodbye) or SIGTERM; then start it again with the same data dir. */
  restartAgent(signal: NodeJS.Signals): Promise<void>;
  user(login: string): Promise<TestUser>;
}

export async function startStack(t: Test, provider: ProviderName, sshPorts: [number, number]): Promise<Stack> {
  const root = mkdtempSync(join(tmpdir(), `nexus-e2e-${provider}-`));
  const serverDir = join(root, "server");
  const agentDir = join(root, "agent");
  const gitRoot = join(root, "served");
  mkdirSync(gitRoot, { recursive: true });
  const serverLogFile = join(root, "server.log");
  const agentLogFile = join(root, "agent.log");
  const serverLog: WriteStream = createWriteStream(serverLogFile, { flags: "a" });
  const gitToken = `canary-${randomUUID()}`;
  const git = await startGitHttpServer(gitRoot, gitToken);
  // The emulator's repositories (and the forks it makes) are cloned from the git server,
  // as a forge's are: <gitRoot>/<owner>/<name>.git behind the token.
  const github = await startGithubEmulator({ cloneUrl: (owner, name) => `${git.url}/${owner}/${name}.git` });

  let port = 0;
  const boot = async () => {
    const server = await startServer({
      port,
      host: "127.0.0.1",
      dataDir: serverDir,
      singleMachine: true,
      nexusHome: join(root, "home"),
      githubApiUrl: github.apiUrl,
      allowedRepoHosts: [git.host],
      services: { allowHttpRepos: true },
      log: createLogger({ level: "debug" }, serverLog),
    });
    port = Number(new URL(server.url).port);
    return server;
  };
  let server = await boot();
  const admin = createClient({ server: server.url, token: server.adminToken });
  const { token: joinToken } = await admin.createNodeToken({ description: "e2e agent", ttl_seconds: 3600 });

  const launch = (): AgentProcess => {
    const log = createWriteStream(agentLogFile, { flags: "a" });
    const child = spawn(
      process.execPath,
      [
        "--import=tsx", "--conditions=nexus-source", AGENT_MAIN,
        "--server", server.url, "--provider", provider, "--name", `e2e-${provider}`, "--ssh-host", "127.0.0.1",
        "--ssh-ports", `${sshPorts[0]}-${sshPorts[1]}`, "--data", agentDir, "--allow-local-repos", "--allow-http-repos",
        "--allow-repo-host", git.host, "--label", `${LABELS.testRun}=${TEST_RUN}`, "--log-level", "debug",
      ],
      { cwd: ROOT, env: { ...process.env, NEXUS_JOIN_TOKEN: joinToken }, stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    return { child, exited };
  };
  const online = async () => {
    await until(async () => (await admin.listNodes()).nodes.find((n) => n.name === `e2e-${provider}` && n.status === "online"), "the agent to be online", 60_000);
  };

  const stack: Stack = {
    root, provider, serverDir, agentDir, serverLogFile, agentLogFile, github, git, gitToken, server, admin,
    agent: launch(),
    async restartServer() {
      await stack.server.close();
      server = await boot();
      stack.server = server;
    },
    async restartAgent(signal) {
      stack.agent.child.kill(signal);
      await stack.agent.exited;
      stack.agent = launch();
      await online();
    },
    async user(login) {
      const account = github.user(login) ?? github.addUser(login);
      const githubToken = github.issueToken(login);
      const keyDir = join(root, "keys", login);
      mkdirSync(keyDir, { recursive: true });
      const keyFile = join(keyDir, "id_ed25519");
      await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `${login}@e2e`, "-f", keyFile]);
      const publicKey = readFileSync(`${keyFile}.pub`, "utf8").trim();
      const registered = await createClient({ server: server.url, token: githubToken }).registerGithub({ github_username: login, github_id: account.id, ssh_pubkey: publicKey });
      return { login, client: createClient({ server: server.url, token: registered.api_token }), keyFile, publicKey };
    },
  };
  await online();

  t.teardown(async () => {
    stack.agent.child.kill("SIGTERM");
    const stopped = await Promise.race([stack.agent.exited, new Promise((r) => setTimeout(r, 30_000))]);
    if (stopped === undefined) stack.agent.child.kill("SIGKILL");
    await stack.server.close().catch(() => undefined);
    await sweep(provider);
    await git.close();
    await github.close();
    serverLog.end();
    if (!process.env.NEXUS_E2E_KEEP) rmSync(root, { recursive: true, force: true });
  });
  return stack;
}

/** Removes every container of this test run on the engine. */
export async function sweep(provider: ProviderName): Promise<number> {
  const registry = createNexus({ providers: [DESCRIPTORS[provider]] });
  const dir = mkdtempSync(join(tmpdir(), "nexus-e2e-sweep-"));
  try {
    const instance = await registry.instance("provider", provider, { log: silentLogger, env: process.env, dataDir: dir });
    const op = () => ({ signal: AbortSignal.timeout(120_000), log: silentLogger });
    const mine = (await instance.list(op())).filter((h) => h.labels[LABELS.testRun] === TEST_RUN);
    for (const handle of mine) await instance.destroy(handle, op());
    return mine.length;
  } finally {
    await registry.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function until<T>(read: () => Promise<T | undefined | false>, what: string, ms: number): Promise<T> {
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
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls the workspace until it reaches one of `wanted`; another settled state fails at once, saying why. */
export async function waitForStatus(user: TestUser, id: string, wanted: readonly WorkspaceState[], ms = 180_000): Promise<WorkspaceDetail> {
  const settled: readonly WorkspaceState[] = ["running", "stopped", "error"];
  const end = Date.now() + ms;
  for (;;) {
    const detail = await user.client.getWorkspace(id);
    if (wanted.includes(detail.status)) return detail;
    if (settled.includes(detail.status) || Date.now() > end) {
      const why = detail.error ? `: ${detail.error.code} in ${detail.error.phase ?? "?"}: ${detail.error.message}` : "";
      throw new Error(`workspace ${id} is ${detail.status}, expected ${wanted.join(" or ")}${why}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether the workspace is gone (GET answers 404). */
export async function isGone(user: TestUser, id: string): Promise<boolean> {
  try {
    await user.client.getWorkspace(id);
    return false;
  } catch (error) {
    if (isNexusError(error) && error.code === "workspace_not_found") return true;
    throw error;
  }
}

/** OpenSSH as dev, pinned to the host key the server reported. */
export async function sshAsDev(user: TestUser, detail: WorkspaceDetail, command: string[], root: string): Promise<string> {
  const knownHosts = join(root, `known_hosts-${detail.workspace_id}`);
  const { writeFileSync } = await import("node:fs");
  writeFileSync(knownHosts, `[${detail.ssh.host}]:${detail.ssh.port} ${detail.ssh.host_key}\n`);
  const { stdout } = await run(
    "ssh",
    [
      "-i", user.keyFile, "-p", String(detail.ssh.port),
      "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
      "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
      `${detail.ssh.user}@${detail.ssh.host}`, "--", ...command,
    ],
    { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}
