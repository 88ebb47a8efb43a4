// `nexus server start|stop`: the CLI launches the coordination server as a child process
// (it never imports @nexus/server). Foreground by default (output inherited, Ctrl-C
// forwarded); `--background` detaches it with a pid file and a log under
// NEXUS_HOME/server/ and returns once /health answers; `stop` ends that one.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { delimiter, dirname, join, resolve } from "node:path";
import { isSea } from "node:sea";
import { fileURLToPath } from "node:url";
import { Option, type Command } from "commander";
import { NexusError } from "@nexus/core";
import { ExitStatus } from "../exit.js";
import { ensureDir, nexusHome, writeFileAtomic } from "../home.js";
import type { CliIO, CommandContext } from "../io.js";
import { action } from "../program.js";
import { DAEMON_NODE_OPTIONS } from "../daemon-node-options.js";

export const DEFAULT_SERVER_PORT = 3001;
export const DEFAULT_SERVER_HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

export interface ServerStartOptions {
  port?: string | number;
  host?: string;
  data?: string;
  tlsCert?: string;
  tlsKey?: string;
  withAgent?: boolean;
  /** The in-process agent's provider (default: lxc if Incus/LXD answers, else docker). */
  provider?: string;
  githubApiUrl?: string;
}

export interface BackgroundServer {
  pid: number;
  url: string;
  log: string;
  pid_file: string;
  /** False when a healthy background server was already running. */
  started: boolean;
}

export interface StopResult {
  stopped: boolean;
  pid?: number;
  /** True when it had to be killed after ignoring SIGTERM. */
  killed?: boolean;
}

export function serverFiles(home: string): { dir: string; pidFile: string; logFile: string } {
  const dir = join(home, "server");
  return { dir, pidFile: join(dir, "server.pid"), logFile: join(dir, "server.log") };
}

/** How to run the server program: this standalone binary as the server, the installed package's bin, or nexus-server on PATH. */
export function serverProgram(env: CliIO["env"]): { command: string; args: string[]; env: Record<string, string> } {
  if (isSea()) return { command: process.execPath, args: [], env: { NEXUS_SEA_ENTRY: "server" } };
  try {
    const main = join(dirname(fileURLToPath(import.meta.resolve("@nexus/server/package.json"))), "dist", "main.js");
    if (existsSync(main)) return { command: process.execPath, args: [...DAEMON_NODE_OPTIONS, main], env: {} };
  } catch {
    // not installed next to the CLI: look on PATH
  }
  for (const dir of (env.PATH ?? "").split(delimiter).filter(Boolean)) {
    const candidate = join(dir, "nexus-server");
    try {
      accessSync(candidate, constants.X_OK);
      return { command: candidate, args: [], env: {} };
    } catch {
      // keep looking
    }
  }
  throw new NexusError("internal_error", "the nexus server program was not found (@nexus/server's dist/main.js or nexus-server on PATH)", {
    hint: "Install it with `npm install -g @nexus/server`, or build it with `npm run build -w @nexus/server`.",
  });
}

function serverUrl(options: ServerStartOptions): string {
  const host = options.host ?? DEFAULT_SERVER_HOST;
  const reachable = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `${options.tlsCert ? "https" : "http"}://${reachable}:${options.port ?? DEFAULT_SERVER_PORT}`;
}

/** The flags for nexus-server; paths are made absolute against the CLI's working directory. */
export function serverArgs(ctx: CommandContext, options: ServerStartOptions): string[] {
  if (Boolean(options.tlsCert) !== Boolean(options.tlsKey)) {
    throw new NexusError("invalid_request", "--tls-cert and --tls-key go together", { hint: "Give both files, or neither for plain HTTP." });
  }
  const port = String(options.port ?? DEFAULT_SERVER_PORT);
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) throw new NexusError("invalid_request", `--port ${JSON.stringify(port)} is not a port number`);
  const cwd = ctx.io.cwd;
  const data = resolve(cwd, options.data ?? join(nexusHome(ctx.io.env), "server"));
  return [
    "--port", port,
    "--host", options.host ?? DEFAULT_SERVER_HOST,
    "--data", data,
    ...(options.tlsCert && options.tlsKey ? ["--tls-cert", resolve(cwd, options.tlsCert), "--tls-key", resolve(cwd, options.tlsKey)] : []),
    ...(options.withAgent ? ["--with-agent"] : []),
    ...(options.provider ? ["--provider", options.provider] : []),
    ...(options.githubApiUrl ? ["--github-api-url", options.githubApiUrl] : []),
  ];
}

/** Runs the server attached to this terminal until it exits; Ctrl-C and SIGTERM reach it. */
export async function startServerForeground(ctx: CommandContext, options: ServerStartOptions): Promise<void> {
  const program = serverProgram(ctx.io.env);
  const child = spawn(program.command, [...program.args, ...serverArgs(ctx, options)], {
    cwd: ctx.io.cwd,
    env: { ...ctx.io.env, ...program.env },
    stdio: "inherit",
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  try {
    const status = await exitOf(child);
    if (status !== 0) throw new ExitStatus(status);
  } finally {
    process.off("SIGINT", forward);
    process.off("SIGTERM", forward);
  }
}

function exitOf(child: ChildProcess): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    child.once("error", (error) =>
      reject(new NexusError("internal_error", `cannot start the nexus server: ${error.message}`, { cause: error })),
    );
    child.once("exit", (code, signal) => resolvePromise(code ?? (signal === "SIGINT" ? 130 : 128 + 15)));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid in the pid file, when that process still runs and (where /proc tells) is a nexus server. */
function runningPid(pidFile: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, "utf8").trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1 || !alive(pid)) return undefined;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    if (!/nexus|main\.js/.test(cmdline)) return undefined;
  } catch {
    // no /proc (macOS): trust the pid file
  }
  return pid;
}

