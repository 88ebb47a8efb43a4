// `nexus doctor`: is this machine ready to use nexus? Each check says what it found and,
// when something is wrong, the command or step that fixes it. Required checks decide
// the exit status: the catalog exit code of the first one that fails.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { Agent, request } from "undici";
import {
  ERROR_CATALOG,
  Secret,
  createNexus,
  isNexusError,
  silentLogger,
  sshPublicKeyFingerprint,
  type ErrorCode,
  type MeResponse,
} from "@nexus/core";
import { builtinEditors, includesFile, nexusSshPaths, sshIncludeLine } from "@nexus/editors";
import { DEFAULT_KEY_NAMES, createGithubClient, githubEndpoints, tokenFromEnv, tokenFromGh } from "@nexus/github";
import { dockerSocketPath } from "@nexus/provider-docker";
import { DEFAULT_SOCKET_PATHS, detectSocket } from "@nexus/provider-lxc";
import { ExitStatus } from "../exit.js";
import { readCredentials } from "../home.js";
import type { CliIO, CommandContext } from "../io.js";
import { action } from "../program.js";
import { serverSession, type ServerSession } from "../session.js";
import { VERSION } from "../version.js";

export type CheckStatus = "ok" | "warn" | "fail" | "skip";

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  /** Required checks that fail make `doctor` fail. */
  required: boolean;
  /** What was found (a version, an account), or why it failed. */
  detail: string;
  /** What to run or do, for warn and fail. */
  fix?: string;
  /** The catalog code whose exit status a failure gives. */
  code?: ErrorCode;
}

export interface DoctorResult {
  ok: boolean;
  cli_version: string;
  server: string;
  checks: DoctorCheck[];
}

const PROBE_TIMEOUT_MS = 3000;
type Env = Readonly<Record<string, string | undefined>>;

function childEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  return out;
}

/** A program's version output, or the reason it could not be run. */
function versionOf(program: string, args: string[], env: Env): Promise<{ ok: true; output: string } | { ok: false; reason: string }> {
  return new Promise((resolve) => {
    execFile(program, args, { env: childEnv(env), timeout: PROBE_TIMEOUT_MS, encoding: "utf8" }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim().split("\n")[0] ?? "";
      if (error && (error as NodeJS.ErrnoException).code === "ENOENT") resolve({ ok: false, reason: `${program} is not on PATH` });
      else if (error && !output) resolve({ ok: false, reason: error.message });
      else resolve({ ok: true, output });
    });
  });
}

async function checkGit(env: Env): Promise<DoctorCheck> {
  const found = await versionOf("git", ["--version"], env);
  return found.ok
    ? { name: "git", status: "ok", required: true, detail: found.output }
    : { name: "git", status: "fail", required: true, detail: found.reason, fix: "Install git (Debian/Ubuntu: `sudo apt-get install git`; macOS: `xcode-select --install`).", code: "invalid_config" };
}

async function checkSsh(env: Env): Promise<DoctorCheck> {
  const found = await versionOf("ssh", ["-V"], env);
  return found.ok
    ? { name: "ssh", status: "ok", required: true, detail: found.output }
    : { name: "ssh", status: "fail", required: true, detail: found.reason, fix: "Install the OpenSSH client (Debian/Ubuntu: `sudo apt-get install openssh-client`).", code: "invalid_config" };
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "localhost" || host === "[::1]" || host.startsWith("127.");
}

async function checkServer(session: ServerSession): Promise<DoctorCheck> {
  try {
    const health = await session.client.health({ timeoutMs: PROBE_TIMEOUT_MS });
    const nodes = Object.entries(health.nodes);
    const online = nodes.filter(([, n]) => n.status === "online").length;
    const versions = health.version === VERSION ? `version ${health.version}` : `version ${health.version} (this CLI is ${VERSION})`;
    const detail = `${session.url} — ${versions}, ${online}/${nodes.length} node${nodes.length === 1 ? "" : "s"} online`;
    if (online === 0) {
      return { name: "server", status: "warn", required: true, detail, fix: "No node can run workspaces: start one with `nexus agent start` (or `nexus server start --with-agent`)." };
    }
    return { name: "server", status: "ok", required: true, detail };
  } catch (error) {
    const reason = isNexusError(error) ? error.message : String(error);
    return {
      name: "server",
      status: "fail",
      required: true,
      detail: reason,
      fix: isLoopback(session.url) ? "Start the local server with `nexus server start --with-agent` (or `nexus up`)." : `Check --server / NEXUS_SERVER (now ${session.url}) and that the server is up.`,
      code: "server_unreachable",
    };
  }
}

