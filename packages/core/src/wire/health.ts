// `GET /health` and `GET /api/v1/health` (no auth).
import { z } from "zod";
import { NodeStatusSchema, TimestampSchema } from "./common.js";

export const NodeHealthSchema = z.object({
  status: NodeStatusSchema,
  last_heartbeat: TimestampSchema.nullable(),
  workspaces: z.int().nonnegative(),
});

export const HealthResponseSchema = z.object({
  status: z.literal("ok"),
  /** The server's version. */
  version: z.string(),
  uptime_seconds: z.number().nonnegative(),
  /** Keyed by node name. */
  nodes: z.record(z.string(), NodeHealthSchema),
});
export type HealthResponse = z.output<typeof HealthResponseSchema>;

export const OpenApiDocumentSchema = z.looseObject({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) });