function probeHealth(url: string): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const request = url.startsWith("https:") ? httpsRequest : httpRequest;
    // Our own child on loopback: its certificate may well be self-signed.
    const req = request(`${url}/health`, { timeout: 1000, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolvePromise(res.statusCode === 200);
    });
    req.once("timeout", () => req.destroy());
    req.once("error", () => resolvePromise(false));
    req.end();
  });
}

function lastLines(file: string, count: number): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-count).join("\n");
  } catch {
    return "";
  }
}

/** Starts a detached server (or finds the one already running) and waits until /health answers. */
export async function startBackgroundServer(io: CliIO, ctx: CommandContext, options: ServerStartOptions): Promise<BackgroundServer> {
  const files = serverFiles(nexusHome(io.env));
  const url = serverUrl(options);
  const existing = runningPid(files.pidFile);
  if (existing !== undefined) {
    if (await probeHealth(url)) return { pid: existing, url, log: files.logFile, pid_file: files.pidFile, started: false };
    throw new NexusError("invalid_request", `a background nexus server (pid ${existing}) runs but does not answer at ${url}`, {
      details: { pid: existing, url },
      hint: "Stop it with `nexus server stop`, then start again.",
    });
  }
  const args = serverArgs(ctx, options);
  const program = serverProgram(io.env);
  ensureDir(files.dir);
  const log = openSync(files.logFile, "a", 0o600);
  let child: ChildProcess;
  try {
    child = spawn(program.command, [...program.args, ...args], {
      cwd: io.cwd,
      env: { ...io.env, ...program.env },
      stdio: ["ignore", log, log],
      detached: true,
    });
  } finally {
    closeSync(log);
  }
  const pid = child.pid;
  if (pid === undefined) throw new NexusError("internal_error", "cannot start the nexus server", { hint: `See ${files.logFile}.` });
  let exited: number | undefined;
  child.once("exit", (code, signal) => {
    exited = code ?? (signal ? 128 : 1);
  });
  child.unref();
  writeFileAtomic(files.pidFile, `${pid}\n`, 0o600);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      rmSync(files.pidFile, { force: true });
      throw new NexusError("internal_error", `the nexus server exited (status ${exited}) before it was ready`, {
        details: { log: files.logFile, output: lastLines(files.logFile, 5) },
        hint: `See ${files.logFile}.`,
      });
    }
    if (await probeHealth(url)) return { pid, url, log: files.logFile, pid_file: files.pidFile, started: true };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new NexusError("timeout", `the nexus server (pid ${pid}) did not answer at ${url} within ${READY_TIMEOUT_MS / 1000} s`, {
    details: { pid, log: files.logFile },
    hint: `See ${files.logFile}; stop it with \`nexus server stop\`.`,
  });
}

/** Stops the background server from the pid file: SIGTERM, then SIGKILL if it does not go. */
export async function stopBackgroundServer(io: CliIO): Promise<StopResult> {
  const { pidFile } = serverFiles(nexusHome(io.env));
  const pid = runningPid(pidFile);
  if (pid === undefined) {
    rmSync(pidFile, { force: true });
    return { stopped: false };
  }
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  let killed = false;
  if (alive(pid)) {
    process.kill(pid, "SIGKILL");
    killed = true;
  }
  rmSync(pidFile, { force: true });
  return { stopped: true, pid, killed };
}

export function registerServerCommands(program: Command, io: CliIO): void {
  const server = program.command("server").description("run the coordination server on this machine");
  action(
    server
      .command("start")
      .description("start the coordination server (foreground unless --background)")
      .option("--port <port>", "port to listen on", String(DEFAULT_SERVER_PORT))
      .option("--host <address>", "address to listen on", DEFAULT_SERVER_HOST)
      .option("--data <dir>", "data directory (default $NEXUS_HOME/server)")
      .option("--tls-cert <file>", "PEM certificate chain (with --tls-key: HTTPS)")
      .option("--tls-key <file>", "PEM private key")
      .option("--with-agent", "also run an agent on this machine's Incus or Docker (single-machine mode)")
      .addOption(new Option("--provider <name>", "the agent's provider with --with-agent (default: lxc if Incus answers, else docker)").choices(["lxc", "docker"]))
      .option("--github-api-url <url>", "GitHub API base URL (env NEXUS_GITHUB_API_URL)")
      .option("--background", "detach; pid file and log under $NEXUS_HOME/server/"),
    io,
    async (ctx, options: ServerStartOptions & { background?: boolean }) => {
      if (!options.background) {
        await startServerForeground(ctx, options);
        return;
      }
      const started = await startBackgroundServer(io, ctx, options);
      ctx.say(
        started.started
          ? `${ctx.colors.green("✓")} nexus server running at ${started.url} (pid ${started.pid}); log: ${started.log}`
          : `nexus server already running at ${started.url} (pid ${started.pid})`,
      );
      ctx.result(started);
    },
  );
  action(server.command("stop").description("stop the background server started with --background"), io, async (ctx) => {
    const result = await stopBackgroundServer(io);
    if (!result.stopped) ctx.say("no background nexus server is running");
    else ctx.say(`${ctx.colors.green("✓")} nexus server (pid ${result.pid}) ${result.killed ? "killed after it ignored SIGTERM" : "stopped"}`);
    ctx.result(result);
  });
}
