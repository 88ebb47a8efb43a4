// Request parts → values, with the route's own zod schemas (the ones the OpenAPI
// document is generated from). A failure is invalid_request listing every issue's path.
import { NexusError, zodIssuesToDetails, type ApiRoute } from "@nexus/core";
import type { FastifyRequest } from "fastify";
import type { z } from "zod";

export interface ParsedInput {
  params: unknown;
  query: unknown;
  headers: unknown;
  body: unknown;
}

type Part = "params" | "query" | "headers" | "body";

function parsePart(route: ApiRoute, part: Part, schema: z.ZodType | undefined, value: unknown): unknown {
  if (!schema) return undefined;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = zodIssuesToDetails(parsed.error.issues);
  const first = issues[0];
  const where = first === undefined ? part : part === "body" ? first.path : first.path === "(root)" ? part : `${part}.${first.path}`;
  throw new NexusError("invalid_request", `invalid ${part} for ${route.method} ${route.path}: ${where}: ${first?.message ?? "invalid"}`, {
    details: { part, issues },
  });
}

export function parseInput(route: ApiRoute, request: FastifyRequest): ParsedInput {
  return {
    params: parsePart(route, "params", route.params, request.params),
    query: parsePart(route, "query", route.query, request.query),
    headers: parsePart(route, "headers", route.headers, request.headers),
    body: parsePart(route, "body", route.body, request.body),
  };
}
