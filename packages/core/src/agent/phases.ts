// Create phases (SPEC §3): each is reported when it starts and when it ends, with its
// duration; a failure names its phase and carries the catalog code that fits it.
import { NexusError, toNexusError, type ErrorCode } from "../errors.js";
import type { CreatePhase } from "../state.js";
import type { OutgoingEvent } from "./outbox.js";

/** The code a failure in each phase is reported with, unless it already has a more telling one. */
export const PHASE_ERROR_CODES: Record<CreatePhase, ErrorCode> = {
  scheduled: "provision_failed",
  container_created: "provision_failed",
  ssh_ready: "provision_failed",
  repo_cloned: "clone_failed",
  setup_done: "service_failed",
  services_started: "service_failed",
  services_healthy: "service_failed",
};

/** Codes that say more than the phase's own and are kept. */
const KEPT_CODES = new Set<ErrorCode>(["timeout", "invalid_request", "invalid_config", "provider_unavailable"]);

const MAX_MESSAGE = 4_000;

/** The error as reported for a failed phase: its code mapped, `details.phase` set. */
export function phaseError(phase: CreatePhase, error: unknown): NexusError {
  const nexus = toNexusError(error);
  const code = KEPT_CODES.has(nexus.code) || nexus.code === PHASE_ERROR_CODES[phase] ? nexus.code : PHASE_ERROR_CODES[phase];
  const message = nexus.message.length > MAX_MESSAGE ? `${nexus.message.slice(0, MAX_MESSAGE)}…` : nexus.message;
  if (code === nexus.code && nexus.details.phase === phase && message === nexus.message) return nexus;
  return new NexusError(code, message, { cause: nexus, details: { ...nexus.details, phase }, ...(nexus.hint === undefined ? {} : { hint: nexus.hint }) });
}

export class PhaseReporter {
  constructor(
    private readonly workspaceId: string,
    private readonly emit: (event: OutgoingEvent) => void,
    /** Told which phase runs, so that an agent restart can say where a create stopped. */
    private readonly onStart: (phase: CreatePhase) => void = () => undefined,
  ) {}

  async run<T>(name: CreatePhase, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    const startedAt = new Date(started).toISOString();
    this.onStart(name);
    this.emit({ type: "phase", workspace_id: this.workspaceId, name, state: "started", started_at: startedAt, duration_ms: null, at: startedAt });
    try {
      const result = await fn();
      const end = Date.now();
      this.emit({ type: "phase", workspace_id: this.workspaceId, name, state: "completed", started_at: startedAt, duration_ms: end - started, at: new Date(end).toISOString() });
      return result;
    } catch (error) {
      const failure = phaseError(name, error);
      const end = Date.now();
      this.emit({
        type: "phase", workspace_id: this.workspaceId, name, state: "failed", started_at: startedAt, duration_ms: end - started, at: new Date(end).toISOString(),
        error: { code: failure.code, message: failure.message, phase: name },
      });
      throw failure;
    }
  }
}
