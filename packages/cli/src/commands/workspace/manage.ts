// `workspace list | status | services | logs | stop | start | delete`: read the server,
// render; state changes wait until the workspace got there (unless --no-wait).
import { NexusError, WorkspaceIdSchema, isNexusError, type WorkspaceActionResponse, type WorkspaceDetail, type WorkspaceState, type WorkspaceSummary } from "@nexus/core";
import { createSshConfig } from "@nexus/editors";
import { ExitStatus, SIGINT_STATUS } from "../../exit.js";
import type { CommandContext } from "../../io.js";
import { createPhaseProgress } from "../../progress.js";
import { serverSession } from "../../session.js";
import { withInterrupt, workspaceFailure, workspaceRef } from "./common.js";
import { renderDetail, renderList, renderServices, renderSummary } from "./view.js";
import { watchWorkspace } from "./watch.js";

const PAGE = 200;

export async function listWorkspaces(ctx: CommandContext, options: { status?: WorkspaceState | undefined } = {}): Promise<{ workspaces: WorkspaceSummary[]; total: number }> {
  const { client } = serverSession(ctx);
  const workspaces: WorkspaceSummary[] = [];
  let total = 0;
  do {
    const page = await client.listWorkspaces({ ...(options.status ? { status: options.status } : {}), limit: PAGE, offset: workspaces.length });
    workspaces.push(...page.workspaces);
    total = page.total;
    if (page.workspaces.length === 0) break;
  } while (workspaces.length < total);
  const result = { workspaces, total };
  if (workspaces.length === 0) ctx.say(options.status ? `no ${options.status} workspaces` : "no workspaces yet; create one with `nexus workspace create OWNER/REPO` (or `.` for this directory)");
  else ctx.say(renderList(ctx, workspaces));
  ctx.result(result);
  return result;
}

export async function workspaceStatus(ctx: CommandContext, ws: string, options: { watch?: boolean; signal?: AbortSignal } = {}): Promise<WorkspaceDetail | null> {
  const ref = workspaceRef(ws);
  const { client } = serverSession(ctx);
  if (!options.watch) {
    const detail = await client.getWorkspace(ref);
    ctx.say(renderDetail(ctx, detail));
    ctx.result(detail);
    return detail;
  }
  let drawnLines = 0;
  let lastText = "";
  const draw = (detail: WorkspaceDetail) => {
    const text = renderDetail(ctx, detail);
    if (text === lastText || ctx.json || ctx.quiet) return;
    lastText = text;
    if (ctx.interactive && drawnLines > 0) ctx.io.stdout.write(`\x1b[${drawnLines}F\x1b[0J`);
    else if (drawnLines > 0) ctx.io.stdout.write("\n");
    ctx.io.stdout.write(`${text}\n`);
    drawnLines = text.split("\n").length;
  };
  const outcome = await withInterrupt(options.signal, (signal) =>
    watchWorkspace(client, ref, { signal, onUpdate: draw, done: (d) => d.status === "error" || d.status === "deleted" }),
  );
  if (outcome.kind === "gone") {
    if (outcome.last === undefined) throw notFound(ref);
    ctx.say(`workspace ${outcome.last.workspace_name} was deleted`);
    const gone = { ...outcome.last, status: "deleted" as const };
    ctx.result(gone);
    return null;
  }
  const detail = outcome.kind === "done" ? outcome.detail : outcome.last;
  if (detail) ctx.result(detail);
  return detail ?? null;
}

export async function workspaceServices(ctx: CommandContext, ws: string) {
  const { client } = serverSession(ctx);
  const result = await client.getServices(workspaceRef(ws));
  ctx.say(renderServices(ctx, result.services));
  ctx.result(result);
  return result;
}

