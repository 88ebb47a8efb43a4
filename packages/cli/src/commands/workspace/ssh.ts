// `workspace ssh` and `workspace exec`: the system's OpenSSH, started with an argument
// array, through the `nexus-<ws>` entry of NEXUS_HOME/ssh/config (the same entry
// `workspace connect` writes: pinned host key, StrictHostKeyChecking yes, the user's key,
// connection sharing). The entry is refreshed from the server first, so a workspace that
// moved to another node or port is reached at its new address.
import { spawn, type StdioOptions } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { NexusError, type WorkspaceDetail } from "@nexus/core";
import { createSshConfig, shellQuote, sshEntryFromWorkspace, type NexusSshConfig } from "@nexus/editors";
import { DEFAULT_KEY_NAMES } from "@nexus/github";
import { ExitStatus } from "../../exit.js";
import type { CommandContext } from "../../io.js";
import { serverSession } from "../../session.js";
import { workspaceRef } from "./common.js";

/** The private key to offer: the first of ~/.ssh/id_ed25519, id_rsa, id_ecdsa (the keys `nexus ssh setup` uses). */
export function sshIdentity(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const sshDir = join(env.HOME || homedir(), ".ssh");
  return DEFAULT_KEY_NAMES.map((name) => join(sshDir, name)).find((path) => existsSync(path));
}

/**
 * ssh sends the command to the remote shell as one string. One argument is that string
 * (`nexus workspace exec api -- 'npm test && npm run lint'`); several are an argv, each
 * quoted so that it arrives as the same word (`… -- ls "my dir"`).
 */
export function remoteCommand(argv: readonly string[]): string | undefined {
  if (argv.length === 0) return undefined;
  if (argv.length === 1) return argv[0];
  return argv.map((word) => shellQuote(word)).join(" ");
}

/**
 * The private key to offer: `--key`, else the one the workspace's entry already names
 * (`workspace connect --key` chose it), else the first of ~/.ssh/id_ed25519, id_rsa, id_ecdsa.
 */
export function chooseIdentity(ctx: CommandContext, config: NexusSshConfig, workspace: string, key?: string): string | undefined {
  if (key !== undefined) {
    const path = resolve(ctx.io.cwd, key.replace(/^~(?=\/|$)/, ctx.io.env.HOME || homedir()));
    if (!existsSync(path)) throw new NexusError("invalid_request", `SSH key ${path} does not exist`, { details: { key: path }, hint: "Run `nexus ssh setup` to create one, or pass another --key." });
    return path;
  }
  const previous = config.readWorkspaceEntry(workspace)?.identityFile;
  if (previous && existsSync(previous)) return previous;
  return sshIdentity(ctx.io.env);
}

/** Writes (or refreshes) the workspace's SSH entry; returns the config file and the host alias to use. */
export async function prepareSsh(ctx: CommandContext, detail: WorkspaceDetail, home: string, key?: string): Promise<{ configFile: string; alias: string }> {
  const config = createSshConfig({ nexusHome: home, env: ctx.io.env });
  const identityFile = chooseIdentity(ctx, config, detail.workspace_name, key);
  const written = await config.writeWorkspaceEntry(sshEntryFromWorkspace(detail, identityFile ? { identityFile } : {}));
  return { configFile: config.paths.config, alias: written.host };
}

export type SshMode = "ssh" | "exec";

/** The ssh argv (without the program). */
export function sshArgv(mode: SshMode, target: { configFile: string; alias: string }, command: readonly string[], stdinIsTty: boolean): string[] {
  const remote = remoteCommand(command);
  const options =
    mode === "exec"
      ? // Non-interactive: no terminal, never a prompt, and no port forwards to collide with.
        ["-T", "-o", "BatchMode=yes", "-o", "ClearAllForwardings=yes"]
      : remote !== undefined && stdinIsTty
        ? ["-t"]
        : [];
  return ["-F", target.configFile, ...options, target.alias, ...(remote === undefined ? [] : ["--", remote])];
}

export interface SshRun {
  status: number;
  /** Set when the output was captured (--json) instead of passed through. */
  stdout?: string;
  stderr?: string;
}

/**
 * Runs ssh with this CLI's streams (the terminal itself when they are the process's, so
 * an interactive session gets a real TTY), or captures its output. Resolves to its exit
 * status (128+n when killed by signal n).
 */
export function runSsh(ctx: CommandContext, argv: readonly string[], options: { capture?: boolean } = {}): Promise<SshRun> {
  const { io } = ctx;
  const capture = options.capture === true;
  const inherit = (stream: unknown, fd: 0 | 1 | 2) => !capture && stream === [process.stdin, process.stdout, process.stderr][fd];
  const stdio: StdioOptions = [
    io.stdin === undefined || capture ? "ignore" : inherit(io.stdin, 0) ? "inherit" : "pipe",
    inherit(io.stdout, 1) ? "inherit" : "pipe",
    inherit(io.stderr, 2) ? "inherit" : "pipe",
  ];
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(io.env)) if (value !== undefined) env[key] = value;
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", [...argv], { env, stdio });
    const captured = { stdout: "", stderr: "" };
    if (child.stdin && io.stdin) io.stdin.pipe(child.stdin);
    if (capture) {
      child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (captured.stdout += chunk));
      child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (captured.stderr += chunk));
    } else {
      child.stdout?.pipe(io.stdout, { end: false });
      child.stderr?.pipe(io.stderr, { end: false });
    }
    child.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") {
        reject(new NexusError("invalid_config", "ssh is not installed (no `ssh` on PATH)", { hint: "Install OpenSSH's client (e.g. `apt-get install openssh-client`), then run `nexus doctor`." }));
      } else reject(error);
    });
    child.once("close", (code, killedBy) => {
      if (child.stdin && io.stdin) io.stdin.unpipe(child.stdin);
      resolve({ status: code ?? 128 + signalNumber(killedBy), ...(capture ? captured : {}) });
    });
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };
  return (signal && numbers[signal]) ?? 1;
}

/**
 * `workspace ssh <ws> [-- cmd…]` and `workspace exec <ws> -- cmd…`: the exit status is
 * ssh's (the remote command's). With --json the output is captured into one document.
 */
export async function sshIntoWorkspace(ctx: CommandContext, mode: SshMode, ws: string, command: readonly string[], options: { key?: string | undefined } = {}): Promise<SshRun> {
  if (command.length === 0 && (mode === "exec" || ctx.json)) {
    throw new NexusError("invalid_request", `${mode} needs a command${ctx.json ? " with --json" : ""}`, {
      hint: `Run e.g. \`nexus workspace ${mode} ${ws} -- npm test\`${mode === "exec" ? `; for a shell use \`nexus workspace ssh ${ws}\`` : ""}.`,
    });
  }
  const ref = workspaceRef(ws);
  const { client, home } = serverSession(ctx);
  const detail = await client.getWorkspace(ref);
  const target = await prepareSsh(ctx, detail, home, options.key);
  const run = await runSsh(ctx, sshArgv(mode, target, command, Boolean(ctx.io.stdin?.isTTY)), { capture: ctx.json });
  ctx.result({ workspace: detail.workspace_name, command: [...command], exit_code: run.status, stdout: run.stdout ?? "", stderr: run.stderr ?? "" });
  if (run.status === 255 && !ctx.json) ctx.warn(ctx.colors.dim("ssh exited with 255: a connection failure, or the command's own status. Check the connection with `nexus doctor`."));
  if (run.status !== 0) throw new ExitStatus(run.status);
  return run;
}
