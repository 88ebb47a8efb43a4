// The agent plane (SPEC §5, §6) and the admin node routes: registration with a join
// token, heartbeats and the offline sweep, command delivery by long-poll, command
// results and node events turned into workspace state, and reconciliation.
import { NexusError } from "../errors.js";
import { REPO_LABELS } from "../contracts/provider.js";
import type { Logger } from "../logger.js";
import { Secret } from "../secret.js";
import { hashToken, type CommandRecord, type JsonObject, type NodeRecord, type Store, type WorkspaceRecord } from "../contracts/store.js";
import type { NodeHealthSchema } from "../wire/health.js";
import { AgentCommandSchema } from "../wire/nodes.js";
import type {
  AgentCommand,
  CommandResultBodySchema,
  CreateNodeTokenResponse,
  HeartbeatResponse,
  ListNodesResponse,
  NodeEvent,
  NodeInfo,
  ObservedWorkspace,
  RegisterNodeResponse,
} from "../wire/nodes.js";
import { z } from "zod";
import { transition } from "../state.js";
import { msSince, type Clock } from "./clock.js";
import type { CommandQueue } from "./command-queue.js";
import type { WorkspaceEvents } from "./events.js";
import type { WorkspaceLifecycle } from "./lifecycle.js";
import type { ResolvedServicesOptions } from "./options.js";
import type { PhaseBook } from "./phases.js";
import { providerHealthy, type Scheduler } from "./scheduler.js";
import { newToken } from "./tokens.js";

type CommandResult = z.output<typeof CommandResultBodySchema>;
type NodeHealth = z.output<typeof NodeHealthSchema>;

export interface RegisterNodeInput {
  name: string;
  providers: string[];
  ssh_host: string;
  ssh_port_range: { start: number; end: number };
  capacity: { max_workspaces: number; cpu?: number | undefined; memory_bytes?: number | undefined; disk_bytes?: number | undefined };
  version: string;
}

export interface HeartbeatInput {
  version: string;
  providers: readonly { name: string; ok: boolean; version?: string | undefined; reason?: string | undefined; warnings?: string[] | undefined }[];
  workspaces: number;
}

export interface NodeServiceDeps {
  store: Store;
  clock: Clock;
  queue: CommandQueue;
  lifecycle: WorkspaceLifecycle;
  phases: PhaseBook;
  events: WorkspaceEvents;
  scheduler: Scheduler;
  options: ResolvedServicesOptions;
  log: Logger;
}

/** Workspace states whose container should exist on the node. */
const HOLDS_CONTAINER = new Set<WorkspaceRecord["status"]>(["running", "stopped", "stopping", "starting"]);

export class NodeService {
  constructor(private readonly deps: NodeServiceDeps) {}

