// Placement (SPEC §6): a pending workspace goes to an online node that offers its
// provider and has room, least loaded first; its SSH port is allocated there (the Store
// makes that atomic). A node works on at most N creates at once: further placed
// workspaces wait, `creating`, until a slot frees. A workspace no node can take stays
// `pending` and fails with no_node_available after the schedule timeout.
//
// Every read-then-write over workspace state runs under one lock (`exclusive`), so
// placement, dispatch and the agents' results never interleave inside the server.
import { isNexusError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { NodeRecord, Store, WorkspaceRecord } from "../contracts/store.js";
import { CreateCommandPayloadSchema, type CreateCommandPayload } from "../wire/nodes.js";
import { msSince, type Clock } from "./clock.js";
import type { CommandQueue } from "./command-queue.js";
import type { WorkspaceLifecycle } from "./lifecycle.js";
import { Mutex } from "./mutex.js";
import type { ResolvedServicesOptions } from "./options.js";
import type { PhaseBook } from "./phases.js";
import { resourcesOf } from "./project-config.js";
import type { WorkspaceEvents } from "./events.js";

/** The most keys written to authorized_keys (the wire limit). */
const MAX_AUTHORIZED_KEYS = 100;
/** Create durations kept for the estimate in create responses. */
const DURATION_SAMPLES = 20;
const DEFAULT_ESTIMATE_SECONDS = 30;

export interface SchedulerDeps {
  store: Store;
  clock: Clock;
  queue: CommandQueue;
  lifecycle: WorkspaceLifecycle;
  phases: PhaseBook;
  events: WorkspaceEvents;
  options: ResolvedServicesOptions;
  log: Logger;
}

export class Scheduler {
  readonly #lock = new Mutex();
  /** Clone tokens of placed-but-not-dispatched workspaces: process memory only (SPEC §6). */
  readonly #cloneTokens = new Map<string, string>();
  readonly #durations: number[] = [];

  constructor(private readonly deps: SchedulerDeps) {}

  /** Runs `fn` under the workspace-state lock (not re-entrant: never call pass() inside). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#lock.run(fn);
  }

  rememberCloneToken(workspaceId: string, token: string): void {
    this.#cloneTokens.set(workspaceId, token);
  }

  forget(workspaceId: string): void {
    this.#cloneTokens.delete(workspaceId);
  }

  /** A finished create, for the next estimates. */
  recordCreateDuration(ms: number): void {
    this.#durations.push(ms);
    if (this.#durations.length > DURATION_SAMPLES) this.#durations.shift();
  }

  estimatedCreateSeconds(): number {
    if (this.#durations.length === 0) return DEFAULT_ESTIMATE_SECONDS;
    const sorted = [...this.#durations].sort((a, b) => a - b);
    return Math.ceil((sorted[Math.floor(sorted.length / 2)] ?? 0) / 1000);
  }

  /** Places pending workspaces, fails those waiting too long, and hands queued creates to their nodes. */
  pass(): Promise<void> {
    return this.#lock.run(async () => {
      // Reads only what can change something: the pending and creating workspaces (few),
      // and the load of online nodes only when there is something to place.
      const { store } = this.deps;
      const nodes = await store.nodes.list();
      const online = nodes.filter((node) => node.status === "online");
      const pending = await store.workspaces.listAll({ status: "pending" });
      if (pending.length > 0) {
        const load = new Map<string, number>();
        for (const node of online) load.set(node.node_id, (await store.workspaces.listByNode(node.node_id)).filter((w) => w.status !== "deleted").length);
        for (const workspace of pending) await this.#place(workspace, nodes, load);
      }
      const creating = await store.workspaces.listAll({ status: "creating" });
      for (const node of online) {
        const placed = creating.filter((workspace) => workspace.node_id === node.node_id);
        if (placed.length > 0) await this.#dispatch(node, placed);
      }
    });
  }

  async #place(workspace: WorkspaceRecord, nodes: readonly NodeRecord[], load: Map<string, number>): Promise<void> {
    const { store, clock, lifecycle, phases, events, options } = this.deps;
    const wanted = workspace.provider === "" ? undefined : workspace.provider;
    const online = nodes.filter((node) => node.status === "online");
    const offering = online.filter((node) => wanted === undefined || node.providers.includes(wanted));
    // A node whose last heartbeat says the engine is down takes nothing for it until it is
    // back. With no provider asked for, a node gets its first provider that works.
    const providerOn = (node: NodeRecord) => wanted ?? node.providers.find((p) => providerHealthy(node, p)) ?? node.providers[0] ?? "";
    const healthy = offering.filter((node) => providerHealthy(node, providerOn(node)));
    const roomy = healthy
      .filter((node) => (load.get(node.node_id) ?? 0) < node.capacity.max_workspaces)
      .sort((a, b) => (load.get(a.node_id) ?? 0) - (load.get(b.node_id) ?? 0) || a.name.localeCompare(b.name));
    let portsExhausted = false;
    for (const node of roomy) {
      let port: number;
      try {
        port = await store.ports.allocateSsh(node.node_id, workspace.workspace_id, node.ssh_port_range);
      } catch (error) {
        if (isNexusError(error) && error.code === "port_pool_exhausted") {
          portsExhausted = true;
          continue;
        }
        throw error;
      }
      const provider = providerOn(node);
      const placed = await lifecycle.move(workspace, "schedule", { node_id: node.node_id, ssh_port: port, provider });
      load.set(node.node_id, (load.get(node.node_id) ?? 0) + 1);
      const now = clock.now();
      const duration = Math.max(0, now.getTime() - new Date(workspace.created_at).getTime());
      await phases.finished(placed.workspace_id, { name: "scheduled", started_at: workspace.created_at, duration_ms: duration });
      events.publish({
        type: "phase",
        workspace_id: placed.workspace_id,
        name: "scheduled",
        state: "completed",
        started_at: workspace.created_at,
        duration_ms: duration,
        at: now.toISOString(),
      });
      this.deps.log.info({ workspace_id: placed.workspace_id, node: node.name, ssh_port: port }, `workspace ${placed.workspace_name} placed on ${node.name}`);
      return;
    }
    if (msSince(clock, workspace.created_at) < options.scheduleTimeoutMs) return;
    const reason =
      portsExhausted ? "every SSH port of the nodes that could take it is in use"
      : online.length === 0 ? "no node is online"
      : offering.length === 0 ? `no online node offers the ${wanted} provider`
      : healthy.length === 0 ? `the ${wanted ?? "nodes' providers"} engine is unhealthy on every node that offers it (see \`nexus node list\`)`
      : "every node that could take it is full";
    this.forget(workspace.workspace_id);
    await lifecycle.fail(workspace, {
      code: portsExhausted ? "port_pool_exhausted" : "no_node_available",
      message: `no node took the workspace within ${Math.round(options.scheduleTimeoutMs / 1000)} s: ${reason}`,
      phase: "scheduled",
    });
  }

  /** Sends `create` for the node's placed workspaces (oldest first) while it has create slots free. */
  async #dispatch(node: NodeRecord, placed: readonly WorkspaceRecord[]): Promise<void> {
    const { store, options } = this.deps;
    const pending = await store.commands.listPending(node.node_id);
    const sent = new Set(pending.filter((command) => command.type === "create").map((command) => command.workspace_id));
    let slots = options.maxConcurrentCreatesPerNode - sent.size;
    for (const workspace of placed) {
      if (slots <= 0) break;
      if (sent.has(workspace.workspace_id)) continue;
      await this.#sendCreate(workspace, node);
      slots--;
    }
  }

  async #sendCreate(workspace: WorkspaceRecord, node: NodeRecord): Promise<void> {
    const { store, queue, lifecycle } = this.deps;
    const keys = await store.users.listKeys(workspace.owner_id);
    const resources = resourcesOf(workspace.config);
    const { repo } = workspace;
    const payload: CreateCommandPayload = {
      provider: workspace.provider,
      name: workspace.workspace_name,
      ...(workspace.image === null ? {} : { image: workspace.image }),
      ssh_port: workspace.ssh_port ?? 0,
      authorized_keys: keys.slice(-MAX_AUTHORIZED_KEYS).map((key) => key.public_key),
      ...(resources === undefined ? {} : { resources }),
      repo: {
        owner: repo.owner,
        name: repo.name,
        ...(repo.branch === "" ? {} : { branch: repo.branch }),
        url: repo.url,
        ...(repo.upstream === undefined ? {} : { upstream_url: repo.upstream }),
      },
      ...(Object.keys(workspace.config).length === 0 ? {} : { config: workspace.config }),
    };
    const checked = CreateCommandPayloadSchema.safeParse(payload);
    if (!checked.success) {
      this.forget(workspace.workspace_id);
      await lifecycle.fail(workspace, { code: "internal_error", message: `cannot build the create command: ${checked.error.issues[0]?.message ?? "invalid"}`, phase: "scheduled" });
      return;
    }
    const cloneToken = this.#cloneTokens.get(workspace.workspace_id);
    await queue.enqueue({
      node_id: node.node_id,
      workspace_id: workspace.workspace_id,
      type: "create",
      payload,
      ...(cloneToken === undefined ? {} : { secrets: { clone_token: cloneToken } }),
    });
    this.forget(workspace.workspace_id);
    this.deps.log.info({ workspace_id: workspace.workspace_id, node: node.name }, `create of ${workspace.workspace_name} sent to ${node.name}`);
  }
}

/** False when the node's last heartbeat reported the provider as not working (engine down). */
export function providerHealthy(node: NodeRecord, provider: string): boolean {
  const reported = (node.info as { providers?: unknown }).providers;
  if (!Array.isArray(reported)) return true;
  const entry = reported.find((p): p is { name: string; ok: unknown } => typeof p === "object" && p !== null && (p as { name?: unknown }).name === provider);
  return entry === undefined || entry.ok !== false;
}
