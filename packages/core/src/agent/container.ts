// What the agent does inside a workspace container, through the provider's exec and
// writeFile: install the supervisor and the workspace description, clone the bundle,
// run the supervisor's commands, read service status and logs. Every script here is a
// constant; inputs reach it as positional arguments, never spliced into its text.
import { randomBytes } from "node:crypto";
import type { Op } from "../contracts/common.js";
import type { Handle, ProviderInstance } from "../contracts/provider.js";
import { NexusError } from "../errors.js";
import type { ProjectConfig } from "../config/schema.js";
import { CONTAINER_PATHS, STATUS_FILE_NAME, supervisorScript } from "./supervisor/script.js";
import type { SupervisedService, SupervisorResult, SupervisorStatus, WorkspaceFile } from "./supervisor/types.js";

export const DEV_USER = { name: "dev", uid: 1000, gid: 1000, home: "/home/dev" } as const;
const BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const ROOT_ENV = { PATH: BASE_PATH, HOME: "/root", LANG: "C.UTF-8" };

/** Hook time limits: setup installs dependencies and may take long. */
export const HOOK_TIMEOUT_MS = { setup: 30 * 60_000, pre_start: 10 * 60_000, post_start: 10 * 60_000, pre_stop: 2 * 60_000 } as const;
const STOP_TIMEOUT_MS = 10_000;

export function repoDir(repoName: string): string {
  return `${DEV_USER.home}/${repoName}`;
}

/** The workspace description the supervisor works from. */
export function workspaceFile(config: ProjectConfig, repoName: string): WorkspaceFile {
  const services: SupervisedService[] = Object.values(config.services).map((service) => ({
    name: service.name,
    command: service.command,
    ...(service.port === undefined ? {} : { port: service.port }),
    depends_on: service.depends_on,
    env: service.env,
    health_check: service.health_check,
    restart: service.restart,
  }));
  return {
    version: 1,
    repo_dir: repoDir(repoName),
    user: { ...DEV_USER },
    env: { PATH: BASE_PATH, LANG: "C.UTF-8", SHELL: "/bin/bash", ...config.env },
    lifecycle: config.lifecycle,
    services,
    stop_timeout_ms: STOP_TIMEOUT_MS,
    backoff: { initial_ms: 1_000, max_ms: 30_000 },
    log_max_bytes: 10 * 1024 * 1024,
    hook_timeout_ms: HOOK_TIMEOUT_MS,
  };
}

/**
 * Root: write the supervisor and the workspace file (given as arguments: printf is a
 * shell builtin, so their size is bounded only by one argument's limit) with the state
 * and log directories owned by dev; then as dev clone the bundle into the repository
 * directory, point `origin` (and `upstream`) at the real URLs, and print the checked-out
 * commit. A directory already holding the clone (a create run again) is kept.
 */
const INSTALL_AND_CLONE = String.raw`set -eu
tool=$1 workspace=$2 bundle=$3 dir=$4 branch=$5 origin=$6 upstream=$7
install -d -m 0755 /opt/nexus
install -d -m 0755 -o 1000 -g 1000 /var/lib/nexus /var/log/nexus
printf '%s' "$tool" >/opt/nexus/supervisor.mjs.tmp
chmod 0755 /opt/nexus/supervisor.mjs.tmp
mv -f /opt/nexus/supervisor.mjs.tmp /opt/nexus/supervisor.mjs
printf '%s' "$workspace" >/var/lib/nexus/workspace.json
chown 1000:1000 /var/lib/nexus/workspace.json
HOME=/home/dev exec runuser -u dev -- sh -c '
  set -eu
  bundle=$1 dir=$2 branch=$3 origin=$4 upstream=$5
  if [ ! -e "$dir/.git" ]; then
    if [ -e "$dir" ]; then echo "$dir exists and is not a git checkout" >&2; exit 3; fi
    rm -rf "$dir.nexus-clone"
    git clone --quiet --branch "$branch" -- "$bundle" "$dir.nexus-clone"
    git -C "$dir.nexus-clone" remote set-url origin "$origin"
    if [ -n "$upstream" ]; then git -C "$dir.nexus-clone" remote add upstream "$upstream"; fi
    mv "$dir.nexus-clone" "$dir"
  fi
  rm -f "$bundle"
  git -C "$dir" rev-parse HEAD
' nexus-clone-as-dev "$bundle" "$dir" "$branch" "$origin" "$upstream"
`;

/** Linux refuses a single exec argument longer than this (MAX_ARG_STRLEN). */
export const MAX_ARGUMENT_BYTES = 128 * 1024;

/** Copies a repository bundle into the container (dev's, in /tmp); returns its path there. */
export async function copyBundle(provider: ProviderInstance, handle: Handle, data: Uint8Array, op: Op): Promise<string> {
  const started = Date.now();
  const path = `/tmp/nexus-${randomBytes(6).toString("hex")}.bundle`;
  await provider.writeFile(handle, path, data, op, { mode: 0o600, uid: DEV_USER.uid, gid: DEV_USER.gid });
  op.log.debug({ ms: Date.now() - started, bytes: data.byteLength }, "repository bundle copied into the workspace");
  return path;
}