  async register(body: RegisterNodeInput): Promise<RegisterNodeResponse> {
    const { store, options, log } = this.deps;
    const node = await store.nodes.register({
      name: body.name,
      providers: body.providers,
      ssh_host: body.ssh_host,
      ssh_port_range: [body.ssh_port_range.start, body.ssh_port_range.end],
      capacity: definedOnly(body.capacity) as NodeRecord["capacity"],
      info: { version: body.version },
    });
    await store.nodes.heartbeat(node.node_id, { at: this.#now() });
    const token = newToken("node");
    await store.tokens.create({ hash: hashToken(token), kind: "node", node_id: node.node_id });
    log.info({ node_id: node.node_id, node: node.name, providers: node.providers }, `node ${node.name} registered`);
    await this.deps.scheduler.pass();
    return { node_id: node.node_id, node_token: token, heartbeat_interval_seconds: options.heartbeatIntervalSeconds };
  }

  async heartbeat(nodeId: string, body: HeartbeatInput): Promise<HeartbeatResponse> {
    const { store, log } = this.deps;
    const before = await this.#node(nodeId);
    const node = await store.nodes.heartbeat(nodeId, {
      at: this.#now(),
      status: "online",
      info: { version: body.version, providers: body.providers.map((p) => definedOnly(p)), workspaces: body.workspaces },
    });
    const recovered = node.providers.some((provider) => !providerHealthy(before, provider) && providerHealthy(node, provider));
    if (before.status === "offline" || recovered) {
      log.info({ node_id: nodeId }, before.status === "offline" ? `node ${node.name} is back online` : `node ${node.name}'s engine is healthy again`);
      await this.deps.scheduler.pass();
    }
    return { status: node.status, server_time: this.#now() };
  }

  /** Marks nodes offline after the configured number of missed heartbeats; returns their ids. */
  async sweepOffline(): Promise<string[]> {
    const { store, options, clock, log } = this.deps;
    const limitMs = options.heartbeatIntervalSeconds * options.missedHeartbeats * 1000;
    const marked: string[] = [];
    for (const node of await store.nodes.list()) {
      if (node.status !== "online") continue;
      if (msSince(clock, node.last_heartbeat ?? node.registered_at) <= limitMs) continue;
      await store.nodes.setStatus(node.node_id, "offline");
      log.warn({ node_id: node.node_id }, `node ${node.name} is offline: no heartbeat for ${options.missedHeartbeats * options.heartbeatIntervalSeconds} s`);
      marked.push(node.node_id);
    }
    return marked;
  }

  /** Long-poll: the node's commands (secrets attached), waiting up to `waitSeconds` when there are none. */
  async poll(nodeId: string, waitSeconds: number, signal?: AbortSignal): Promise<AgentCommand[]> {
    await this.#node(nodeId);
    const claimed = await this.deps.queue.poll(nodeId, waitSeconds * 1000, signal);
    const commands: AgentCommand[] = [];
    for (const record of claimed) {
      const command = toAgentCommand(record);
      // A command the wire cannot carry would fail every poll of this node: it fails alone instead.
      const wire = z.safeEncode(AgentCommandSchema, command);
      if (wire.success) {
        commands.push(command);
        continue;
      }
      this.deps.log.error({ command_id: record.command_id, type: record.type, issues: wire.error.issues.slice(0, 3) }, "a queued command does not match the wire schema");
      const failed = await this.deps.store.commands.complete(nodeId, record.command_id, {
        ok: false,
        error: { code: "internal_error", message: "the server queued a command the agent protocol cannot carry" },
      });
      this.deps.queue.settle(failed);
    }
    return commands;
  }

  async complete(nodeId: string, commandId: string, body: CommandResult): Promise<{ accepted: boolean }> {
    const { store, scheduler, queue } = this.deps;
    const applied = await scheduler.exclusive(async () => {
      const command = await store.commands.get(commandId);
      if (!command) throw new NexusError("not_found", `no command ${commandId}`, { details: { command_id: commandId } });
      if (command.node_id !== nodeId) throw new NexusError("forbidden", `command ${commandId} belongs to another node`, { details: { command_id: commandId } });
      if (command.status === "succeeded" || command.status === "failed") return undefined;
      if (body.type !== command.type) {
        throw new NexusError("invalid_request", `the result is for a ${body.type} command, but ${commandId} is a ${command.type} command`, {
          details: { command_id: commandId, command_type: command.type, result_type: body.type },
        });
      }
      const done = await store.commands.complete(
        nodeId,
        commandId,
        body.ok
          ? { ok: true, result: body.data as unknown as JsonObject }
          : { ok: false, error: { code: body.error.code, message: body.error.message, ...(body.error.details ? { details: body.error.details } : {}), ...(body.error.phase ? { phase: body.error.phase } : {}) } },
      );
      await this.#applyResult(done, body);
      return done;
    });
    if (!applied) return { accepted: false };
    queue.settle(applied);
    // A finished create frees a create slot; a finished delete frees room on the node.
    if (applied.type === "create" || applied.type === "delete") await scheduler.pass();
    return { accepted: true };
  }

  async applyEvents(nodeId: string, events: readonly NodeEvent[]): Promise<{ accepted: number }> {
    await this.#node(nodeId);
    const accepted = await this.deps.scheduler.exclusive(async () => {
      let count = 0;
      for (const event of events) if (await this.#applyEvent(nodeId, event)) count++;
      return count;
    });
    return { accepted };
  }

  async list(): Promise<ListNodesResponse> {
    const { store } = this.deps;
    const counts = await this.#workspaceCounts();
    return { nodes: (await store.nodes.list()).map((node) => nodeInfo(node, counts.get(node.node_id) ?? 0)) };
  }

  /** `/health`'s nodes, keyed by name. */
  async health(): Promise<Record<string, NodeHealth>> {
    const counts = await this.#workspaceCounts();
    return Object.fromEntries(
      (await this.deps.store.nodes.list()).map((node) => [node.name, { status: node.status, last_heartbeat: node.last_heartbeat, workspaces: counts.get(node.node_id) ?? 0 }]),
    );
  }

  /** A join token (reusable until it expires, so a restarting agent can register again). */
  async createJoinToken(body: { description?: string | undefined; ttl_seconds: number }): Promise<CreateNodeTokenResponse> {
    const token = newToken("join");
    const expires = new Date(this.deps.clock.now().getTime() + body.ttl_seconds * 1000).toISOString();
    await this.deps.store.tokens.create({ hash: hashToken(token), kind: "join", expires_at: expires });
    this.deps.log.info({ expires_at: expires, description: body.description }, "join token created");
    return { token, expires_at: expires, ...(body.description === undefined ? {} : { description: body.description }) };
  }

  async #workspaceCounts(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const workspace of await this.deps.store.workspaces.listAll()) {
      if (workspace.node_id !== null) counts.set(workspace.node_id, (counts.get(workspace.node_id) ?? 0) + 1);
    }
    return counts;
  }

  async #node(nodeId: string): Promise<NodeRecord> {
    const node = await this.deps.store.nodes.get(nodeId);
    if (!node) throw new NexusError("not_found", `no node ${nodeId}`, { details: { node_id: nodeId } });
    return node;
  }

  /** The node's workspace, or undefined when the id is unknown, gone, or placed elsewhere. */
  async #workspaceOn(nodeId: string, workspaceId: string | null): Promise<WorkspaceRecord | undefined> {
    if (workspaceId === null) return undefined;
    const workspace = await this.deps.store.workspaces.get(workspaceId);
    return workspace && workspace.node_id === nodeId && workspace.status !== "deleted" ? workspace : undefined;
  }

