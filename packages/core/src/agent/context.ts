// What every command handler works with.
import type { Op } from "../contracts/common.js";
import { LABELS, type Handle, type ProviderInstance } from "../contracts/provider.js";
import { NexusError } from "../errors.js";
import type { Logger } from "../logger.js";
import { WorkspaceIdSchema } from "../wire/common.js";
import type { CommandJournal } from "./journal.js";
import type { MirrorCache } from "./mirror.js";
import type { ResolvedAgentOptions } from "./options.js";
import type { OutgoingEvent } from "./outbox.js";
import type { ServiceWatcher } from "./watcher.js";

/** Labels the agent puts on every container it creates. */
export const AGENT_LABELS = {
  /** The node (by name) whose agent created the container: an agent only reconciles its own. */
  node: "nexus.node",
  /** ISO time of the create, so the server can spare young orphans. */
  createdAt: "nexus.created-at",
} as const;

export interface AgentContext {
  readonly options: ResolvedAgentOptions;
  readonly provider: ProviderInstance;
  readonly mirrors: MirrorCache;
  readonly journal: CommandJournal;
  readonly watcher: ServiceWatcher;
  /** Handles of workspaces this agent created or found, by workspace id. */
  readonly handles: Map<string, Handle>;
  readonly log: Logger;
  emit(event: OutgoingEvent): void;
}

/** Containers of this node: nexus-managed, labelled with this node's name, with a workspace id. */
export async function ownHandles(ctx: AgentContext, op: Op): Promise<Handle[]> {
  const handles = await ctx.provider.list(op);
  return handles.filter((handle) => handle.labels[AGENT_LABELS.node] === ctx.options.name && handle.labels[LABELS.managed] !== "false" && WorkspaceIdSchema.safeParse(handle.workspaceId).success);
}

/** The handle the server sent, else the one known here, else the container found by its labels. */
export async function findHandle(ctx: AgentContext, workspaceId: string, given: Handle | undefined, op: Op): Promise<Handle | undefined> {
  if (given) {
    if (given.workspaceId !== workspaceId) {
      throw new NexusError("invalid_request", `the handle belongs to workspace ${given.workspaceId}, not ${workspaceId}`, { details: { workspace_id: workspaceId } });
    }
    return given;
  }
  const known = ctx.handles.get(workspaceId);
  if (known) return known;
  const found = (await ctx.provider.list(op)).find((handle) => handle.workspaceId === workspaceId);
  if (found) ctx.handles.set(workspaceId, found);
  return found;
}

export async function requireHandle(ctx: AgentContext, workspaceId: string, given: Handle | undefined, op: Op): Promise<Handle> {
  const handle = await findHandle(ctx, workspaceId, given, op);
  if (!handle) throw new NexusError("workspace_not_found", `no container for workspace ${workspaceId} on node ${ctx.options.name}`, { details: { workspace_id: workspaceId } });
  return handle;
}
