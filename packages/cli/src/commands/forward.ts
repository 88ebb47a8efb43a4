// `nexus workspace forward <ws>`: every exposed service on its local port, through ONE
// in-process SSH connection (ssh2) — no OpenSSH, no config file, the pinned host key
// checked against what the workspace's node reported. Runs in the foreground until
// Ctrl-C; `startForwarding` is the part tests drive directly.
import { execFile } from "node:child_process";
import { readFile, readdir, readlink } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import ssh2 from "ssh2";
import { NexusError, type WorkspaceDetail } from "@nexus/core";
import { forwardsFromWorkspace, hostAlias } from "@nexus/editors";
import type { CliIO, CommandContext } from "../io.js";
import { action } from "../program.js";
import { table } from "../render.js";
import { serverSession } from "../session.js";
import { findIdentityFile } from "./editor.js";
import { withInterrupt, workspaceRef } from "./workspace/common.js";

/** The error for a workspace that cannot be reached because of its state, with the command that fixes it. */
export function assertRunning(detail: WorkspaceDetail): void {
  if (detail.status === "running") return;
  const name = detail.workspace_name;
  const status = detail.status;
  const hints: Partial<Record<WorkspaceDetail["status"], string>> = {
    stopped: `Start it with \`nexus workspace start ${name}\`, then connect again.`,
    stopping: `Wait for it to stop, then \`nexus workspace start ${name}\`.`,
    error: `See what failed with \`nexus workspace status ${name}\` and \`nexus workspace logs ${name}\`.`,
    deleting: "It is being deleted; create a new one with `nexus workspace create`.",
    deleted: "It was deleted; create a new one with `nexus workspace create`.",
  };
  const why = status === "error" && detail.error ? ` (${detail.error.code}: ${detail.error.message})` : "";
  throw new NexusError("invalid_transition", `workspace ${name} is ${status}, not running${why}`, {
    details: { workspace: name, status },
    hint: hints[status] ?? `Wait until it runs with \`nexus workspace status ${name} --watch\`, then try again.`,
  });
}

export interface PortOwner {
  pid: number;
  command: string;
}

const LISTEN = "0A";

/** Socket inodes listening on `port` (any address), from /proc/net/tcp and tcp6. */
async function listeningInodes(port: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await readFile(file, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (!local || fields[3] !== LISTEN) continue;
      if (Number.parseInt(local.slice(local.lastIndexOf(":") + 1), 16) === port && fields[9] && fields[9] !== "0") inodes.add(fields[9]);
    }
  }
  return inodes;
}

/** Linux: the process holding one of `inodes` open, by walking /proc/<pid>/fd. */
async function procOwner(port: number): Promise<PortOwner | undefined> {
  const inodes = await listeningInodes(port);
  if (inodes.size === 0) return undefined;
  const wanted = new Set([...inodes].map((inode) => `socket:[${inode}]`));
  const pids = (await readdir("/proc").catch(() => [] as string[])).filter((entry) => /^\d+$/.test(entry));
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
      if (wanted.has(link)) {
        const command = (await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")).trim();
        return { pid: Number(pid), command: command || "unknown" };
      }
    }
  }
  return undefined;
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 3000 }, (error, stdout) => resolve(error && !stdout ? "" : stdout));
  });
}

/** `ss -Hltnp`: `LISTEN … 127.0.0.1:3000 … users:(("node",pid=1234,fd=20))`. */
async function ssOwner(port: number): Promise<PortOwner | undefined> {
  const out = await run("ss", ["-Hltnp", `sport = :${port}`]);
  const match = /users:\(\("([^"]+)",pid=(\d+)/.exec(out);
  return match ? { pid: Number(match[2]), command: match[1]! } : undefined;
}

/** `lsof -Fpc`: `p1234` then `cnode`. */
async function lsofOwner(port: number): Promise<PortOwner | undefined> {
  const out = await run("lsof", ["-nP", `-iTCP:${port}`, "-sTCP:LISTEN", "-Fpc"]);
  const pid = /^p(\d+)$/m.exec(out)?.[1];
  const command = /^c(.+)$/m.exec(out)?.[1];
  return pid ? { pid: Number(pid), command: command ?? "unknown" } : undefined;
}

/** Which process listens on a local TCP port, when this user may know: /proc, then `ss`, then `lsof`. */
export async function findPortOwner(port: number): Promise<PortOwner | undefined> {
  if (process.platform === "linux") {
    const owner = await procOwner(port);
    if (owner) return owner;
  }
  return (await ssOwner(port)) ?? (await lsofOwner(port));
}