async function checkServerAuth(session: ServerSession, reachable: boolean): Promise<{ check: DoctorCheck; me?: MeResponse }> {
  if (!reachable) return { check: { name: "auth", status: "skip", required: true, detail: "the server cannot be reached" } };
  if (session.tokenSource === "none") {
    return { check: { name: "auth", status: "fail", required: true, detail: `no token for ${session.url}`, fix: "Run `nexus auth github`, then `nexus ssh setup` to register with the server.", code: "auth_required" } };
  }
  try {
    const me = await session.client.me({ timeoutMs: PROBE_TIMEOUT_MS });
    return { check: { name: "auth", status: "ok", required: true, detail: `signed in to the server as ${me.github_username} (token from ${session.tokenSource})` }, me };
  } catch (error) {
    const code = isNexusError(error) ? error.code : "internal_error";
    const fix = code === "user_not_found" ? "Run `nexus ssh setup` to register with the server." : "Run `nexus auth github`, then `nexus ssh setup`.";
    return { check: { name: "auth", status: "fail", required: true, detail: isNexusError(error) ? error.message : String(error), fix, code: code === "user_not_found" ? "user_not_found" : "auth_required" } };
  }
}

/** The GitHub login, without prompting: environment, stored login, then `gh`. */
async function checkGithub(env: Env, home: string, required: boolean): Promise<DoctorCheck> {
  const fail = (detail: string, fix: string): DoctorCheck => ({ name: "github", status: required ? "fail" : "warn", required, detail, fix, code: "auth_required" });
  let endpoints: ReturnType<typeof githubEndpoints>;
  try {
    endpoints = githubEndpoints({ env });
  } catch (error) {
    return fail(isNexusError(error) ? error.message : String(error), "Fix NEXUS_GITHUB_API_URL.");
  }
  let token: Secret | null = null;
  let source = "";
  const fromEnv = tokenFromEnv(env);
  if (fromEnv) [token, source] = [fromEnv.token, fromEnv.variable];
  const stored = readCredentials(home).github;
  if (!token && stored && (stored.api_url ?? "https://api.github.com") === endpoints.apiUrl) [token, source] = [new Secret(stored.token), "stored login"];
  if (!token) {
    const fromGh = await tokenFromGh({ env, host: endpoints.host, timeoutMs: PROBE_TIMEOUT_MS });
    if (fromGh) [token, source] = [fromGh, "gh"];
  }
  if (!token) {
    return fail(`not logged in to GitHub (${endpoints.webUrl})`, required ? "Run `nexus auth github`." : "Only needed for GitHub repositories: `nexus auth github`.");
  }
  try {
    const user = await createGithubClient({ token, env, retries: 0, timeoutMs: PROBE_TIMEOUT_MS }).getAuthenticatedUser();
    return { name: "github", status: "ok", required, detail: `${user.login} on ${endpoints.webUrl} (token from ${source})` };
  } catch (error) {
    return fail(isNexusError(error) ? error.message : String(error), "The token was refused or GitHub cannot be reached: run `nexus auth github` again.");
  }
}

function readPublicKey(path: string): string | undefined {
  try {
    return readFileSync(`${path}.pub`, "utf8").split("\n").find((line) => line.trim() !== "")?.trim();
  } catch {
    return undefined;
  }
}

