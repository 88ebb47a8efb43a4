// `GET /workspaces/{id}/events` (SPEC §5): Server-Sent Events, one JSON object per
// event. The SSE `event:` field repeats the payload's `type`. Named WorkspaceStreamEvent
// because core's state machine already has a WorkspaceEvent (its inputs).
import { z } from "zod";
import {
  CreatePhaseSchema,
  HealthSchema,
  PHASE_STATES,
  ServiceStateSchema,
  TimestampSchema,
  WorkspaceErrorSchema,
  WorkspaceHealthSchema,
  WorkspaceIdSchema,
  WorkspaceStateSchema,
} from "./common.js";

/** A create phase started, completed or failed. */
export const PhaseEventSchema = z.object({
  type: z.literal("phase"),
  workspace_id: WorkspaceIdSchema,
  name: CreatePhaseSchema,
  state: z.enum(PHASE_STATES),
  started_at: TimestampSchema,
  /** Set once the phase has ended. */
  duration_ms: z.number().nonnegative().nullable(),
  error: WorkspaceErrorSchema.optional(),
  at: TimestampSchema,
});
export type PhaseEvent = z.output<typeof PhaseEventSchema>;

/** The workspace changed state (or health). */
export const StatusEventSchema = z.object({
  type: z.literal("status"),
  workspace_id: WorkspaceIdSchema,
  status: WorkspaceStateSchema,
  health: WorkspaceHealthSchema,
  error: WorkspaceErrorSchema.optional(),
  at: TimestampSchema,
});
export type StatusEvent = z.output<typeof StatusEventSchema>;

/** A service changed state or health. */
export const ServiceEventSchema = z.object({
  type: z.literal("service"),
  workspace_id: WorkspaceIdSchema,
  name: z.string(),
  status: ServiceStateSchema,
  health: HealthSchema,
  last_check: TimestampSchema.nullable(),
  last_error: z.string().nullable(),
  at: TimestampSchema,
});
export type ServiceEvent = z.output<typeof ServiceEventSchema>;

export const WorkspaceStreamEventSchema = z.discriminatedUnion("type", [PhaseEventSchema, StatusEventSchema, ServiceEventSchema]);
export type WorkspaceStreamEvent = z.output<typeof WorkspaceStreamEventSchema>;

export const WORKSPACE_STREAM_EVENT_TYPES = ["phase", "status", "service"] as const satisfies readonly WorkspaceStreamEvent["type"][];

/** One SSE frame for an event; the sequence number `id` lets a client resume with Last-Event-ID. */
export function encodeWorkspaceStreamEvent(event: WorkspaceStreamEvent, id?: number): string {
  const data = JSON.stringify(z.encode(WorkspaceStreamEventSchema, event));
  return `${id === undefined ? "" : `id: ${id}\n`}event: ${event.type}\ndata: ${data}\n\n`;
}