async function portInUse(workspace: string, service: string, port: number): Promise<NexusError> {
  const owner = await findPortOwner(port);
  const by = owner ? ` by ${owner.command} (pid ${owner.pid})` : " by another process";
  const hint =
    owner?.command === "ssh"
      ? `That is probably the shared connection \`nexus workspace connect\` opened, which already forwards ${service}: use http://localhost:${port} as it is, or close it with \`ssh -O exit ${hostAlias(workspace)}\` and run \`nexus workspace forward ${workspace}\` again.`
      : `Stop that process${owner ? ` (\`kill ${owner.pid}\`)` : ` (\`ss -ltnp 'sport = :${port}'\` names it)`} or free port ${port}, then run \`nexus workspace forward ${workspace}\` again.`;
  return new NexusError("invalid_request", `local port ${port} for service ${service} is already in use${by}`, {
    details: { workspace, service, port, ...(owner ? { pid: owner.pid, process: owner.command } : {}) },
    hint,
  });
}

export interface ForwardState {
  service: string;
  local_port: number;
  remote_port: number;
  url: string;
  state: "listening" | "closed";
  /** Connections open now. */
  active: number;
  /** Connections served since the start. */
  total: number;
  errors: number;
  last_error: string | null;
}

export interface ForwardHandle {
  /** The local port of each service. */
  ports: Record<string, number>;
  forwards(): ForwardState[];
  /** Settles when forwarding ends: resolves after close(), rejects when the SSH connection drops. */
  done: Promise<void>;
  close(): Promise<void>;
}

export interface ForwardingInput {
  detail: WorkspaceDetail;
  /** The user's private key (OpenSSH or PEM text). */
  privateKey?: string | Buffer;
  /** An ssh-agent socket (SSH_AUTH_SOCK), tried after the key. */
  agent?: string;
  /** Called whenever a forward's state changes. */
  onChange?: (forwards: ForwardState[]) => void;
  /** Handshake and authentication limit. */
  readyTimeoutMs?: number;
}

/** `ssh-ed25519 AAAA… [comment]` → the algorithm and the key blob the server must present. */
function pinnedHostKey(hostKey: string): { type: string; blob: Buffer } {
  const [type, base64] = hostKey.trim().split(/\s+/);
  if (!type || !base64) throw new NexusError("internal_error", `the workspace's host key ${JSON.stringify(hostKey)} is not \`<type> <base64>\``);
  return { type, blob: Buffer.from(base64, "base64") };
}

/** The host key algorithms to offer: exactly the pinned key's, so the server presents that key. */
function hostKeyAlgorithms(type: string): string[] {
  return type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type];
}