function checkSshKey(env: Env, me: MeResponse | undefined): DoctorCheck {
  const sshDir = join(env.HOME || homedir(), ".ssh");
  const keys = DEFAULT_KEY_NAMES.flatMap((name) => {
    const publicKey = readPublicKey(join(sshDir, name));
    if (!publicKey) return [];
    try {
      return [{ path: join(sshDir, name), fingerprint: sshPublicKeyFingerprint(publicKey) }];
    } catch {
      return [];
    }
  });
  const key = keys[0];
  if (!key) {
    return { name: "ssh key", status: "fail", required: true, detail: `no key in ${sshDir} (${DEFAULT_KEY_NAMES.join(", ")})`, fix: "Run `nexus ssh setup` to generate one and register it.", code: "auth_required" };
  }
  if (me && me.keys.length > 0 && !keys.some((k) => me.keys.some((registered) => registered.fingerprint === k.fingerprint))) {
    return { name: "ssh key", status: "warn", required: true, detail: `${key.path} (${key.fingerprint}) is not registered with the server`, fix: "Run `nexus ssh setup` to register it." };
  }
  return { name: "ssh key", status: "ok", required: true, detail: `${key.path} (${key.fingerprint})` };
}

/** GET `path` from an HTTP API on a unix socket (or a tcp:// origin). */
async function probe(target: { socketPath: string } | { origin: string }, path: string): Promise<{ status: number; body: string }> {
  const agent = "socketPath" in target ? new Agent({ connect: { socketPath: target.socketPath } }) : undefined;
  try {
    const origin = "origin" in target ? target.origin : "http://localhost";
    const response = await request(`${origin}${path}`, { ...(agent ? { dispatcher: agent } : {}), headersTimeout: PROBE_TIMEOUT_MS, bodyTimeout: PROBE_TIMEOUT_MS, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    return { status: response.statusCode, body: await response.body.text() };
  } finally {
    await agent?.close();
  }
}

function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown; cause?: { code?: unknown } }).cause?.code ?? (error as { code?: unknown }).code;
  return typeof code === "string" ? code : error instanceof Error ? error.message : String(error);
}

export async function probeIncus(env: Env): Promise<{ ok: boolean; detail: string }> {
  const socket = env.INCUS_SOCKET ?? (await detectSocket(DEFAULT_SOCKET_PATHS));
  if (!socket) return { ok: false, detail: `lxc: no Incus or LXD socket (${DEFAULT_SOCKET_PATHS.join(", ")})` };
  try {
    const { status, body } = await probe({ socketPath: socket }, "/1.0");
    const metadata = (JSON.parse(body) as { metadata?: { environment?: { server?: string; server_version?: string } } }).metadata;
    if (status !== 200) return { ok: false, detail: `lxc: ${socket} answered HTTP ${status}` };
    return { ok: true, detail: `lxc: ${metadata?.environment?.server ?? "incus"} ${metadata?.environment?.server_version ?? ""} on ${socket}`.trim() };
  } catch (error) {
    return { ok: false, detail: `lxc: ${socket} does not answer (${reasonOf(error)})` };
  }
}

export async function probeDocker(env: Env): Promise<{ ok: boolean; detail: string }> {
  const host = env.DOCKER_HOST?.trim();
  const target = host?.startsWith("tcp://") ? { origin: `http://${host.slice("tcp://".length)}` } : { socketPath: dockerSocketPath(childEnv(env)) };
  const where = "socketPath" in target ? target.socketPath : target.origin;
  try {
    const ping = await probe(target, "/_ping");
    if (ping.status !== 200) return { ok: false, detail: `docker: ${where} answered HTTP ${ping.status}` };
    const version = await probe(target, "/version").then((r) => (JSON.parse(r.body) as { Version?: string; ApiVersion?: string }), () => ({}) as { Version?: string; ApiVersion?: string });
    return { ok: true, detail: `docker: Engine ${version.Version ?? "?"} (API ${version.ApiVersion ?? "?"}) on ${where}` };
  } catch (error) {
    return { ok: false, detail: `docker: ${where} does not answer (${reasonOf(error)})` };
  }
}

async function checkProviders(env: Env, required: boolean): Promise<DoctorCheck> {
  const results = await Promise.all([probeIncus(env), probeDocker(env)]);
  const detail = results.map((r) => `${r.ok ? "✓" : "✗"} ${r.detail}`).join("; ");
  if (results.some((r) => r.ok)) return { name: "providers", status: "ok", required, detail };
  return {
    name: "providers",
    status: required ? "fail" : "warn",
    required,
    detail: required ? detail : `${detail} (only needed where workspaces run: the server is remote)`,
    fix: "Start Incus (`incusd`, then `incus admin init`) or Docker (`dockerd`); the socket must be readable by you (or set INCUS_SOCKET / DOCKER_HOST).",
    code: "provider_unavailable",
  };
}

