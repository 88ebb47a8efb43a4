// buildServer(deps): the fastify instance, not listening (tests use inject). Routes are
// mounted from API_ROUTES; every request gets an id (X-Request-Id), is rate-limited per
// token, authenticated for its route's auth kind, validated with the route's zod
// schemas, handled by one service call, and answered with the route's response schema.
import { randomBytes } from "node:crypto";
import rateLimit from "@fastify/rate-limit";
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { z } from "zod";
import { API_ROUTES, AuthService, NexusError, TOKEN_PREFIXES, hashToken, type ApiRoute, type ApiRouteName, type Logger, type NexusServices } from "@nexus/core";
import { answerClientError, sendError } from "./errors.js";
import { HttpMetrics } from "./metrics.js";
import { buildOpenApiDocument } from "./openapi.js";
import { parseInput, type ParsedInput } from "./request-input.js";
import { STREAMED, createHandlers, type Handler } from "./routes.js";
import { SERVER_VERSION } from "./version.js";

export const BODY_LIMIT_BYTES = 1024 * 1024;
const REQUEST_ID_PATTERN = /^req_[A-Za-z0-9_-]{1,64}$/;
/** How many times the per-token limit a node token may use. */
const NODE_RATE_FACTOR = 10;

export interface BuildServerOptions {
  services: NexusServices;
  /** Defaults to the services' logger. */
  log?: Logger;
  /** TLS: PEM certificate chain and key. */
  https?: { cert: string | Buffer; key: string | Buffer };
  /** Per token (or client address without one); default 600 a minute, ten times that for node tokens. `false` disables it. */
  rateLimit?: { max: number; windowMs: number } | false;
  /** SSE keep-alive comments (default 15 s). */
  sseHeartbeatMs?: number;
  /** How often followed logs ask the node for more (default 2 s). */
  logsFollowIntervalMs?: number;
  /** The periodic work (placement, timeouts, offline nodes); default every second; `false` for none (tests tick by hand). */
  tickIntervalMs?: number | false;
  /** Close the Store when the server closes (when the server owns it). */
  closeStore?: boolean;
}

declare module "fastify" {
  interface FastifyInstance {
    nexus: NexusServices;
  }
}

function newRequestId(): string {
  return `req_${randomBytes(12).toString("base64url")}`;
}

