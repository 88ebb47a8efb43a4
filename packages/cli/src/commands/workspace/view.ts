// How workspaces look in a terminal: the list table, the detail view, the services
// table and the summary printed when a create or start finishes.
import { CREATE_PHASES, type ListServicesResponse, type WorkspaceDetail, type WorkspaceSummary } from "@nexus/core";
import type { CommandContext } from "../../io.js";
import { PHASE_DONE } from "../../progress.js";
import { formatDuration, table } from "../../render.js";

/** `ssh -p <port> dev@<host>`, or undefined until the workspace has an SSH endpoint. */
export function sshCommand(detail: WorkspaceDetail): string | undefined {
  const { host, port, user } = detail.ssh;
  if (!host || !port) return undefined;
  return `ssh -p ${port} ${user}@${host}`;
}

export function formatAge(createdAt: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.floor((now - Date.parse(createdAt)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

function colorStatus(ctx: CommandContext, status: string, health?: string): string {
  const { green, red, yellow, dim } = ctx.colors;
  const text = health === "degraded" ? `${status} (degraded)` : status;
  if (status === "running") return health === "degraded" ? yellow(text) : green(text);
  if (status === "error") return red(text);
  if (status === "stopped") return dim(text);
  return yellow(text);
}

function colorHealth(ctx: CommandContext, health: string): string {
  const { green, red, dim } = ctx.colors;
  if (health === "healthy") return green(health);
  if (health === "unhealthy") return red(health);
  return dim(health);
}

export function renderList(ctx: CommandContext, workspaces: readonly WorkspaceSummary[]): string {
  return table(
    ctx,
    ["name", "status", "provider", "node", "ssh port", "services", "age"],
    workspaces.map((w) => [w.workspace_name, colorStatus(ctx, w.status), w.provider, w.node, w.ssh_port, w.services_count, formatAge(w.created_at)]),
  );
}

function serviceAddress(service: { local_port: number | null; url: string | null; port: number | null }): string | undefined {
  if (service.url) return service.url;
  if (service.local_port) return `localhost:${service.local_port}`;
  return service.port ? `:${service.port} (not forwarded)` : undefined;
}

export function renderServices(ctx: CommandContext, services: ListServicesResponse["services"]): string {
  if (services.length === 0) return "no services";
  return table(
    ctx,
    ["service", "status", "health", "port", "local", "depends on", "last error"],
    services.map((s) => [s.name, s.status, colorHealth(ctx, s.health), s.port, serviceAddress(s), s.depends_on.join(", ") || undefined, s.last_error]),
  );
}

/** The detail view of `workspace status`. */
export function renderDetail(ctx: CommandContext, detail: WorkspaceDetail): string {
  const { bold, dim, red } = ctx.colors;
  const lines: string[] = [];
  lines.push(`${bold(detail.workspace_name)}  ${colorStatus(ctx, detail.status, detail.health)}  ${dim(detail.workspace_id)}`);
  lines.push(`  provider    ${detail.provider}${detail.node ? ` on ${detail.node}` : ""}`);
  const repo = detail.repository;
  lines.push(`  repository  ${repo.owner}/${repo.name}@${repo.branch}${repo.commit ? ` (${repo.commit.slice(0, 12)})` : ""}${repo.upstream ? dim(`  fork of ${repo.upstream.owner}/${repo.upstream.name}`) : ""}`);
  const ssh = sshCommand(detail);
  lines.push(`  ssh         ${ssh ?? dim("not yet assigned")}${ssh ? dim(`  (nexus workspace ssh ${detail.workspace_name})`) : ""}`);
  lines.push(`  path        ${detail.ssh.path}`);
  lines.push(`  created     ${detail.created_at} (${formatAge(detail.created_at)} ago)`);
  if (detail.error) {
    lines.push(`  ${red("error")}       [${detail.error.code}] ${detail.error.message}${detail.error.phase ? ` (phase ${detail.error.phase})` : ""}`);
  }
  if (detail.phases.length > 0) {
    lines.push("", bold("phases"));
    const ordered = [...detail.phases].sort((a, b) => CREATE_PHASES.indexOf(a.name) - CREATE_PHASES.indexOf(b.name));
    for (const phase of ordered) {
      const failed = detail.error?.phase === phase.name;
      const state = phase.duration_ms === null ? (failed ? red("failed") : dim("running")) : formatDuration(phase.duration_ms);
      lines.push(`  ${(failed ? red("✖") : phase.duration_ms === null ? "…" : ctx.colors.green("✔"))} ${PHASE_DONE[phase.name].padEnd(22)} ${state}`);
    }
  }
  const services = Object.values(detail.services);
  if (services.length > 0) {
    lines.push("", bold("services"));
    lines.push(
      table(
        ctx,
        ["service", "status", "health", "local", "last error"],
        services.map((s) => [s.name, s.status, colorHealth(ctx, s.health), serviceAddress(s), s.last_error]),
      )
        .split("\n")
        .map((l) => `  ${l}`)
        .join("\n"),
    );
  }
  return lines.join("\n");
}

/** The few lines printed when a workspace is up. */
export function renderSummary(ctx: CommandContext, detail: WorkspaceDetail, elapsedMs?: number): string {
  const { bold, green, yellow, dim } = ctx.colors;
  const degraded = detail.health === "degraded";
  const head = degraded ? yellow(`workspace ${detail.workspace_name} is running, but some services are unhealthy`) : green(`workspace ${detail.workspace_name} is running`);
  const lines = [`${head}${elapsedMs === undefined ? "" : dim(` (${formatDuration(elapsedMs)})`)}`];
  const ssh = sshCommand(detail);
  if (ssh) lines.push(`  ${bold("ssh")}       ${ssh}`);
  lines.push(`  ${bold("path")}      ${detail.ssh.path}`);
  for (const s of Object.values(detail.services)) {
    lines.push(`  ${bold(s.name.padEnd(9))} ${colorHealth(ctx, s.health)}${serviceAddress(s) ? `  ${serviceAddress(s)}` : ""}${s.last_error ? dim(`  ${s.last_error}`) : ""}`);
  }
  lines.push(dim(`next: nexus workspace connect ${detail.workspace_name}`));
  return lines.join("\n");
}
