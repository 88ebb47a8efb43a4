// The one error boundary of the server: every failure leaves as
// `{error, message, details, hint, request_id}` with the status of its catalog code
// (SPEC §5, §11). Fastify's own errors (bad JSON, body too large, unsupported media
// type) become invalid_request; anything unknown is an internal_error whose message
// stays in the log, not in the response.
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
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

/**
 * Errors Node's HTTP parser raises before fastify sees a request (headers over 16 KiB,
 * a malformed request line): the same error body, written straight to the socket.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, requestId: string): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
  const message =
    status === 431 ? "the request headers are larger than the server accepts" : status === 408 ? "the request took too long to arrive" : "the request is not valid HTTP";
  const body = JSON.stringify(errorBody(new NexusError("invalid_request", message, { details: { reason: error.code ?? "client_error" } }), requestId));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
