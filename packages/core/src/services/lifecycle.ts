// Moving a workspace through its states (SPEC §3) with the pure state machine, storing
// the move with a compare-and-set on the status it was read in, and telling SSE
// subscribers. Every status change of the services goes through here.
import type { Logger } from "../logger.js";
import type { ServiceRecord, Store, WorkspaceErrorInfo, WorkspacePatch, WorkspaceRecord } from "../contracts/store.js";
import { transition, type WorkspaceEvent, type WorkspaceEventType, type WorkspaceState } from "../state.js";
import type { Clock } from "./clock.js";
import type { WorkspaceEvents } from "./events.js";
import type { PhaseBook } from "./phases.js";
import { wireError, workspaceHealth } from "./present.js";

export class WorkspaceLifecycle {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly events: WorkspaceEvents,
    private readonly phases: PhaseBook,
    private readonly log: Logger,
  ) {}

  /** Applies a state-machine event (409 invalid_transition when the state does not take it). */
  async move(workspace: WorkspaceRecord, event: WorkspaceEvent | WorkspaceEventType, patch: WorkspacePatch = {}): Promise<WorkspaceRecord> {
    const { next } = transition(workspace.status, event);
    return this.set(workspace, next, patch);
  }

  /** Stores a status the agent observed by itself (no state-machine event exists for it). */
  async set(workspace: WorkspaceRecord, status: WorkspaceState, patch: WorkspacePatch = {}): Promise<WorkspaceRecord> {
    const services = status === "running" ? await this.store.services.list(workspace.workspace_id) : [];
    const updated = await this.store.workspaces.update(
      workspace.workspace_id,
      { ...patch, status, health: workspaceHealth(status, services), error: status === "error" ? (patch.error ?? workspace.error) : null },
      { expectStatus: workspace.status },
    );
    this.publishStatus(updated);
    return updated;
  }

  async fail(workspace: WorkspaceRecord, error: WorkspaceErrorInfo): Promise<WorkspaceRecord> {
    this.log.warn({ workspace_id: workspace.workspace_id, code: error.code, phase: error.phase }, `workspace ${workspace.workspace_name} failed: ${error.message}`);
    return this.move(workspace, { type: "fail", reason: error.message }, { error });
  }

  /** The workspace is gone: its rows and ports are released, its streams end. */
  async remove(workspace: WorkspaceRecord): Promise<void> {
    const id = workspace.workspace_id;
    await this.store.ports.releaseSsh(id);
    await this.store.ports.releaseLocal(id);
    await this.store.workspaces.delete(id);
    this.phases.forget(id);
    this.events.publish({ type: "status", workspace_id: id, status: "deleted", health: "unknown", at: this.#now() });
    this.events.end(id);
    this.log.info({ workspace_id: id }, `workspace ${workspace.workspace_name} deleted`);
  }

  /** Recomputes `health` after a service change; publishes a status event when it moved. */
  async refreshHealth(workspace: WorkspaceRecord, services: readonly ServiceRecord[]): Promise<WorkspaceRecord> {
    const health = workspaceHealth(workspace.status, services);
    if (health === workspace.health) return workspace;
    const updated = await this.store.workspaces.update(workspace.workspace_id, { health }, { expectStatus: workspace.status });
    this.publishStatus(updated);
    return updated;
  }

  publishStatus(workspace: WorkspaceRecord): void {
    this.events.publish({
      type: "status",
      workspace_id: workspace.workspace_id,
      status: workspace.status,
      health: workspace.health,
      ...(workspace.status === "error" && workspace.error ? { error: wireError(workspace.error) } : {}),
      at: this.#now(),
    });
  }

  publishService(service: ServiceRecord): void {
    this.events.publish({
      type: "service",
      workspace_id: service.workspace_id,
      name: service.name,
      status: service.status,
      health: service.health,
      last_check: service.last_check,
      last_error: service.last_error,
      at: this.#now(),
    });
  }

  #now(): string {
    return this.clock.now().toISOString();
  }
}

