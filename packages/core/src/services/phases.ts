// Create phases (SPEC §3): finished phases are stored with their duration; a phase that
// has started but not finished lives here in memory (duration null on the wire) until
// the agent reports its end.
import type { PhaseRecord, Store } from "../contracts/store.js";
import { CREATE_PHASES, type CreatePhase } from "../state.js";
import type { Phase } from "../wire/common.js";

export class PhaseBook {
  readonly #running = new Map<string, Map<CreatePhase, string>>();

  constructor(private readonly store: Store) {}

  started(workspaceId: string, name: CreatePhase, startedAt: string): void {
    let phases = this.#running.get(workspaceId);
    if (!phases) {
      phases = new Map();
      this.#running.set(workspaceId, phases);
    }
    phases.set(name, startedAt);
  }

  async finished(workspaceId: string, record: PhaseRecord): Promise<void> {
    await this.store.phases.record(workspaceId, record);
    const phases = this.#running.get(workspaceId);
    phases?.delete(record.name as CreatePhase);
    if (phases?.size === 0) this.#running.delete(workspaceId);
  }

  forget(workspaceId: string): void {
    this.#running.delete(workspaceId);
  }

  /** Finished and running phases, by start time. */
  async list(workspaceId: string): Promise<Phase[]> {
    const done = await this.store.phases.list(workspaceId);
    const names = new Set(done.map((phase) => phase.name));
    const phases: Phase[] = done
      .filter((phase): phase is PhaseRecord & { name: CreatePhase } => (CREATE_PHASES as readonly string[]).includes(phase.name))
      .map((phase) => ({ name: phase.name, started_at: phase.started_at, duration_ms: phase.duration_ms }));
    for (const [name, started_at] of this.#running.get(workspaceId) ?? []) {
      if (!names.has(name)) phases.push({ name, started_at, duration_ms: null });
    }
    return phases.sort((a, b) => (a.started_at < b.started_at ? -1 : a.started_at > b.started_at ? 1 : 0));
  }
}
