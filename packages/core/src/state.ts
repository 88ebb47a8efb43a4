// The workspace lifecycle (SPEC §3) as a pure function. A service in core turns the
// returned effects into provider calls, and the outcomes back into events.
import { NexusError } from "./errors.js";

export const WORKSPACE_STATES = ["pending", "creating", "running", "stopping", "stopped", "starting", "error", "deleting", "deleted"] as const;
export type WorkspaceState = (typeof WORKSPACE_STATES)[number];

export const WORKSPACE_EVENTS = ["schedule", "created", "stop", "stopped", "start", "started", "fail", "retry", "delete", "deleted"] as const;
export type WorkspaceEventType = (typeof WORKSPACE_EVENTS)[number];

export type WorkspaceEvent =
  | { type: Exclude<WorkspaceEventType, "fail" | "delete"> }
  | { type: "fail"; reason: string }
  | { type: "delete"; force?: boolean };

export type Effect =
  | { type: "provision" }
  | { type: "start" }
  | { type: "stop" }
  | { type: "destroy" }
  | { type: "release" }
  | { type: "record_error"; reason: string };

export interface TransitionResult {
  next: WorkspaceState;
  effects: Effect[];
}

export const CREATE_PHASES = ["scheduled", "container_created", "ssh_ready", "repo_cloned", "setup_done", "services_started", "services_healthy"] as const;
export type CreatePhase = (typeof CREATE_PHASES)[number];

export const SERVICE_STATES = ["pending", "starting", "running", "unhealthy", "stopped", "error"] as const;
export type ServiceState = (typeof SERVICE_STATES)[number];
export const HEALTH_STATES = ["healthy", "unhealthy", "unknown"] as const;
export type Health = (typeof HEALTH_STATES)[number];

/** States a workspace never leaves by itself (gone). */
export const TERMINAL_STATES: ReadonlySet<WorkspaceState> = new Set(["deleted"]);

type Rule = (event: WorkspaceEvent) => TransitionResult | undefined;

const RULES: Record<WorkspaceState, Partial<Record<WorkspaceEventType, Rule>>> = {
  pending: { schedule: () => ({ next: "creating", effects: [{ type: "provision" }] }) },
  creating: { created: () => ({ next: "running", effects: [] }) },
  running: {
    stop: () => ({ next: "stopping", effects: [{ type: "stop" }] }),
    delete: (e) => ((e as { force?: boolean }).force ? { next: "deleting", effects: [{ type: "destroy" }] } : undefined),
  },
  stopping: { stopped: () => ({ next: "stopped", effects: [] }) },
  stopped: {
    start: () => ({ next: "starting", effects: [{ type: "start" }] }),
    delete: () => ({ next: "deleting", effects: [{ type: "destroy" }] }),
  },
  starting: { started: () => ({ next: "running", effects: [] }) },
  error: {
    retry: () => ({ next: "creating", effects: [{ type: "provision" }] }),
    delete: () => ({ next: "deleting", effects: [{ type: "destroy" }] }),
  },
  deleting: { deleted: () => ({ next: "deleted", effects: [{ type: "release" }] }) },
  deleted: {},
};

/** Every state that can take the event (for error messages and docs). */
export function statesAccepting(type: WorkspaceEventType): WorkspaceState[] {
  return WORKSPACE_STATES.filter((s) => RULES[s][type] !== undefined);
}

export function transition(state: WorkspaceState, input: WorkspaceEvent | WorkspaceEventType): TransitionResult {
  const event = (typeof input === "string" ? { type: input } : input) as WorkspaceEvent;
  if (!(WORKSPACE_STATES as readonly string[]).includes(state)) {
    throw new NexusError("invalid_request", `unknown workspace state ${JSON.stringify(state)}`);
  }
  if (event.type === "fail") {
    if (TERMINAL_STATES.has(state)) throw invalid(state, event.type);
    return { next: "error", effects: [{ type: "record_error", reason: event.reason }] };
  }
  const result = RULES[state][event.type]?.(event);
  if (!result) throw invalid(state, event.type, event);
  return result;
}

export function canTransition(state: WorkspaceState, event: WorkspaceEvent | WorkspaceEventType): boolean {
  try {
    transition(state, event);
    return true;
  } catch {
    return false;
  }
}

function invalid(state: WorkspaceState, type: WorkspaceEventType, event?: WorkspaceEvent): NexusError {
  const needsForce = state === "running" && type === "delete" && !(event as { force?: boolean } | undefined)?.force;
  return new NexusError("invalid_transition", `a ${state} workspace cannot ${type}${needsForce ? " without force" : ""}`, {
    details: { state, event: type, allowed_from: type === "fail" ? WORKSPACE_STATES.filter((s) => !TERMINAL_STATES.has(s)) : statesAccepting(type) },
    hint: needsForce ? "Stop it first (`nexus workspace stop <name>`) or pass `--force`." : "Run `nexus workspace status <name>` to see its state.",
  });
}
