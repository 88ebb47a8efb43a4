// The typed API client (the SDK): one method per route of API_ROUTES. Requests are
// validated and encoded with the route's schemas before anything is sent, responses
// are validated on the way back, and every failure is a NexusError: the server's own
// error rehydrated (code, message, details, hint, request_id), or server_unreachable /
// timeout for the transport.
import { createParser } from "eventsource-parser";
import { request, type Dispatcher } from "undici";
import { z } from "zod";
import pkg from "../package.json" with { type: "json" };
import { NexusError, isErrorCode, isNexusError, type ErrorCode } from "./errors.js";
import { Secret } from "./secret.js";
import { zodIssuesToDetails } from "./zod-issues.js";
import { ErrorBodySchema } from "./wire/common.js";
import { WORKSPACE_STREAM_EVENT_TYPES, WorkspaceStreamEventSchema, type WorkspaceStreamEvent } from "./wire/events.js";
import type { HealthResponse } from "./wire/health.js";
import {
  PollCommandsQuerySchema,
  type CommandResultBody,
  type CommandResultResponse,
  type CreateNodeTokenBody,
  type CreateNodeTokenResponse,
  type HeartbeatBody,
  type HeartbeatResponse,
  type ListNodesResponse,
  type NodeEventsBody,
  type NodeEventsResponse,
  type PollCommandsQuery,
  type PollCommandsResponse,
  type RegisterNodeBody,
  type RegisterNodeResponse,
} from "./wire/nodes.js";
import { API_ROUTES, type ApiRoute } from "./wire/routes.js";
import type { MeResponse, RegisterGithubBody, RegisterGithubResponse, RevokeTokenResponse } from "./wire/users.js";
import type {
  CreateWorkspaceBody,
  CreateWorkspaceResponse,
  ListServicesResponse,
  ListWorkspacesQuery,
  ListWorkspacesResponse,
  LogsQuery,
  WorkspaceActionResponse,
  WorkspaceDetail,
} from "./wire/workspaces.js";

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const USER_AGENT = `nexus/${pkg.version}`;

