// `nexus workspace connect <ws>`: the one command between "it runs" and "I am editing
// it". Writes the `nexus-<ws>` SSH entry and the ~/.ssh/config Include, proves the
// connection works with the system's ssh (`echo OK`, 5 s), opens the editor through
// `nexus editor launch`'s code, and prints where everything is.
import { spawn } from "node:child_process";
import { Option, type Command } from "commander";
import { CREATE_PHASES, NexusError, type CreatePhase, type ErrorCode, type WorkspaceDetail } from "@nexus/core";
import { builtinEditors, canonicalEditorName, createSshConfig, formatCommand, sshEntryFromWorkspace, userSshDir, type SshIncludeResult } from "@nexus/editors";
import type { CliIO, CommandContext } from "../io.js";
import { action } from "../program.js";
import { PHASE_DONE } from "../progress.js";
import { formatDuration } from "../render.js";
import { serverSession } from "../session.js";
import { findIdentityFile, launchEditor, type EditorLaunchResult } from "./editor.js";
import { workspaceRef } from "./workspace/common.js";
import { assertRunning, registerForwardCommand } from "./forward.js";

/** How long the SSH check may take, connection and command together (SPEC §8). */
export const SSH_CHECK_TIMEOUT_MS = 5000;

export interface ConnectOptions {
  editor?: string;
  print?: boolean;
  key?: string;
}

export type SshFailureReason =
  | "host_key_mismatch"
  | "auth_failed"
  | "connection_refused"
  | "connection_closed"
  | "unreachable"
  | "timeout"
  | "bad_config"
  | "unexpected_output"
  | "unknown";

export interface ConnectResult {
  workspace: string;
  workspace_id: string;
  status: WorkspaceDetail["status"];
  health: WorkspaceDetail["health"];
  repository: { owner: string; name: string; branch: string; commit: string | null; url: string; upstream: { owner: string; name: string; url: string } | null };
  phases: Array<{ name: CreatePhase; started_at: string; duration_ms: number | null }>;
  services: Array<{ name: string; status: string; health: string; port: number | null; local_port: number | null; local_url: string | null }>;
  ssh: {
    host: string;
    command: string[];
    config_file: string;
    changed: boolean;
    connection_sharing: boolean;
    include: SshIncludeResult;
    /** The argv of the check that succeeded (`… echo OK`). */
    check: string[];
  };
  editor: { name: string | null; source: EditorLaunchResult["source"]; command: string[] | null; launched: boolean; exit_code?: number };
  deep_link: string | null;
  remote_path: string;
  git_remotes: { origin: string; upstream: string | null };
  next_steps: string[];
}

interface SshRunOutcome {
  status: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs the system ssh with captured output, killed after `timeoutMs`. */
function runSshCapture(env: CliIO["env"], argv: readonly string[], timeoutMs: number): Promise<SshRunOutcome> {
  const childEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) childEnv[key] = value;
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", [...argv], { env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === "ENOENT") {
        reject(new NexusError("invalid_config", "ssh is not installed (no `ssh` on PATH)", { hint: "Install OpenSSH's client (e.g. `apt-get install openssh-client`), then run `nexus doctor`." }));
      } else reject(error);
    });
    child.once("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, timedOut });
    });
  });
}