function sshConnectError(workspace: string, endpoint: string, error: Error & { level?: string; code?: string }, hostKeyMismatch: boolean): NexusError {
  const next = `Run \`nexus workspace status ${workspace}\` and \`nexus workspace connect ${workspace}\` (it checks the connection with OpenSSH and explains what fails).`;
  if (hostKeyMismatch) {
    return new NexusError("forbidden", `the SSH server at ${endpoint} presented a host key different from the one the workspace's node reported`, {
      details: { workspace, endpoint, reason: "host_key_mismatch" },
      hint: `The workspace may have been re-created: ${next} If it persists, something else answers on ${endpoint}; do not connect.`,
    });
  }
  if (error.level === "client-authentication") {
    return new NexusError("auth_required", `the workspace refused the SSH key (${error.message})`, {
      details: { workspace, endpoint, reason: "auth_failed" },
      hint: "Register your key with `nexus ssh setup`, or pass the registered one with --key.",
    });
  }
  if (error.level === "client-timeout" || /timed out/i.test(error.message)) {
    return new NexusError("timeout", `no SSH handshake with ${endpoint} in time`, { details: { workspace, endpoint, reason: "timeout" }, hint: next });
  }
  return new NexusError("provider_unavailable", `cannot open an SSH connection to ${endpoint}: ${error.message}`, {
    details: { workspace, endpoint, reason: error.code === "ECONNREFUSED" ? "connection_refused" : "connection_failed" },
    hint: next,
    cause: error,
  });
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/**
 * Binds 127.0.0.1:<local_port> for every service that has one, then opens one SSH
 * connection and pipes each accepted socket through a `direct-tcpip` channel to
 * 127.0.0.1:<port> inside the workspace. Ports are bound first so a taken port fails
 * fast; sockets accepted before the handshake finishes wait for it.
 */
export async function startForwarding(input: ForwardingInput): Promise<ForwardHandle> {
  const { detail } = input;
  assertRunning(detail);
  const workspace = detail.workspace_name;
  const { host, port, host_key: hostKey } = detail.ssh;
  if (!host || !port || !hostKey) {
    throw new NexusError("invalid_transition", `workspace ${workspace} has no SSH endpoint yet`, {
      details: { workspace },
      hint: `Wait for it with \`nexus workspace status ${workspace} --watch\`.`,
    });
  }
  const targets = forwardsFromWorkspace(detail);
  if (targets.length === 0) {
    throw new NexusError("invalid_request", `workspace ${workspace} has no service with a port to forward`, {
      details: { workspace },
      hint: `Declare ports for services in .nexus/config.yaml; \`nexus workspace services ${workspace}\` lists them.`,
    });
  }
  const endpoint = `${host}:${port}`;
  const pinned = pinnedHostKey(hostKey);
  const states: ForwardState[] = targets.map((t) => ({
    service: t.service ?? `port ${t.remotePort}`,
    local_port: t.localPort,
    remote_port: t.remotePort,
    url: `http://localhost:${t.localPort}`,
    state: "listening",
    active: 0,
    total: 0,
    errors: 0,
    last_error: null,
  }));
  const changed = () => input.onChange?.(states.map((s) => ({ ...s })));
  const sockets = new Set<Socket>();
  const client = new ssh2.Client();
  let closing = false;
  const ready = new Promise<void>((resolve, reject) => {
    client.once("ready", resolve);
    client.once("error", reject);
  });
  // Sockets waiting for the handshake must not turn a failed connect into an unhandled rejection.
  ready.catch(() => {});

  const servers: Server[] = [];
  const closeServers = async () => {
    for (const socket of sockets) socket.destroy();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
  };

  for (const state of states) {
    const server = createServer((socket) => {
      sockets.add(socket);
      state.active += 1;
      state.total += 1;
      changed();
      const fail = (message: string) => {
        state.errors += 1;
        state.last_error = message;
        socket.destroy();
        changed();
      };
      socket.once("close", () => {
        sockets.delete(socket);
        state.active -= 1;
        changed();
      });
      socket.on("error", () => {});
      ready.then(
        () => {
          if (socket.destroyed) return;
          client.forwardOut(socket.remoteAddress ?? "127.0.0.1", socket.remotePort ?? 0, "127.0.0.1", state.remote_port, (error, channel) => {
            if (error) {
              fail(/refused/i.test(error.message) ? `nothing listens on port ${state.remote_port} in the workspace` : error.message);
              return;
            }
            channel.on("error", (e: Error) => fail(e.message));
            socket.pipe(channel).pipe(socket);
          });
        },
        () => socket.destroy(),
      );
    });
    servers.push(server);
    try {
      await listen(server, state.local_port);
    } catch (error) {
      await closeServers();
      if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") throw await portInUse(workspace, state.service, state.local_port);
      throw new NexusError("internal_error", `cannot listen on 127.0.0.1:${state.local_port} for ${state.service}: ${(error as Error).message}`, { cause: error });
    }
  }

  let hostKeyMismatch = false;
  client.connect({
    host,
    port,
    username: detail.ssh.user,
    ...(input.privateKey ? { privateKey: input.privateKey } : {}),
    ...(input.agent ? { agent: input.agent } : {}),
    readyTimeout: input.readyTimeoutMs ?? 10_000,
    keepaliveInterval: 15_000,
    algorithms: { serverHostKey: hostKeyAlgorithms(pinned.type) as ssh2.ServerHostKeyAlgorithm[] },
    hostVerifier: (key: Buffer) => {
      const same = key.length === pinned.blob.length && timingSafeEqual(key, pinned.blob);
      hostKeyMismatch = !same;
      return same;
    },
  });
  try {
    await ready;
  } catch (error) {
    client.end();
    await closeServers();
    throw sshConnectError(workspace, endpoint, error as Error, hostKeyMismatch);
  }

  const done = new Promise<void>((resolve, reject) => {
    client.on("error", () => {});
    client.once("close", () => {
      for (const s of states) s.state = "closed";
      changed();
      if (closing) return resolve();
      void closeServers();
      reject(
        new NexusError("provider_unavailable", `the SSH connection to workspace ${workspace} (${endpoint}) ended`, {
          details: { workspace, endpoint },
          hint: `Check it with \`nexus workspace status ${workspace}\`, then run \`nexus workspace forward ${workspace}\` again.`,
        }),
      );
    });
  });
  done.catch(() => {});

  return {
    ports: Object.fromEntries(states.map((s) => [s.service, s.local_port])),
    forwards: () => states.map((s) => ({ ...s })),
    done,
    async close() {
      if (!closing) {
        closing = true;
        await closeServers();
        client.end();
      }
      // After a dropped connection `done` has already rejected; closing is still a success.
      await done.catch(() => {});
    },
  };
}

function describeState(ctx: CommandContext, s: ForwardState): string {
  const { green, red, dim } = ctx.colors;
  if (s.state === "closed") return dim("closed");
  const activity = s.active > 0 ? green(`${s.active} active`) : "listening";
  const served = s.total > 0 ? dim(` (${s.total} served)`) : "";
  const errors = s.errors > 0 ? red(`  ${s.errors} error${s.errors === 1 ? "" : "s"}: ${s.last_error}`) : "";
  return `${activity}${served}${errors}`;
}

export function renderForwards(ctx: CommandContext, forwards: readonly ForwardState[]): string {
  return table(ctx, ["service", "local", "workspace port", "state"], forwards.map((s) => [s.service, s.url, s.remote_port, describeState(ctx, s)]));
}

export interface ForwardOptions {
  key?: string;
  /** Ends forwarding like Ctrl-C does. */
  signal?: AbortSignal;
}

export interface ForwardResult {
  workspace: string;
  forwards: ForwardState[];
}

/** The key for ssh2: the file's text, or undefined when there is none (the agent may have one). */
function readPrivateKey(path: string | undefined, agent: string | undefined): string | undefined {
  if (!path) return undefined;
  const text = readFileSync(path, "utf8");
  const parsed = ssh2.utils.parseKey(text);
  if (!(parsed instanceof Error)) return text;
  if (agent) return undefined;
  throw new NexusError("invalid_request", `cannot use the SSH key ${path}: ${parsed.message}`, {
    details: { key: path },
    hint: /passphrase/i.test(parsed.message) ? "Load it into ssh-agent (`ssh-add`) so SSH_AUTH_SOCK offers it, or pass another key with --key." : "Pass another key with --key, or create one with `nexus ssh setup`.",
  });
}

/** `nexus workspace forward <ws>`: forwards until Ctrl-C (exit 0) or the connection drops. */
export async function forwardWorkspace(ctx: CommandContext, ws: string, options: ForwardOptions = {}): Promise<ForwardResult> {
  const ref = workspaceRef(ws);
  const { client } = serverSession(ctx);
  const detail = await client.getWorkspace(ref);
  assertRunning(detail);
  const agent = ctx.io.env.SSH_AUTH_SOCK || undefined;
  const privateKey = readPrivateKey(findIdentityFile(ctx, options.key), agent);
  if (!privateKey && !agent) {
    throw new NexusError("invalid_request", "no SSH key to connect with (none in ~/.ssh and no ssh-agent)", { hint: "Create and register one with `nexus ssh setup`, or pass one with --key." });
  }

  const live = ctx.interactive && Boolean(ctx.io.stdout.isTTY);
  let drawnLines = 0;
  const printed = new Map<string, string>();
  const draw = (forwards: readonly ForwardState[]) => {
    if (ctx.json || ctx.quiet) return;
    if (live) {
      const text = renderForwards(ctx, forwards);
      if (drawnLines > 0) ctx.io.stdout.write(`\x1b[${drawnLines}F\x1b[0J`);
      ctx.io.stdout.write(`${text}\n`);
      drawnLines = text.split("\n").length;
      return;
    }
    // Not a terminal: one line per change of a service's state.
    for (const s of forwards) {
      const line = `${s.service}  ${s.url}  ${describeState(ctx, s)}`;
      if (printed.get(s.service) === line) continue;
      printed.set(s.service, line);
      ctx.say(line);
    }
  };

  const handle = await startForwarding({ detail, ...(privateKey ? { privateKey } : {}), ...(agent ? { agent } : {}), onChange: draw });
  ctx.say(`Forwarding ${Object.keys(handle.ports).length} service(s) of ${detail.workspace_name} through one SSH connection. Ctrl-C to stop.`);
  draw(handle.forwards());
  await withInterrupt(options.signal, async (signal) => {
    const stopped = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
    // Ctrl-C or the caller's signal ends it cleanly; a dropped connection rejects.
    await Promise.race([handle.done, stopped]);
    await handle.close();
  });
  const result = { workspace: detail.workspace_name, forwards: handle.forwards() };
  ctx.say("Forwarding stopped.");
  ctx.result(result);
  return result;
}

export function registerForwardCommand(workspace: Command, io: CliIO): void {
  action(
    workspace
      .command("forward")
      .argument("<ws>", "workspace name or id")
      .description("forward every service to its local port through one SSH connection, until Ctrl-C")
      .option("--key <path>", "private key (default: ~/.ssh/id_ed25519, id_rsa, id_ecdsa; then ssh-agent)")
      .addHelpText("after", "\nExamples:\n  $ nexus workspace forward my-app\n  $ nexus workspace forward my-app --key ~/.ssh/work_ed25519"),
    io,
    async (ctx, ws: string, options: { key?: string }) => {
      await forwardWorkspace(ctx, ws, options);
    },
  );
}