export interface CloneInput {
  repoName: string;
  branch: string;
  /** In the container (copyBundle); removed once cloned. */
  bundlePath: string;
  originUrl: string;
  upstreamUrl?: string;
  workspace: WorkspaceFile;
}

/** One exec: the supervisor and workspace file in place, the bundle cloned. Returns the checked-out commit. */
export async function installAndClone(provider: ProviderInstance, handle: Handle, input: CloneInput, op: Op): Promise<string> {
  const started = Date.now();
  const workspace = JSON.stringify(input.workspace);
  if (Buffer.byteLength(workspace) >= MAX_ARGUMENT_BYTES) {
    throw new NexusError("invalid_config", "the workspace configuration is too large", { details: { bytes: Buffer.byteLength(workspace), phase: "repo_cloned" } });
  }
  const argv = ["sh", "-c", INSTALL_AND_CLONE, "nexus-clone", supervisorScript(), workspace, input.bundlePath, repoDir(input.repoName), input.branch, input.originUrl, input.upstreamUrl ?? ""];
  const result = await provider.exec(handle, argv, op, { env: ROOT_ENV });
  op.log.debug({ ms: Date.now() - started }, "repository cloned in the workspace");
  const commit = result.stdout.trim().split("\n").pop() ?? "";
  if (result.exitCode !== 0 || !/^[0-9a-f]{40,64}$/.test(commit)) {
    throw new NexusError("clone_failed", `copying the repository into the workspace failed (exit ${result.exitCode}): ${lastLines(result.stderr) || "no commit"}`, {
      details: { exit_code: result.exitCode, phase: "repo_cloned" },
    });
  }
  return commit;
}

/** Runs a supervisor command (as root: it switches to dev itself) and returns its result line. */
export async function supervisor(provider: ProviderInstance, handle: Handle, args: string[], op: Op): Promise<SupervisorResult> {
  const result = await provider.exec(handle, ["node", CONTAINER_PATHS.script, ...args], op, { env: ROOT_ENV });
  const last = result.stdout.trim().split("\n").pop() ?? "";
  try {
    const parsed = JSON.parse(last) as SupervisorResult;
    if (typeof parsed === "object" && parsed !== null && typeof parsed.ok === "boolean") return parsed;
  } catch {
    // Not a result line: reported below.
  }
  return {
    ok: false,
    stage: "supervisor",
    message: `the supervisor could not run (exit ${result.exitCode}): ${lastLines(result.stderr) || lastLines(result.stdout) || "no output"}`,
  };
}

/** The supervisor's status file, or null when there is none (no services, or never started). */
export async function readSupervisorStatus(provider: ProviderInstance, handle: Handle, op: Op): Promise<SupervisorStatus | null> {
  const result = await provider.exec(handle, ["cat", `${CONTAINER_PATHS.stateDir}/${STATUS_FILE_NAME}`], op, { env: ROOT_ENV });
  if (result.exitCode !== 0) return null;
  try {
    return JSON.parse(result.stdout) as SupervisorStatus;
  } catch {
    return null;
  }
}

/** The last `tail` lines of one service's log, or of every service's (each line prefixed with its name). */
export async function readLogs(provider: ProviderInstance, handle: Handle, service: string | undefined, tail: number, op: Op): Promise<string> {
  const file = service === undefined ? `${CONTAINER_PATHS.stateDir}/services.log` : `${CONTAINER_PATHS.logDir}/${service}.log`;
  const result = await provider.exec(handle, ["tail", "-n", String(tail), "--", file], op, { env: ROOT_ENV });
  if (result.exitCode === 0) return result.stdout;
  // No log yet: the service has not written anything (or does not exist).
  if (/No such file/i.test(result.stderr)) return "";
  throw new NexusError("internal_error", `reading the logs failed: ${lastLines(result.stderr)}`, { details: { exit_code: result.exitCode } });
}

/** The container's SSH host key, for providers that did not report one. */
export async function readHostKey(provider: ProviderInstance, handle: Handle, op: Op): Promise<string> {
  const result = await provider.exec(handle, ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"], op, { env: ROOT_ENV });
  const key = result.stdout.trim().split(/\s+/).slice(0, 2).join(" ");
  if (result.exitCode !== 0 || !key.startsWith("ssh-")) {
    throw new NexusError("provision_failed", "the workspace has no SSH host key", { details: { phase: "ssh_ready" } });
  }
  return key;
}

export function lastLines(text: string, lines = 5, chars = 1_500): string {
  const tail = text.trim().split("\n").slice(-lines).join("\n");
  return tail.length > chars ? `…${tail.slice(-chars)}` : tail;
}