async function checkEditors(env: Env, home: string): Promise<DoctorCheck> {
  const registry = createNexus({ editors: builtinEditors });
  const op = { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS * 2), log: silentLogger };
  const found = (
    await Promise.all(
      builtinEditors.map(async (editor) => {
        try {
          const detected = await (await registry.instance("editor", editor.name, { log: silentLogger, env, dataDir: home })).detect(op);
          return detected.found ? `${editor.name}${detected.version ? ` ${detected.version}` : ""}` : undefined;
        } catch {
          return undefined;
        }
      }),
    )
  ).filter((name): name is string => name !== undefined);
  if (found.length > 0) return { name: "editors", status: "ok", required: false, detail: found.join(", ") };
  return { name: "editors", status: "warn", required: false, detail: "no supported editor on PATH", fix: "Install Cursor, VS Code, Windsurf, Zed or (n)vim — or use `nexus workspace ssh`." };
}

function checkSshInclude(env: Env, home: string): DoctorCheck {
  const sshDir = join(env.HOME || homedir(), ".ssh");
  const file = join(sshDir, "config");
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    // absent: reported below
  }
  const target = nexusSshPaths(home).config;
  if (includesFile(text, target, sshDir)) return { name: "ssh config", status: "ok", required: false, detail: `${file} includes ${target}` };
  return {
    name: "ssh config",
    status: "warn",
    required: false,
    detail: `${file} does not include ${target}, so editors cannot resolve nexus-<workspace> hosts`,
    fix: `\`nexus workspace connect <ws>\` adds it, or put this line at the top of ${file}: ${sshIncludeLine(home)}`,
  };
}

export async function doctor(ctx: CommandContext): Promise<DoctorResult> {
  const { env } = ctx.io;
  const session = serverSession(ctx);
  const local = isLoopback(session.url);
  const [git, ssh, server, github, providers, editors] = await Promise.all([
    checkGit(env),
    checkSsh(env),
    checkServer(session),
    // A single-machine server needs no GitHub login (local directories, local user).
    checkGithub(env, session.home, !local),
    // Providers matter where workspaces run: on this machine when the server is local.
    checkProviders(env, local),
    checkEditors(env, session.home),
  ]);
  const auth = await checkServerAuth(session, server.status !== "fail");
  const checks = [git, ssh, server, auth.check, github, checkSshKey(env, auth.me), providers, editors, checkSshInclude(env, session.home)];
  const failed = checks.filter((c) => c.required && c.status === "fail");
  const result: DoctorResult = { ok: failed.length === 0, cli_version: VERSION, server: session.url, checks };

  const { green, red, yellow, dim, bold } = ctx.colors;
  const marks: Record<CheckStatus, string> = { ok: green("✓"), warn: yellow("!"), fail: red("✗"), skip: dim("-") };
  const width = Math.max(...checks.map((c) => c.name.length));
  ctx.say(dim(`nexus ${VERSION}`));
  for (const check of checks) {
    ctx.say(`${marks[check.status]} ${bold(check.name.padEnd(width))}  ${check.status === "ok" ? check.detail : check.status === "skip" ? dim(`skipped: ${check.detail}`) : check.detail}`);
    if (check.fix && check.status !== "ok") ctx.say(`  ${" ".repeat(width)}  ${dim("fix:")} ${check.fix}`);
  }
  ctx.say(failed.length === 0 ? green("nexus is ready") : red(`${failed.length} required check${failed.length === 1 ? "" : "s"} failed: ${failed.map((c) => c.name).join(", ")}`));
  ctx.result(result);
  const first = failed[0];
  if (first) throw new ExitStatus(ERROR_CATALOG[first.code ?? "internal_error"].exit);
  return result;
}

export function registerDoctorCommand(program: Command, io: CliIO): void {
  action(
    program
      .command("doctor")
      .description("check git, ssh, the server, your logins and key, container engines, editors and SSH config; print fixes")
      .addHelpText("after", "\nExit status: 0 when every required check passes, else the code of the first failing one (see `nexus --help`).\n\nExamples:\n  $ nexus doctor\n  $ nexus doctor --json"),
    io,
    async (ctx) => {
      await doctor(ctx);
    },
  );
}