export function buildServer(options: BuildServerOptions): FastifyInstance {
  const { services } = options;
  const log = options.log ?? services.log;
  const app = Fastify({
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: "request_id" }),
    bodyLimit: BODY_LIMIT_BYTES,
    requestIdHeader: false,
    genReqId: (req) => {
      const incoming = req.headers["x-request-id"];
      return typeof incoming === "string" && REQUEST_ID_PATTERN.test(incoming) ? incoming : newRequestId();
    },
    return503OnClosing: false,
    forceCloseConnections: "idle",
    // Undecodable URLs and over-long path parameters, and what Node's parser refuses
    // (oversized headers): the catalog's error body, not fastify's own.
    frameworkErrors: (error, request, reply) => {
      reply.header("x-request-id", request.id);
      return sendError(error, request, reply);
    },
    clientErrorHandler: (error, socket) => answerClientError(error, socket, newRequestId()),
    ...(options.https ? { https: options.https } : {}),
  }) as unknown as FastifyInstance;
  app.decorate("nexus", services);

  const metrics = new HttpMetrics();
  const closing = new AbortController();
  const openapi = buildOpenApiDocument(services.options.version === "0.0.0" ? SERVER_VERSION : services.options.version);
  const handlers = createHandlers({
    services,
    metrics,
    openapi,
    closing: closing.signal,
    sseHeartbeatMs: options.sseHeartbeatMs ?? 15_000,
    logsFollowIntervalMs: options.logsFollowIntervalMs ?? 2_000,
  });

  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
    // Instead of fastify's own 503 while closing: the same error body as everything else.
    if (closing.signal.aborted) {
      reply.header("connection", "close");
      throw new NexusError("server_unreachable", "the server is shutting down", { hint: "Try again in a moment." });
    }
  });
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    metrics.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    // Failures at info; successes at debug: a log write per request is the largest cost of a fast GET.
    const level = reply.statusCode >= 400 ? "info" : "debug";
    request.log[level]({ method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, "request completed");
  });
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendError(new NexusError("not_found", `no route ${request.method} ${request.url.split("?")[0]}`, { hint: "See /api/v1/openapi.json for the API." }), request, reply),
  );

  if (options.rateLimit !== false) {
    const limit = options.rateLimit ?? { max: 600, windowMs: 60_000 };
    void app.register(rateLimit, {
      global: true,
      // Agents report every phase and service change of every workspace they hold, so a
      // node token gets more room than a person's.
      max: (_request, key) => (key.startsWith("node:") ? limit.max * NODE_RATE_FACTOR : limit.max),
      timeWindow: limit.windowMs,
      // Per token, not per address: many users can share one NAT, one user many machines.
      // Except a token that is not one of ours (a GitHub token, or garbage): checking it
      // costs a call to GitHub, so fresh random tokens must not each get a fresh budget;
      // those share their client address's.
      keyGenerator: (request) => {
        const token = AuthService.bearer(request.headers.authorization);
        if (token === undefined) return `ip:${request.ip}`;
        if (token.startsWith(TOKEN_PREFIXES.node)) return `node:${hashToken(token)}`;
        const ours = [TOKEN_PREFIXES.api, TOKEN_PREFIXES.join, TOKEN_PREFIXES.admin].some((prefix) => token.startsWith(prefix));
        return ours ? `token:${hashToken(token)}` : `github:${request.ip}`;
      },
      errorResponseBuilder: (_request, context) =>
        new NexusError("rate_limited", `too many requests: at most ${context.max} in ${Math.round(limit.windowMs / 1000)} s`, {
          details: { limit: context.max, retry_after_seconds: Math.ceil(context.ttl / 1000) },
        }),
    });
  }

  void app.register(async (scope) => {
    for (const [name, route] of Object.entries(API_ROUTES) as [ApiRouteName, ApiRoute][]) {
      const handler = handlers[name] as Handler<ApiRouteName>;
      scope.route({
        method: route.method,
        url: route.path,
        handler: async (request, reply) => {
          const principal = await services.auth.authenticate(request.headers.authorization, route.auth, { nodeId: nodeIdOf(route, request) });
          const input: ParsedInput = parseInput(route, request);
          const answer = (await handler({ principal, ...input, request, reply } as Parameters<Handler<ApiRouteName>>[0])) as typeof STREAMED | { status: number; body: unknown };
          if (answer === STREAMED) return reply;
          return respond(route, request, reply, answer.status, answer.body);
        },
      });
    }
  });

  let ticker: NodeJS.Timeout | undefined;
  const tickInterval = options.tickIntervalMs ?? 1000;
  app.addHook("onReady", async () => {
    if (tickInterval === false) return;
    let running = false;
    ticker = setInterval(() => {
      if (running) return;
      running = true;
      services
        .tick()
        .catch((error: unknown) => log.error({ err: error }, "periodic work failed"))
        .finally(() => {
          running = false;
        });
    }, tickInterval);
    ticker.unref();
  });
  app.addHook("preClose", async () => {
    // Long-polls answer and streams end now, so closing waits only for ordinary requests.
    closing.abort(new Error("the server is shutting down"));
    services.interrupt();
  });
  app.addHook("onClose", async () => {
    if (ticker) clearInterval(ticker);
    if (options.closeStore) await services.store.close();
  });
  return app;
}

function nodeIdOf(route: ApiRoute, request: FastifyRequest): string | undefined {
  if (route.auth !== "node") return undefined;
  const id = (request.params as { id?: unknown } | undefined)?.id;
  return typeof id === "string" ? id : undefined;
}

function respond(route: ApiRoute, request: FastifyRequest, reply: FastifyReply, status: number, body: unknown): FastifyReply {
  const schema = route.responses[status];
  if (!schema) throw new NexusError("internal_error", `${route.method} ${route.path} has no ${status} response`);
  const encoded = z.safeEncode(schema, body as never);
  if (!encoded.success) {
    request.log.error({ issues: encoded.error.issues.slice(0, 5), status }, `response of ${route.method} ${route.path} does not match its schema`);
    throw new NexusError("internal_error", "the server built an invalid response");
  }
  if (route.produces === "text/plain") return reply.code(status).type("text/plain; charset=utf-8").send(encoded.data);
  return reply.code(status).type("application/json; charset=utf-8").send(JSON.stringify(encoded.data));
}

