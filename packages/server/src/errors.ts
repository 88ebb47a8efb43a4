// The one error boundary of the server: every failure leaves as
// `{error, message, details, hint, request_id}` with the status of its catalog code
// (SPEC §5, §11). Fastify's own errors (bad JSON, body too large, unsupported media
// type) become invalid_request; anything unknown is an internal_error whose message
// stays in the log, not in the response.
import type { FastifyReply, FastifyRequest } from "fastify";
import { NexusError, isNexusError, type ErrorBody } from "@nexus/core";

const BODY_TOO_LARGE = 413;

interface FastifyLikeError {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
}

export function toHttpError(error: unknown): { status: number; error: NexusError } {
  if (isNexusError(error)) return { status: error.http, error };
  const candidate = (error ?? {}) as FastifyLikeError;
  const status = typeof candidate.statusCode === "number" ? candidate.statusCode : 500;
  const code = typeof candidate.code === "string" ? candidate.code : undefined;
  if (status === BODY_TOO_LARGE) {
    return {
      status,
      error: new NexusError("invalid_request", "the request body is larger than the server accepts (1 MiB)", {
        details: { limit_bytes: 1024 * 1024 },
        hint: "Send a smaller body.",
      }),
    };
  }
  if (status >= 400 && status < 500) {
    return {
      status: 400,
      error: new NexusError("invalid_request", typeof candidate.message === "string" ? candidate.message : "the request is malformed", {
        details: code ? { reason: code } : {},
      }),
    };
  }
  return { status: 500, error: new NexusError("internal_error", "an unexpected error happened on the server", { cause: error }) };
}

export function errorBody(error: NexusError, requestId: string): ErrorBody {
  return { ...error.toJSON(), request_id: requestId } as ErrorBody;
}

export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, error: nexus } = toHttpError(error);
  if (status >= 500) request.log.error({ err: error, code: nexus.code }, nexus.message);
  else request.log.info({ code: nexus.code, status }, nexus.message);
  return reply.code(status).type("application/json; charset=utf-8").send(JSON.stringify(errorBody(nexus, request.id)));
}
