// Non-interactive exec: `record-output` writes stdout/stderr to log files inside the
// daemon, the operation's metadata names them and carries the exit code.
import { randomBytes } from "node:crypto";
import { NexusError, type ExecOptions, type ExecResult } from "@nexus/core";
import type { IncusClient } from "./client.js";
import { instancePath, pullFile, pushFile } from "./files.js";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

/** Opens the stdin file, unlinks it, then runs the real argv: argv stays positional, never interpolated. */
const STDIN_WRAPPER = 'exec 0<"$1" && rm -f -- "$1" && shift && exec "$@"';

interface Account {
  uid: number;
  gid: number;
  name?: string;
  home?: string;
}

function invalid(message: string, details: Record<string, unknown>): NexusError {
  return new NexusError("invalid_request", `lxc: ${message}`, { details: { plugin: "lxc", ...details } });
}

export function checkArgv(argv: readonly string[]): void {
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== "string" || a.includes("\0"))) {
    throw invalid("exec needs a non-empty argv of strings without NUL bytes", { argv });
  }
}

function checkEnv(env: Record<string, string>): void {
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_NAME.test(k) || typeof v !== "string" || v.includes("\0")) throw invalid(`environment variable ${JSON.stringify(k)} is invalid`, { name: k });
  }
}

function parsePasswd(text: string): Map<string, Account> {
  const byKey = new Map<string, Account>();
  for (const line of text.split("\n")) {
    const [name, , uid, gid, , home] = line.split(":");
    if (!name || uid === undefined || gid === undefined) continue;
    const account = { uid: Number(uid), gid: Number(gid), name, ...(home ? { home } : {}) };
    byKey.set(name, account);
    if (!byKey.has(`#${uid}`)) byKey.set(`#${uid}`, account);
  }
  return byKey;
}

/** root needs no lookup; anyone else is looked up in the container's /etc/passwd for gid and HOME. */
async function resolveAccount(client: IncusClient, instance: string, user: string | number | undefined, signal: AbortSignal): Promise<Account> {
  if (user === undefined || user === 0 || user === "root") return { uid: 0, gid: 0 };
  if (typeof user === "number" ? !Number.isInteger(user) || user < 0 : !USER_NAME.test(user)) throw invalid(`user ${JSON.stringify(user)} is invalid`, { user });
  const passwd = parsePasswd((await pullFile(client, instance, "/etc/passwd", signal)).toString("utf8"));
  const account = passwd.get(typeof user === "number" ? `#${user}` : user);
  if (account) return account;
  if (typeof user === "number") return { uid: user, gid: user };
  throw invalid(`no user ${JSON.stringify(user)} in the container`, { user });
}

function outputPaths(metadata: Record<string, unknown> | null): { stdout?: string; stderr?: string; exitCode: number } {
  const output = (metadata?.output ?? {}) as Record<string, string>;
  const exitCode = typeof metadata?.return === "number" ? metadata.return : -1;
  return { ...(output["1"] ? { stdout: output["1"] } : {}), ...(output["2"] ? { stderr: output["2"] } : {}), exitCode };
}

/** Reads a recorded output log, then deletes it so the daemon's log directory does not grow. */
async function takeLog(client: IncusClient, path: string | undefined, signal: AbortSignal): Promise<string> {
  if (!path) return "";
  const { body } = await client.raw("GET", path, { signal, phase: "read exec output" });
  await client.sync("DELETE", path, { signal, phase: "delete exec output" }).catch(() => undefined);
  return body.toString("utf8");
}

export async function execInInstance(
  client: IncusClient,
  instance: string,
  argv: readonly string[],
  signal: AbortSignal,
  options: ExecOptions = {},
): Promise<ExecResult> {
  checkArgv(argv);
  const env = { ...options.env };
  checkEnv(env);
  if (options.cwd !== undefined && (!options.cwd.startsWith("/") || options.cwd.includes("\0"))) throw invalid("cwd must be an absolute path", { cwd: options.cwd });
  const account = await resolveAccount(client, instance, options.user, signal);
  if (account.uid !== 0 && account.home) {
    env.HOME ??= account.home;
    if (account.name) {
      env.USER ??= account.name;
      env.LOGNAME ??= account.name;
    }
  }
  let command = [...argv];
  if (options.stdin !== undefined) {
    // /var/tmp, not /tmp: a container that is still booting may mount a fresh /tmp over the file.
    const stdinPath = `/var/tmp/.nexus-stdin-${randomBytes(8).toString("hex")}`;
    await pushFile(client, instance, stdinPath, options.stdin, signal, { mode: 0o600, uid: account.uid, gid: account.gid });
    command = ["/bin/sh", "-c", STDIN_WRAPPER, "nexus-stdin", stdinPath, ...argv];
  }
  const op = await client.operation("POST", instancePath(instance, "exec"), {
    body: {
      command,
      environment: env,
      "wait-for-websocket": false,
      "record-output": true,
      interactive: false,
      width: 0,
      height: 0,
      user: account.uid,
      group: account.gid,
      ...(options.cwd ? { cwd: options.cwd } : {}),
    },
    signal,
    phase: `exec ${argv[0]}`,
  });
  const { stdout, stderr, exitCode } = outputPaths(op.metadata);
  const [out, err] = await Promise.all([takeLog(client, stdout, signal), takeLog(client, stderr, signal)]);
  return { exitCode, stdout: out, stderr: err };
}