const REASON_PATTERNS: Array<[SshFailureReason, RegExp]> = [
  ["host_key_mismatch", /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key .* (?:is not known|has changed)|No \S+ host key is known/i],
  ["auth_failed", /Permission denied|Too many authentication failures|no mutual signature algorithm/i],
  ["connection_refused", /Connection refused/i],
  ["timeout", /timed out/i],
  ["unreachable", /No route to host|Network is unreachable|Could not resolve hostname|Name or service not known/i],
  ["connection_closed", /Connection closed by|Connection reset|kex_exchange_identification|Broken pipe/i],
  ["bad_config", /Bad owner or permissions|Bad configuration option|bad configuration options|Can't open user config file|Unsupported option/i],
];

/** What went wrong, from ssh's stderr (its messages are stable across OpenSSH versions). */
export function sshFailureReason(outcome: Pick<SshRunOutcome, "status" | "stderr" | "timedOut">): SshFailureReason {
  if (outcome.timedOut) return "timeout";
  for (const [reason, pattern] of REASON_PATTERNS) if (pattern.test(outcome.stderr)) return reason;
  return outcome.status === 0 ? "unexpected_output" : "unknown";
}

interface CheckTarget {
  workspace: string;
  host: string;
  endpoint: string;
  configFile: string;
  /** The config is ~/.ssh/config (which includes nexus's): a plain `ssh nexus-<ws>` works. */
  viaUserConfig: boolean;
  knownHosts: string;
  identityFile: string | undefined;
}

const REASONS: Record<SshFailureReason, { code: ErrorCode; what: (t: CheckTarget) => string; fix: (t: CheckTarget) => string }> = {
  host_key_mismatch: {
    code: "forbidden",
    what: (t) => `the SSH server at ${t.endpoint} presented a host key different from the one the workspace's node reported (pinned in ${t.knownHosts})`,
    fix: (t) => `The workspace may have been re-created: run \`nexus workspace connect ${t.workspace}\` again to pin its current key. If that does not help, something else answers on ${t.endpoint}; do not connect, tell the server's administrator.`,
  },
  auth_failed: {
    code: "auth_required",
    what: (t) => `the workspace refused the SSH key${t.identityFile ? ` ${t.identityFile}` : " (none found in ~/.ssh)"}`,
    fix: (t) => `Register your key with \`nexus ssh setup${t.identityFile ? ` --key ${t.identityFile}` : ""}\` (new keys reach running workspaces on their next start), or pass the registered one with --key.`,
  },
  connection_refused: {
    code: "provider_unavailable",
    what: (t) => `nothing accepts SSH connections at ${t.endpoint} (connection refused)`,
    fix: (t) => `The container's sshd is down or its port is not published: check \`nexus workspace status ${t.workspace}\`, then \`nexus workspace stop ${t.workspace}\` and \`nexus workspace start ${t.workspace}\`.`,
  },
  connection_closed: {
    code: "provider_unavailable",
    what: (t) => `the SSH server at ${t.endpoint} closed the connection during the handshake`,
    fix: (t) => `The workspace may still be starting its sshd, or a firewall cuts the connection: wait a few seconds and run \`nexus workspace connect ${t.workspace}\` again.`,
  },
  unreachable: {
    code: "provider_unavailable",
    what: (t) => `${t.endpoint} cannot be reached from this machine`,
    fix: () => "The node's address must be reachable from here (VPN, firewall); ask the server's administrator which address the agent publishes (`nexus agent start --ssh-host`).",
  },
  timeout: {
    code: "timeout",
    what: (t) => `no answer from ${t.endpoint} within ${SSH_CHECK_TIMEOUT_MS / 1000} s`,
    fix: () => "A firewall may drop the traffic, or the node is overloaded; check that the node's SSH ports are reachable from this machine.",
  },
  bad_config: {
    code: "invalid_config",
    what: (t) => `ssh rejected its configuration (${t.configFile} or a file it includes)`,
    fix: () => "Fix the line ssh names above (`chmod 600 ~/.ssh/config` for a permissions error).",
  },
  unexpected_output: {
    code: "internal_error",
    what: () => "the connection worked but `echo OK` did not print OK (a login script writes to the terminal?)",
    fix: (t) => `Run \`ssh ${t.host} echo OK\` and remove what else it prints from the workspace's shell startup files.`,
  },
  unknown: {
    code: "internal_error",
    what: () => "ssh failed",
    fix: () => "Read ssh's message above.",
  },
};

/** The last few lines ssh wrote, for the error message (the full text is in details). */
function lastLines(text: string, count = 3): string {
  return text.trim().split("\n").map((l) => l.trim()).filter(Boolean).slice(-count).join(" / ");
}

function sshFailure(target: CheckTarget, reason: SshFailureReason, outcome: SshRunOutcome, argv: readonly string[]): NexusError {
  const { code, what, fix } = REASONS[reason];
  const sshArgs = target.viaUserConfig ? [] : ["-F", target.configFile];
  const steps = [
    fix(target),
    `the workspace's state and SSH endpoint: nexus workspace status ${target.workspace}`,
    "this machine's setup (ssh, key, SSH config): nexus doctor",
    target.identityFile ? `the key offered: ${target.identityFile} (another one: --key PATH)` : "no key in ~/.ssh: create and register one with `nexus ssh setup`",
    `ssh's own account of it: ${formatCommand(["ssh", ...sshArgs, "-v", target.host])}`,
  ];
  const said = lastLines(outcome.stderr);
  return new NexusError(code, `SSH check of ${target.host} failed: ${what(target)}${said ? ` — ssh said: ${said}` : ""}`, {
    details: {
      workspace: target.workspace,
      reason,
      endpoint: target.endpoint,
      command: ["ssh", ...argv],
      exit_code: outcome.status,
      stderr: outcome.stderr.trim(),
      troubleshooting: steps,
    },
    hint: `${steps[0]}\n${steps.slice(1).map((s) => `  - ${s}`).join("\n")}`,
  });
}

/**
 * `ssh -F <config> -o BatchMode=yes -o ConnectTimeout=5 nexus-<ws> echo OK`: never a
 * prompt, at most 5 s. With connection sharing this also opens the shared connection
 * (and its LocalForwards) that the editor and later commands reuse.
 */
export async function checkSshConnection(ctx: CommandContext, target: CheckTarget): Promise<string[]> {
  const argv = ["-F", target.configFile, "-o", "BatchMode=yes", "-o", `ConnectTimeout=${SSH_CHECK_TIMEOUT_MS / 1000}`, target.host, "echo", "OK"];
  const outcome = await runSshCapture(ctx.io.env, argv, SSH_CHECK_TIMEOUT_MS);
  if (outcome.status === 0 && outcome.stdout.trim().split("\n").pop()?.trim() === "OK") {
    // ssh still runs the command when a LocalForward's port is taken; say which service is affected.
    for (const match of outcome.stderr.matchAll(/cannot listen to port: (\d+)/g)) {
      ctx.warn(`${ctx.colors.yellow("warning")} local port ${match[1]} is already in use: that service is not forwarded by ssh (see \`nexus workspace forward ${target.workspace}\`).`);
    }
    return ["ssh", ...argv];
  }
  throw sshFailure(target, sshFailureReason(outcome), outcome, argv);
}

function localUrl(localPort: number | null): string | null {
  return localPort === null ? null : `http://localhost:${localPort}`;
}

function nextSteps(name: string, hasServices: boolean): string[] {
  return [
    `nexus workspace ssh ${name}`,
    ...(hasServices ? [`nexus workspace forward ${name}   (forward the services without OpenSSH)`] : []),
    `nexus workspace logs ${name} --follow`,
    `nexus workspace stop ${name}`,
  ];
}

/** `nexus workspace connect <ws>`. */
export async function connectWorkspace(ctx: CommandContext, ws: string, options: ConnectOptions = {}): Promise<ConnectResult> {
  const ref = workspaceRef(ws);
  const session = serverSession(ctx);
  const detail = await session.client.getWorkspace(ref);
  assertRunning(detail);

  const identityFile = findIdentityFile(ctx, options.key);
  const entry = sshEntryFromWorkspace(detail, identityFile ? { identityFile } : {});
  const sshConfig = createSshConfig({ nexusHome: session.home, env: ctx.io.env });
  const written = await sshConfig.writeWorkspaceEntry(entry);
  const include = await sshConfig.ensureInclude({ sshDir: userSshDir(ctx.io.env) });
  // Through ~/.ssh/config when it includes ours: that also proves `ssh nexus-<ws>` works as typed.
  const configFile = include.status === "manual" ? written.file : include.file;
  const endpoint = `${entry.hostName}:${entry.port}`;
  const check = await checkSshConnection(ctx, { workspace: detail.workspace_name, host: written.host, endpoint, configFile, viaUserConfig: include.status !== "manual", knownHosts: sshConfig.paths.knownHosts, identityFile });

  // The editor part is `nexus editor launch` (choice, launch, remembering --editor); its
  // own lines and document are replaced by the summary below. Its warnings still show.
  const editor = await launchEditor({ ...ctx, say: () => {}, result: () => {} }, detail.workspace_name, options);

  const services = Object.values(detail.services)
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => ({ name: s.name, status: s.status, health: s.health, port: s.port, local_port: s.local_port, local_url: localUrl(s.local_port) }));
  const repo = detail.repository;
  const sshCommand = include.status === "manual" ? ["ssh", "-F", written.file, written.host] : ["ssh", written.host];
  const result: ConnectResult = {
    workspace: detail.workspace_name,
    workspace_id: detail.workspace_id,
    status: detail.status,
    health: detail.health,
    repository: { owner: repo.owner, name: repo.name, branch: repo.branch, commit: repo.commit, url: repo.url, upstream: repo.upstream ?? null },
    phases: [...detail.phases].sort((a, b) => CREATE_PHASES.indexOf(a.name) - CREATE_PHASES.indexOf(b.name)).map((p) => ({ name: p.name, started_at: p.started_at, duration_ms: p.duration_ms })),
    services,
    ssh: { host: written.host, command: sshCommand, config_file: written.file, changed: written.changed, connection_sharing: written.connectionSharing.supported, include, check },
    editor: { name: editor.editor, source: editor.source, command: editor.command, launched: editor.launched, ...(editor.exit_code === undefined ? {} : { exit_code: editor.exit_code }) },
    deep_link: editor.deep_link,
    remote_path: editor.remote_path,
    git_remotes: { origin: repo.url, upstream: repo.upstream?.url ?? null },
    next_steps: nextSteps(detail.workspace_name, services.some((s) => s.local_port !== null)),
  };
  if (options.print && editor.command) ctx.say(formatCommand(editor.command));
  ctx.say(renderConnectSummary(ctx, result, options));
  ctx.result(result);
  return result;
}

