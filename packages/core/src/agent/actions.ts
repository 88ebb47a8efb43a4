// Every command but create: start, stop, delete, exec, logs, and the reconcile view.
import type { Op } from "../contracts/common.js";
import type { Handle } from "../contracts/provider.js";
import { NexusError } from "../errors.js";
import type { ObservedWorkspace } from "../wire/nodes.js";
import { TimestampSchema } from "../wire/common.js";
import { readLogs, supervisor } from "./container.js";
import { AGENT_LABELS, findHandle, ownHandles, requireHandle, type AgentContext } from "./context.js";
import { sshProbeHost, supervisorFailure } from "./create.js";
import { waitForSshBanner } from "./ssh-ready.js";
import { withDeadline } from "./timing.js";

const CONTAINER_STEP_MS = 3 * 60_000;
const SERVICES_STEP_MS = 35 * 60_000;
const EXEC_DEFAULT_SECONDS = 600;
/** Results travel in one request body (≤ 1 MiB): long output keeps its end. */
const MAX_OUTPUT_CHARS = 256 * 1024;
const MAX_LOG_CHARS = 900 * 1024;

function keepEnd(text: string, max: number): string {
  return text.length > max ? text.slice(text.length - max) : text;
}

/** Provider start, SSH, then pre_start, services (healthy) and post_start. */
export async function startWorkspace(ctx: AgentContext, workspaceId: string, given: Handle | undefined, op: Op): Promise<void> {
  const handle = await requireHandle(ctx, workspaceId, given, op);
  await withDeadline(op, CONTAINER_STEP_MS, "starting the container", (o) => ctx.provider.start(handle, o));
  const observed = await ctx.provider.inspect(handle, op);
  const sshPort = handle.sshPort ?? observed.sshPort;
  if (sshPort !== undefined) {
    await withDeadline(op, 60_000, "waiting for the SSH server", (o) => waitForSshBanner(sshProbeHost(undefined), sshPort, o.signal));
  }
  const result = await withDeadline(op, SERVICES_STEP_MS, "starting the services", (o) => supervisor(ctx.provider, handle, ["up"], o));
  if (result.status) ctx.watcher.watch(workspaceId, handle, result.status);
  if (!result.ok) throw supervisorFailure(result, result.stage === "services" ? "services_healthy" : "services_started");
}

/** pre_stop and the services (reverse order), then the container. `force` skips the graceful part. */
export async function stopWorkspace(ctx: AgentContext, workspaceId: string, given: Handle | undefined, force: boolean, op: Op): Promise<void> {
  ctx.watcher.unwatch(workspaceId);
  const handle = await requireHandle(ctx, workspaceId, given, op);
  if (!force) {
    const observed = await ctx.provider.inspect(handle, op);
    if (observed.state === "running") {
      // A failing pre_stop or supervisor must not keep the workspace from stopping.
      const result = await withDeadline(op, CONTAINER_STEP_MS, "stopping the services", (o) => supervisor(ctx.provider, handle, ["down"], o)).catch((error: unknown) => {
        ctx.log.warn({ err: error, workspace_id: workspaceId }, "stopping the services failed; stopping the container anyway");
        return undefined;
      });
      if (result && (!result.ok || result.stage === "pre_stop")) ctx.log.warn({ workspace_id: workspaceId, stage: result.stage, message: result.message }, "a step of the graceful stop failed");
    }
  }
  await withDeadline(op, CONTAINER_STEP_MS, "stopping the container", (o) => ctx.provider.stop(handle, o));
}

/** Removes the container; one that is already gone is success. */
export async function deleteWorkspace(ctx: AgentContext, workspaceId: string, given: Handle | undefined, op: Op): Promise<void> {
  ctx.watcher.unwatch(workspaceId);
  const handle = await findHandle(ctx, workspaceId, given, op);
  if (handle) await withDeadline(op, CONTAINER_STEP_MS, "removing the container", (o) => ctx.provider.destroy(handle, o));
  ctx.handles.delete(workspaceId);
}

export interface ExecInput {
  argv: string[];
  user?: string | number | undefined;
  cwd?: string | undefined;
  env?: Record<string, string> | undefined;
  stdin?: string | undefined;
  timeout_seconds?: number | undefined;
}

export async function execInWorkspace(ctx: AgentContext, workspaceId: string, given: Handle | undefined, input: ExecInput, op: Op) {
  const handle = await requireHandle(ctx, workspaceId, given, op);
  const seconds = input.timeout_seconds ?? EXEC_DEFAULT_SECONDS;
  const result = await withDeadline(op, seconds * 1000, `the command ${JSON.stringify(input.argv[0])}`, (o) =>
    ctx.provider.exec(handle, input.argv, o, {
      ...(input.user === undefined ? {} : { user: input.user }),
      ...(input.cwd === undefined ? {} : { cwd: input.cwd }),
      ...(input.env === undefined ? {} : { env: input.env }),
      ...(input.stdin === undefined ? {} : { stdin: input.stdin }),
    }),
  );
  return { exit_code: result.exitCode, stdout: keepEnd(result.stdout, MAX_OUTPUT_CHARS), stderr: keepEnd(result.stderr, MAX_OUTPUT_CHARS) };
}

export async function workspaceLogs(ctx: AgentContext, workspaceId: string, given: Handle | undefined, service: string | undefined, tail: number, op: Op): Promise<string> {
  const handle = await requireHandle(ctx, workspaceId, given, op);
  const observed = await ctx.provider.inspect(handle, op);
  if (observed.state !== "running") {
    throw new NexusError("invalid_transition", `the workspace is ${observed.state}: logs are read from the running container`, {
      details: { workspace_id: workspaceId, state: observed.state },
      hint: "Start it with `nexus workspace start <name>`.",
    });
  }
  return keepEnd(await withDeadline(op, 60_000, "reading the logs", (o) => readLogs(ctx.provider, handle, service, tail, o)), MAX_LOG_CHARS);
}

/** What the provider holds for this node: every labelled container and its state. */
export async function observeWorkspaces(ctx: AgentContext, op: Op): Promise<ObservedWorkspace[]> {
  const handles = await ownHandles(ctx, op);
  const observed: ObservedWorkspace[] = [];
  for (const handle of handles) {
    if (!ctx.handles.has(handle.workspaceId)) ctx.handles.set(handle.workspaceId, handle);
    const state = await ctx.provider.inspect(handle, op).catch((error: unknown) => ({ state: "error" as const, reason: (error as Error).message }));
    const createdAt = handle.labels[AGENT_LABELS.createdAt];
    observed.push({
      workspace_id: handle.workspaceId,
      state: state.state,
      handle,
      ...(createdAt !== undefined && TimestampSchema.safeParse(createdAt).success ? { created_at: createdAt } : {}),
      ...(state.reason === undefined ? {} : { reason: state.reason.slice(0, 2000) }),
    });
  }
  return observed;
}