export interface LogsInput {
  service?: string | undefined;
  tail?: number | undefined;
  follow?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

export async function workspaceLogs(ctx: CommandContext, ws: string, input: LogsInput = {}): Promise<{ workspace: string; service: string | null; logs: string }> {
  const ref = workspaceRef(ws);
  const { client } = serverSession(ctx);
  const query = { ...(input.service ? { service: input.service } : {}), ...(input.tail !== undefined ? { tail: input.tail } : {}) };
  const printRaw = (text: string) => {
    if (!ctx.json && !ctx.quiet) ctx.io.stdout.write(text);
  };
  let logs = "";
  if (!input.follow) {
    logs = await client.logs(ref, query);
    printRaw(logs);
  } else {
    await withInterrupt(input.signal, async (signal) => {
      try {
        for await (const chunk of client.streamLogs(ref, query, { signal })) {
          logs += chunk;
          printRaw(chunk);
        }
      } catch (error) {
        if (!signal.aborted) throw error;
      }
    });
  }
  const result = { workspace: ws, service: input.service ?? null, logs };
  ctx.result(result);
  return result;
}

export interface ChangeInput {
  force?: boolean | undefined;
  wait?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

type Change = "stop" | "start" | "delete";

const TARGET: Record<Change, { doing: string; done: string; until: (d: WorkspaceDetail) => boolean }> = {
  stop: { doing: "stopping", done: "stopped", until: (d) => d.status === "stopped" || d.status === "error" },
  start: { doing: "starting", done: "running", until: (d) => d.status === "running" || d.status === "error" },
  // A deleted workspace disappears (404); `error` means the delete itself failed.
  delete: { doing: "deleting", done: "deleted", until: (d) => d.status === "error" },
};

/**
 * stop / start / delete, waiting for the workspace to get there. A plain delete of a running
 * workspace stops it first (its services get SIGTERM and their grace period), then deletes it;
 * `--force` deletes it at once.
 */
export async function changeWorkspace(ctx: CommandContext, change: Change, ws: string, input: ChangeInput = {}): Promise<unknown> {
  const ref = workspaceRef(ws);
  const { client, home } = serverSession(ctx);
  const progress = createPhaseProgress(ctx);
  let name = ws;
  // A plain delete looks first (a running workspace is stopped before it goes); so does one
  // by id, for the name its SSH entry is kept under.
  if (change === "delete" && (!input.force || WorkspaceIdSchema.safeParse(ref).success)) {
    const current = await client.getWorkspace(ref);
    name = current.workspace_name;
    if (current.status === "running" && !input.force) {
      const stopped = await request(client, "stop", ref, ws, {});
      await waitFor(ctx, client, progress, "stop", stopped, name, input.signal);
    }
  }
  const accepted = await request(client, change, ref, ws, input);
  if (change === "delete") {
    // The nexus SSH config entry and pinned key of a deleted workspace are stale; entries are
    // keyed by name, whichever reference the user typed.
    await createSshConfig({ nexusHome: home, env: ctx.io.env }).removeWorkspaceEntry(name).catch(() => false);
  }
  if (input.wait === false) {
    ctx.say(`workspace ${name} is ${accepted.status}`);
    ctx.result(accepted);
    return accepted;
  }
  const result = await waitFor(ctx, client, progress, change, accepted, name, input.signal);
  if (change === "start") ctx.say(renderSummary(ctx, result as WorkspaceDetail));
  else if (!ctx.interactive) ctx.say(`workspace ${name} ${TARGET[change].done}`);
  ctx.result(result);
  return result;
}

type Client = ReturnType<typeof serverSession>["client"];

async function request(client: Client, change: Change, ref: string, ws: string, input: ChangeInput): Promise<WorkspaceActionResponse> {
  try {
    return change === "stop" ? await client.stop(ref, input.force ? { force: true } : {})
      : change === "start" ? await client.start(ref)
      : await client.delete(ref, input.force ? { force: true } : {});
  } catch (error) {
    throw explainTransition(error, change, ws);
  }
}

/** Follows the workspace until the change is done; the deleted document, or the final detail. */
async function waitFor(
  ctx: CommandContext,
  client: Client,
  progress: ReturnType<typeof createPhaseProgress>,
  change: Change,
  accepted: WorkspaceActionResponse,
  name: string,
  interrupt: AbortSignal | undefined,
): Promise<WorkspaceDetail | { workspace_id: string; workspace_name: string; status: "deleted" }> {
  const target = TARGET[change];
  progress.step(`${target.doing} ${name}`);
  const started = Date.now();
  const outcome = await withInterrupt(interrupt, (signal) =>
    watchWorkspace(client, accepted.workspace_id, {
      signal,
      // Phases of a start are drawn like a create's.
      ...(change === "start" ? { onUpdate: (d: WorkspaceDetail) => progress.update(d) } : {}),
      done: target.until,
    }),
  );
  if (outcome.kind === "interrupted") {
    progress.stop();
    ctx.warn(`stopped waiting; workspace ${name} is still ${target.doing}. Check it with \`nexus workspace status ${name}\`.`);
    throw new ExitStatus(SIGINT_STATUS);
  }
  if (outcome.kind === "gone") {
    if (change !== "delete") {
      progress.stop();
      throw notFound(name);
    }
    progress.done(`deleted ${name}`, Date.now() - started);
    return { workspace_id: accepted.workspace_id, workspace_name: outcome.last?.workspace_name ?? name, status: "deleted" };
  }
  const detail = outcome.detail;
  if (detail.status === "error") {
    const failure = workspaceFailure(detail, change);
    progress.stop(failure.message);
    throw failure;
  }
  progress.done(`${name} ${target.done}`, Date.now() - started);
  return detail;
}

function notFound(ws: string): NexusError {
  return new NexusError("workspace_not_found", `no workspace named ${ws}`, { details: { workspace: ws } });
}

/** A 409 says the workspace is in the wrong state; say which command gets it there. */
function explainTransition(error: unknown, change: Change, ws: string): unknown {
  if (!isNexusError(error) || error.code !== "invalid_transition") return error;
  const hints: Record<Change, string> = {
    stop: `Only a running workspace can be stopped; see its state with \`nexus workspace status ${ws}\`.`,
    start: `Only a stopped workspace can be started; see its state with \`nexus workspace status ${ws}\`.`,
    delete: `The workspace is busy; see its state with \`nexus workspace status ${ws}\`, or delete it whatever it is doing with \`nexus workspace delete ${ws} --force\`.`,
  };
  return new NexusError("invalid_transition", error.message, { details: error.details, hint: hints[change], cause: error });
}