  async #applyResult(command: CommandRecord, body: CommandResult): Promise<void> {
    const { lifecycle, scheduler, store, clock, log } = this.deps;
    if (body.type === "reconcile") {
      if (body.ok) await this.#reconcile(command.node_id, body.data.workspaces, true);
      return;
    }
    if (body.type === "logs" || body.type === "exec") return;
    const workspace = await this.#workspaceOn(command.node_id, command.workspace_id);
    const expected = { create: "creating", start: "starting", stop: "stopping", delete: "deleting" } as const;
    if (!workspace || workspace.status !== expected[body.type]) {
      log.info({ command_id: command.command_id, type: body.type, status: workspace?.status ?? null }, "result for a workspace that has moved on: ignored");
      return;
    }
    if (!body.ok) {
      await lifecycle.fail(workspace, { code: body.error.code, message: body.error.message, ...(body.error.phase ? { phase: body.error.phase } : {}) });
      return;
    }
    switch (body.type) {
      case "create":
        await lifecycle.move(workspace, "created", { handle: body.data.handle, host_key: body.data.host_key, repo: checkedOut(workspace.repo, body.data.handle.labels) });
        scheduler.recordCreateDuration(msSince(clock, workspace.created_at));
        break;
      case "start":
        await lifecycle.move(workspace, "started");
        break;
      case "stop": {
        await lifecycle.move(workspace, "stopped");
        for (const service of await store.services.list(workspace.workspace_id)) {
          lifecycle.publishService(await store.services.upsert(workspace.workspace_id, { name: service.name, status: "stopped", health: "unknown" }));
        }
        break;
      }
      case "delete":
        transition(workspace.status, "deleted");
        await lifecycle.remove(workspace);
        break;
    }
  }

  async #applyEvent(nodeId: string, event: NodeEvent): Promise<boolean> {
    const { store, lifecycle, phases, events } = this.deps;
    if (event.type === "observed") {
      await this.#reconcile(nodeId, event.workspaces, event.complete);
      return true;
    }
    const workspace = await this.#workspaceOn(nodeId, event.workspace_id);
    if (!workspace) return false;
    switch (event.type) {
      case "phase": {
        if (event.state === "started") phases.started(workspace.workspace_id, event.name, event.started_at);
        else {
          const duration = event.duration_ms ?? Math.max(0, new Date(event.at).getTime() - new Date(event.started_at).getTime());
          await phases.finished(workspace.workspace_id, { name: event.name, started_at: event.started_at, duration_ms: duration });
        }
        events.publish(event);
        if (event.state === "failed" && workspace.status === "creating") {
          await lifecycle.fail(workspace, {
            code: event.error?.code ?? "provision_failed",
            message: event.error?.message ?? `phase ${event.name} failed`,
            phase: event.name,
          });
        }
        return true;
      }
      case "service": {
        const service = await store.services.upsert(workspace.workspace_id, {
          name: event.name,
          status: event.status,
          health: event.health,
          last_check: event.last_check,
          last_error: event.last_error,
        });
        lifecycle.publishService(service);
        await lifecycle.refreshHealth(workspace, await store.services.list(workspace.workspace_id));
        return true;
      }
      case "workspace_status":
        await this.#observedStatus(workspace, event.status, event.error);
        return true;
    }
  }

  /** A status the agent noticed by itself (a container died or stopped, or came back). */
  async #observedStatus(workspace: WorkspaceRecord, status: WorkspaceRecord["status"], error?: { code: string; message: string; phase?: string | undefined }): Promise<void> {
    const { lifecycle, store } = this.deps;
    if (workspace.status === status || workspace.status === "deleting") return;
    // A stop or start still on its way to the agent (say, one queued while the agent was
    // down) settles the workspace itself: the container's state before it runs says nothing.
    const command = IN_FLIGHT[workspace.status];
    if (command !== undefined && status !== "error" && workspace.node_id !== null) {
      const pending = await store.commands.listPending(workspace.node_id);
      if (pending.some((c) => c.workspace_id === workspace.workspace_id && c.type === command)) return;
    }
    if (status === "error") {
      if (workspace.status === "error") return;
      await lifecycle.fail(workspace, error ? { code: error.code, message: error.message, ...(error.phase ? { phase: error.phase } : {}) } : { code: "internal_error", message: "the agent reported an error" });
    } else if (status === "stopped" && (workspace.status === "running" || workspace.status === "starting")) {
      await lifecycle.set(workspace, "stopped");
    } else if (status === "running" && (workspace.status === "stopped" || workspace.status === "stopping")) {
      await lifecycle.set(workspace, "running");
    }
  }

  /**
   * What the node holds against what the database says (SPEC §6): rows whose container is
   * missing become `error`; containers without a row, older than the grace period, are
   * deleted; a deleting workspace whose container is already gone is removed.
   */
  async #reconcile(nodeId: string, observed: readonly ObservedWorkspace[], complete: boolean): Promise<void> {
    const { store, queue, clock, options, log } = this.deps;
    const seen = new Map(observed.map((o) => [o.workspace_id, o]));
    const pendingDeletes = new Set((await store.commands.listPending(nodeId)).filter((c) => c.type === "delete").map((c) => c.workspace_id));
    for (const o of observed) {
      const workspace = await this.#workspaceOn(nodeId, o.workspace_id);
      if (!workspace) {
        if (o.state === "absent" || pendingDeletes.has(o.workspace_id)) continue;
        // No created_at means no way to tell its age: without a row it is not ours to keep.
        const age = o.created_at === undefined ? Number.POSITIVE_INFINITY : msSince(clock, o.created_at);
        if (age < options.orphanGraceMs) continue;
        await queue.enqueue({ node_id: nodeId, workspace_id: o.workspace_id, type: "delete", payload: o.handle ? { handle: o.handle as unknown as JsonObject } : {} });
        log.warn({ node_id: nodeId, workspace_id: o.workspace_id }, "orphan container (no workspace row): delete ordered");
        continue;
      }
      if (o.state === "absent") await this.#missing(workspace);
      else {
        const current = o.handle && workspace.handle === null ? await store.workspaces.update(workspace.workspace_id, { handle: o.handle }) : workspace;
        if (o.state === "running" || o.state === "stopped") await this.#observedStatus(current, o.state);
      }
    }
    if (!complete) return;
    for (const workspace of await store.workspaces.listByNode(nodeId)) {
      if (!seen.has(workspace.workspace_id)) await this.#missing(workspace);
    }
  }

  async #missing(workspace: WorkspaceRecord): Promise<void> {
    const { lifecycle, store } = this.deps;
    if (workspace.status === "deleting") {
      transition(workspace.status, "deleted");
      await lifecycle.remove(workspace);
    } else if (HOLDS_CONTAINER.has(workspace.status)) {
      const node = workspace.node_id === null ? undefined : await store.nodes.get(workspace.node_id);
      await lifecycle.fail(workspace, { code: "provision_failed", message: `container disappeared from node ${node?.name ?? workspace.node_id}` });
    }
  }

  #now(): string {
    return this.deps.clock.now().toISOString();
  }
}