export interface ClientOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:3001`; a path prefix is kept. */
  server: string | URL;
  /** Bearer token: an API token (`nxs_…`), a GitHub token, a node token or the admin token. */
  token?: string | Secret;
  /** Time limit per request (default 30 s). Streams are limited only until their headers arrive. */
  timeoutMs?: number;
  /** undici dispatcher (proxy agent, mock agent, unix socket). */
  dispatcher?: Dispatcher;
  /** Default `nexus/<version>`. */
  userAgent?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Overrides the client's token for this call. */
  token?: string | Secret;
}

export interface CreateWorkspaceOptions extends CallOptions {
  /** Makes retries of the same create safe: the server answers with the first result. */
  idempotencyKey?: string;
}

export interface EventsOptions extends CallOptions {
  /** Resume after this event id (SSE Last-Event-ID). */
  lastEventId?: string;
}

export interface NexusClient {
  readonly server: string;
  health(options?: CallOptions): Promise<HealthResponse>;
  /** Needs a GitHub token as the bearer (client token or `options.token`). */
  registerGithub(body: RegisterGithubBody, options?: CallOptions): Promise<RegisterGithubResponse>;
  me(options?: CallOptions): Promise<MeResponse>;
  /** Revokes the API token the client calls with (logout): later requests with it are auth_required. */
  revokeToken(options?: CallOptions): Promise<RevokeTokenResponse>;
  createWorkspace(body: CreateWorkspaceBody, options?: CreateWorkspaceOptions): Promise<CreateWorkspaceResponse>;
  listWorkspaces(query?: ListWorkspacesQuery, options?: CallOptions): Promise<ListWorkspacesResponse>;
  /** By id (`ws_…`) or name. */
  getWorkspace(idOrName: string, options?: CallOptions): Promise<WorkspaceDetail>;
  getServices(idOrName: string, options?: CallOptions): Promise<ListServicesResponse>;
  /** The last `tail` lines as text. */
  logs(idOrName: string, query?: Omit<LogsQuery, "follow">, options?: CallOptions): Promise<string>;
  /** Follows the logs: text chunks until the server ends the stream or the signal aborts. */
  streamLogs(idOrName: string, query?: Omit<LogsQuery, "follow">, options?: CallOptions): AsyncIterable<string>;
  /** Phase, status and service events as they happen; ends when the server closes the stream. */
  events(idOrName: string, options?: EventsOptions): AsyncIterable<WorkspaceStreamEvent>;
  stop(idOrName: string, body?: { force?: boolean }, options?: CallOptions): Promise<WorkspaceActionResponse>;
  start(idOrName: string, options?: CallOptions): Promise<WorkspaceActionResponse>;
  delete(idOrName: string, query?: { force?: boolean }, options?: CallOptions): Promise<WorkspaceActionResponse>;
  /** Admin token. */
  listNodes(options?: CallOptions): Promise<ListNodesResponse>;
  /** Admin token: a join token for `nexus agent start --join-token`. */
  createNodeToken(body?: CreateNodeTokenBody, options?: CallOptions): Promise<CreateNodeTokenResponse>;
  /** Admin token: Prometheus text. */
  metrics(options?: CallOptions): Promise<string>;
}

export interface NodeClient {
  readonly server: string;
  /** Registers with a join token (`options.token` or the client token); returns the node token. */
  register(body: RegisterNodeBody, options?: CallOptions): Promise<RegisterNodeResponse>;
  heartbeat(nodeId: string, body: HeartbeatBody, options?: CallOptions): Promise<HeartbeatResponse>;
  /** Long-poll: the server holds the request up to `wait` seconds (default 25) when nothing is queued. */
  pollCommands(nodeId: string, query?: PollCommandsQuery, options?: CallOptions): Promise<PollCommandsResponse>;
  postResult(nodeId: string, commandId: string, body: CommandResultBody, options?: CallOptions): Promise<CommandResultResponse>;
  postEvents(nodeId: string, events: NodeEventsBody["events"], options?: CallOptions): Promise<NodeEventsResponse>;
}

export function createClient(options: ClientOptions): NexusClient {
  const transport = new Transport(options);
  const routes = API_ROUTES;
  return {
    server: transport.server,
    health: (call) => transport.json(routes.healthV1, {}, call),
    registerGithub: (body, call) => transport.json(routes.registerGithub, { body }, call),
    me: (call) => transport.json(routes.me, {}, call),
    revokeToken: (call) => transport.json(routes.revokeCurrentToken, {}, call),
    createWorkspace: (body, call) =>
      transport.json(routes.createWorkspace, { body, headers: { "idempotency-key": call?.idempotencyKey } }, call),
    listWorkspaces: (query, call) => transport.json(routes.listWorkspaces, { query: query ?? {} }, call),
    getWorkspace: (id, call) => transport.json(routes.getWorkspace, { params: { id } }, call),
    getServices: (id, call) => transport.json(routes.listServices, { params: { id } }, call),
    logs: (id, query, call) => transport.text(routes.workspaceLogs, { params: { id }, query: { ...query, follow: false } }, call),
    streamLogs: (id, query, call) => transport.textStream(routes.workspaceLogs, { params: { id }, query: { ...query, follow: true } }, call),
    events: (id, call) =>
      transport.eventStream(routes.workspaceEvents, { params: { id }, extraHeaders: call?.lastEventId ? { "last-event-id": call.lastEventId } : {} }, call),
    stop: (id, body, call) => transport.json(routes.stopWorkspace, { params: { id }, body: body ?? {} }, call),
    start: (id, call) => transport.json(routes.startWorkspace, { params: { id }, body: {} }, call),
    delete: (id, query, call) => transport.json(routes.deleteWorkspace, { params: { id }, query: query ?? {} }, call),
    listNodes: (call) => transport.json(routes.listNodes, {}, call),
    createNodeToken: (body, call) => transport.json(routes.createNodeToken, { body: body ?? {} }, call),
    metrics: (call) => transport.text(routes.metrics, {}, call),
  };
}

export function createNodeClient(options: ClientOptions): NodeClient {
  const transport = new Transport(options);
  const routes = API_ROUTES;
  return {
    server: transport.server,
    register: (body, call) => transport.json(routes.registerNode, { body }, call),
    heartbeat: (id, body, call) => transport.json(routes.nodeHeartbeat, { params: { id }, body }, call),
    pollCommands: (id, query, call) => {
      // The server may hold the request for `wait` seconds: that is not a timeout.
      const parsed = PollCommandsQuerySchema.safeParse(query ?? {});
      const timeoutMs = (call?.timeoutMs ?? transport.timeoutMs) + (parsed.success ? parsed.data.wait * 1000 : 0);
      return transport.json(routes.pollCommands, { params: { id }, query: query ?? {} }, { ...call, timeoutMs });
    },
    postResult: (id, cid, body, call) => transport.json(routes.postCommandResult, { params: { id, cid }, body }, call),
    postEvents: (id, events, call) => transport.json(routes.postNodeEvents, { params: { id }, body: { events } }, call),
  };
}

// ---- transport

type SuccessOf<R extends ApiRoute> = z.output<R["responses"][keyof R["responses"]]>;

interface RouteInput {
  params?: Record<string, unknown>;
  query?: unknown;
  body?: unknown;
  headers?: Record<string, string | undefined>;
  /** Sent as-is, not validated (protocol headers such as Last-Event-ID). */
  extraHeaders?: Record<string, string>;
}

interface OpenResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData["body"];
  /** Whether this request's time limit ran out (reading a body fails with an abort then). */
  timedOut(): boolean;
  timeoutMs: number;
  /** Ends the request if still running and releases the timer and the caller's signal. */
  close(): void;
}

// Connection-level failures meaning "no nexus server answers at this address".
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ETIMEDOUT", "EPIPE",
  "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_SOCKET", "UND_ERR_CLOSED",
]);

class Transport {
  readonly server: string;
  readonly timeoutMs: number;
  readonly #base: URL;
  readonly #token: string | Secret | undefined;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #userAgent: string;

  constructor(options: ClientOptions) {
    this.#base = parseServerUrl(options.server);
    this.server = this.#base.href.replace(/\/$/, "");
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#token = options.token;
    this.#dispatcher = options.dispatcher;
    this.#userAgent = options.userAgent ?? USER_AGENT;
  }

  async json<R extends ApiRoute>(route: R, input: RouteInput, call: CallOptions = {}): Promise<SuccessOf<R>> {
    const response = await this.#open(route, input, call, { accept: "application/json", stream: false });
    try {
      const text = await response.body.text();
      const schema = route.responses[response.statusCode] ?? Object.values(route.responses)[0];
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch {
        throw unexpectedResponse(route, response, "is not JSON");
      }
      const parsed = (schema as z.ZodType).safeParse(data);
      if (!parsed.success) throw unexpectedResponse(route, response, "does not match the API", parsed.error.issues);
      return parsed.data as SuccessOf<R>;
    } catch (error) {
      throw this.#failure(error, route, call, response);
    } finally {
      response.close();
    }
  }

  async text(route: ApiRoute, input: RouteInput, call: CallOptions = {}): Promise<string> {
    const response = await this.#open(route, input, call, { accept: "text/plain", stream: false });
    try {
      return await response.body.text();
    } catch (error) {
      throw this.#failure(error, route, call, response);
    } finally {
      response.close();
    }
  }

  async *textStream(route: ApiRoute, input: RouteInput, call: CallOptions = {}): AsyncGenerator<string> {
    const response = await this.#open(route, input, call, { accept: "text/plain", stream: true });
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body) {
        const text = decoder.decode(chunk as Uint8Array, { stream: true });
        if (text) yield text;
      }
      const rest = decoder.decode();
      if (rest) yield rest;
    } catch (error) {
      throw this.#failure(error, route, call, response);
    } finally {
      response.close();
    }
  }

  async *eventStream(route: ApiRoute, input: RouteInput, call: CallOptions = {}): AsyncGenerator<WorkspaceStreamEvent> {
    const response = await this.#open(route, input, call, { accept: "text/event-stream", stream: true });
    const ready: WorkspaceStreamEvent[] = [];
    let invalid: NexusError | undefined;
    const parser = createParser({
      onEvent: (message) => {
        if (invalid) return;
        let data: unknown;
        try {
          data = JSON.parse(message.data);
        } catch {
          invalid = unexpectedResponse(route, response, "sent an event whose data is not JSON");
          return;
        }
        // Event types added by a newer server are skipped, not fatal.
        const type = (data as { type?: unknown } | null)?.type ?? message.event;
        if (!(WORKSPACE_STREAM_EVENT_TYPES as readonly unknown[]).includes(type)) return;
        const parsed = WorkspaceStreamEventSchema.safeParse(data);
        if (parsed.success) ready.push(parsed.data);
        else invalid = unexpectedResponse(route, response, "sent an event that does not match the API", parsed.error.issues);
      },
    });
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body) {
        parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
        if (invalid) throw invalid;
        while (ready.length > 0) yield ready.shift() as WorkspaceStreamEvent;
      }
    } catch (error) {
      throw this.#failure(error, route, call, response);
    } finally {
      response.close();
    }
  }

  async #open(route: ApiRoute, input: RouteInput, call: CallOptions, mode: { accept: string; stream: boolean }): Promise<OpenResponse> {
    const url = this.#url(route, input);
    const headers: Record<string, string> = { "user-agent": this.#userAgent, accept: mode.accept };
    const token = call.token ?? this.#token;
    if (token !== undefined) headers.authorization = `Bearer ${token instanceof Secret ? token.reveal() : token}`;
    if (route.headers) Object.assign(headers, definedStrings(encodePart(route, "headers", route.headers, input.headers ?? {})));
    Object.assign(headers, input.extraHeaders);
    let payload: string | undefined;
    if (route.body) {
      payload = JSON.stringify(encodePart(route, "body", route.body, input.body));
      headers["content-type"] = "application/json";
    }

    const { signal } = call;
    signal?.throwIfAborted();
    // One controller for both the caller's signal and the time limit, so that a failure
    // can tell "cancelled" from "timed out".
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    let timedOut = false;
    const timeoutMs = call.timeoutMs ?? this.timeoutMs;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const state = { timedOut: () => timedOut, timeoutMs };
    const release = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };

    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method: route.method,
        headers,
        body: payload,
        signal: controller.signal,
        ...(this.#dispatcher ? { dispatcher: this.#dispatcher } : {}),
        // Streams may stay quiet for long; the overall timer covers plain requests.
        ...(mode.stream ? { bodyTimeout: 0 } : {}),
      });
    } catch (error) {
      release();
      throw this.#failure(error, route, call, state);
    }
    const body = response.body;
    const open: OpenResponse = {
      statusCode: response.statusCode,
      headers: response.headers,
      body,
      ...state,
      close: () => {
        release();
        // Ends an unfinished request (a stream the caller stopped reading); a no-op once read.
        body.destroy();
      },
    };
    if (response.statusCode >= 200 && response.statusCode < 300) {
      // A stream's time limit covers only the wait for its headers.
      if (mode.stream) clearTimeout(timer);
      return open;
    }
    try {
      throw serverError(route, response.statusCode, response.headers, await body.text());
    } catch (error) {
      throw this.#failure(error, route, call, open);
    } finally {
      open.close();
    }
  }

  #failure(error: unknown, route: ApiRoute, call: CallOptions, limit: { timedOut(): boolean; timeoutMs: number }): unknown {
    if (call.signal?.aborted) return call.signal.reason;
    const { timeoutMs } = limit;
    if (limit.timedOut()) {
      return new NexusError("timeout", `${route.method} ${route.path} got no answer from ${this.server} within ${timeoutMs / 1000} s`, {
        details: { method: route.method, path: route.path, timeout_ms: timeoutMs },
        hint: "Check the server with `nexus doctor`, or try again.",
        cause: error,
      });
    }
    if (isNexusError(error)) return error;
    const code = networkErrorCode(error);
    if (code !== undefined && UNREACHABLE_CODES.has(code)) {
      return new NexusError("server_unreachable", `cannot reach the nexus server at ${this.server} (${code})`, {
        details: { server: this.server, code },
        cause: error,
      });
    }
    const message = error instanceof Error ? error.message : String(error);
    return new NexusError("internal_error", `${route.method} ${route.path}: ${message}`, { details: { server: this.server }, cause: error });
  }

  #url(route: ApiRoute, input: RouteInput): URL {
    const params = route.params ? (encodePart(route, "params", route.params, input.params ?? {}) as Record<string, unknown>) : {};
    const path = route.path.replace(/:([A-Za-z]+)/g, (_, name: string) => encodeURIComponent(String(params[name])));
    const url = new URL(this.#base.href.replace(/\/$/, "") + path);
    if (route.query) {
      const query = encodePart(route, "query", route.query, input.query ?? {}) as Record<string, unknown>;
      for (const [key, value] of Object.entries(query)) {
        if (value !== undefined) url.searchParams.set(key, String(value));
      }
    }
    return url;
  }
}

/** Validates a request part, then encodes it to its wire form (Secrets revealed, defaults filled). */
function encodePart(route: ApiRoute, part: "params" | "query" | "headers" | "body", schema: z.ZodType, value: unknown): unknown {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = zodIssuesToDetails(parsed.error.issues);
    const first = issues[0];
    const where = part === "body" || first?.path === "(root)" ? first?.path : `${part}.${first?.path}`;
    throw new NexusError("invalid_request", `invalid ${part} for ${route.method} ${route.path}: ${where}: ${first?.message}`, {
      details: { part, issues },
    });
  }
  return z.encode(schema, parsed.data);
}

function definedStrings(value: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).filter(([, v]) => typeof v === "string")) as Record<string, string>;
}

function parseServerUrl(server: string | URL): URL {
  let url: URL;
  try {
    url = new URL(String(server));
  } catch {
    throw invalidServer(String(server), "is not a URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw invalidServer(String(server), "must start with http:// or https://");
  if (url.username || url.password) throw invalidServer(url.host, "must not contain credentials (use a token)");
  if (url.search || url.hash) throw invalidServer(String(server), "must not have a query or fragment");
  return url;
}

function invalidServer(shown: string, reason: string): NexusError {
  return new NexusError("invalid_request", `server URL ${JSON.stringify(shown)} ${reason}`, {
    details: { server: shown },
    hint: "Check --server / NEXUS_SERVER, e.g. http://127.0.0.1:3001.",
  });
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

// A status without a nexus error body (a proxy's page, a crash): the nearest catalog code.
function codeForStatus(status: number): ErrorCode {
  if (status === 400) return "invalid_request";
  if (status === 401) return "auth_required";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 408 || status === 504) return "timeout";
  if (status === 429) return "rate_limited";
  if (status === 502 || status === 503) return "server_unreachable";
  return "internal_error";
}

function serverError(route: ApiRoute, status: number, headers: Record<string, string | string[] | undefined>, text: string): NexusError {
  const requestId = header(headers, "x-request-id");
  const retryAfter = parseRetryAfter(header(headers, "retry-after"));
  const extra = {
    ...(retryAfter === undefined ? {} : { retry_after_seconds: retryAfter }),
  };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const parsed = ErrorBodySchema.safeParse(body);
  if (parsed.success) {
    const { error, message, details, hint, request_id } = parsed.data;
    return new NexusError(error, message, { details: { ...details, request_id, ...extra }, ...(hint === undefined ? {} : { hint }) });
  }
  // A nexus-shaped body with a code this client does not know (a newer server): keep its words.
  const loose = body as { error?: unknown; message?: unknown; hint?: unknown; details?: unknown; request_id?: unknown } | undefined;
  const code = codeForStatus(status);
  const snippet = text.replace(/\s+/g, " ").trim().slice(0, 200);
  const message = typeof loose?.message === "string" ? loose.message : `${route.method} ${route.path} failed with HTTP ${status}${snippet ? `: ${snippet}` : ""}`;
  const looseDetails = typeof loose?.details === "object" && loose.details !== null ? (loose.details as Record<string, unknown>) : {};
  return new NexusError(code, message, {
    details: {
      ...looseDetails,
      http_status: status,
      ...(typeof loose?.error === "string" && !isErrorCode(loose.error) ? { server_code: loose.error } : {}),
      ...(typeof loose?.request_id === "string" ? { request_id: loose.request_id } : requestId ? { request_id: requestId } : {}),
      ...extra,
    },
    ...(typeof loose?.hint === "string" ? { hint: loose.hint } : {}),
  });
}

function unexpectedResponse(route: ApiRoute, response: OpenResponse, what: string, issues?: readonly z.core.$ZodIssue[]): NexusError {
  const requestId = header(response.headers, "x-request-id");
  return new NexusError("internal_error", `the server's answer to ${route.method} ${route.path} ${what}`, {
    details: { http_status: response.statusCode, ...(issues ? { issues: zodIssuesToDetails(issues) } : {}), ...(requestId ? { request_id: requestId } : {}) },
    hint: "The server may run another nexus version; compare `nexus --version` with the server's /health.",
  });
}

function networkErrorCode(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue = [error];
  while (queue.length > 0) {
    const current = queue.shift();
    if (typeof current !== "object" || current === null || seen.has(current)) continue;
    seen.add(current);
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && UNREACHABLE_CODES.has(code)) return code;
    queue.push((current as { cause?: unknown }).cause, ...((current as { errors?: unknown[] }).errors ?? []));
  }
  return undefined;
}