function renderEditorLine(result: ConnectResult, options: ConnectOptions): string {
  const editor = result.editor;
  if (editor.name === null) return `none (${options.editor === "none" ? "--editor none" : "no editor found"}): connect with ${formatCommand(result.ssh.command)}`;
  if (options.print) return `${editor.name}, not started (--print): ${formatCommand(editor.command ?? [])}`;
  return `${editor.name} opened on ${result.remote_path}${editor.source === "flag" ? " (remembered for next time)" : ""}`;
}

export function renderConnectSummary(ctx: CommandContext, result: ConnectResult, options: ConnectOptions = {}): string {
  const { bold, dim, green, yellow } = ctx.colors;
  const label = (text: string) => `  ${bold(text.padEnd(10))}`;
  const repo = result.repository;
  const lines: string[] = [];
  const health = result.health === "healthy" ? "" : ` (${result.health})`;
  lines.push(`${green("✔")} connected to ${bold(result.workspace)} ${dim("— SSH checked")}`);
  lines.push(`${label("project")}${repo.owner}/${repo.name} @ ${repo.branch}${repo.upstream ? dim(`  fork of ${repo.upstream.owner}/${repo.upstream.name}`) : ""}`);
  const timed = result.phases.filter((p) => p.duration_ms !== null);
  // Phases overlap (the repository is fetched while the container starts): wall time, not a sum.
  const ends = timed.map((p) => Date.parse(p.started_at) + (p.duration_ms ?? 0));
  const total = timed.length > 0 ? Math.max(...ends) - Math.min(...timed.map((p) => Date.parse(p.started_at))) : 0;
  lines.push(`${label("status")}${result.health === "healthy" ? green(result.status) : yellow(`${result.status}${health}`)}${timed.length > 0 ? dim(`  created in ${formatDuration(total)}`) : ""}`);
  for (const phase of timed) lines.push(`${" ".repeat(12)}${dim(`${PHASE_DONE[phase.name]}`.padEnd(22))} ${dim(formatDuration(phase.duration_ms ?? 0))}`);
  for (const service of result.services) {
    const where = service.local_url ?? (service.port === null ? "no port" : `:${service.port} (not forwarded)`);
    lines.push(`${label(service.name)}${where}  ${service.health === "healthy" ? green(service.health) : dim(service.health)}`);
  }
  lines.push(`${label("ssh")}${formatCommand(result.ssh.command)}`);
  lines.push(`${label("editor")}${renderEditorLine(result, options)}`);
  if (result.deep_link) lines.push(`${label("link")}${result.deep_link}`);
  lines.push(`${label("origin")}${result.git_remotes.origin}`);
  if (result.git_remotes.upstream) lines.push(`${label("upstream")}${result.git_remotes.upstream}`);
  lines.push(`${label("folder")}${result.remote_path}`);
  lines.push("", dim("next:"));
  for (const step of result.next_steps) lines.push(dim(`  ${step}`));
  return lines.join("\n");
}

/** Adds `connect` and `forward` to the `workspace` command. */
export function registerConnectCommands(workspace: Command, io: CliIO): void {
  action(
    workspace
      .command("connect")
      .argument("<ws>", "workspace name or id")
      .description("write the workspace's SSH entry, check the connection, open an editor and show where everything is")
      .addOption(new Option("--editor <name>", `${builtinEditors.map((d) => d.name).join(", ")} or none (env NEXUS_EDITOR); remembered for next time`).argParser(canonicalEditorName))
      .option("--print", "print the editor command instead of running it")
      .option("--key <path>", "private key for the SSH entry (default: ~/.ssh/id_ed25519, id_rsa, id_ecdsa)")
      .addHelpText("after", "\nExamples:\n  $ nexus workspace connect my-app\n  $ nexus workspace connect my-app --editor code\n  $ nexus workspace connect my-app --editor none --json"),
    io,
    async (ctx, ws: string, options: ConnectOptions) => {
      await connectWorkspace(ctx, ws, options);
    },
  );
  registerForwardCommand(workspace, io);
}