/** The command a transitional status waits for. */
const IN_FLIGHT: Partial<Record<WorkspaceRecord["status"], "stop" | "start">> = { stopping: "stop", starting: "start" };

function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function nodeInfo(node: NodeRecord, workspaces: number): NodeInfo {
  const version = typeof node.info.version === "string" ? node.info.version : "unknown";
  return {
    node_id: node.node_id,
    name: node.name,
    status: node.status,
    providers: node.providers,
    ssh_host: node.ssh_host,
    ssh_port_range: { start: node.ssh_port_range[0], end: node.ssh_port_range[1] },
    capacity: node.capacity,
    version,
    registered_at: node.registered_at,
    last_heartbeat: node.last_heartbeat,
    workspaces,
  };
}

/** A stored command in its wire form; secrets become Secrets, revealed only when the response is encoded. */
export function toAgentCommand(record: CommandRecord): AgentCommand {
  const payload: Record<string, unknown> = { ...record.payload };
  if (record.secrets?.clone_token !== undefined) payload.clone_token = new Secret(record.secrets.clone_token);
  return { id: record.command_id, type: record.type, workspace_id: record.workspace_id, payload, created_at: record.created_at } as unknown as AgentCommand;
}

/** The agent reports the branch and commit it checked out as handle labels (REPO_LABELS). */
function checkedOut(repo: WorkspaceRecord["repo"], labels: Record<string, string> | undefined): WorkspaceRecord["repo"] {
  const commit = labels?.[REPO_LABELS.commit];
  const branch = labels?.[REPO_LABELS.branch];
  return {
    ...repo,
    ...(commit && /^[0-9a-f]{40,64}$/.test(commit) ? { commit } : {}),
    ...(branch && !repo.branch ? { branch } : {}),
  };
}
