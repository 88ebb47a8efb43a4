// Every route of the API in one registry: the server mounts handlers from it and
// generates /api/v1/openapi.json from it, the client sends and validates with it, and
// docs/api.md describes it. Schemas decode the wire form (z.parse) and encode back
// (z.encode: responses must be encoded, or secrets leave as [REDACTED]). JSON Schema for
// OpenAPI: `z.toJSONSchema(schema, { io: "input" })` is the wire form for requests and
// responses alike; converters that use "output" for responses (fastify-type-provider-zod)
// need `unrepresentable: "any"` for the Secret codec, which carries string metadata.
import { z } from "zod";
import type { ErrorCode } from "../errors.js";
import { ErrorBodySchema } from "./common.js";
import { HealthResponseSchema, OpenApiDocumentSchema } from "./health.js";
import {
  CommandParamsSchema,
  CommandResultBodySchema,
  CommandResultResponseSchema,
  CreateNodeTokenBodySchema,
  CreateNodeTokenResponseSchema,
  HeartbeatBodySchema,
  HeartbeatResponseSchema,
  ListNodesResponseSchema,
  NodeEventsBodySchema,
  NodeEventsResponseSchema,
  NodeParamsSchema,
  PollCommandsQuerySchema,
  PollCommandsResponseSchema,
  RegisterNodeBodySchema,
  RegisterNodeResponseSchema,
} from "./nodes.js";
import { WorkspaceStreamEventSchema } from "./events.js";
import { MeResponseSchema, RegisterGithubBodySchema, RegisterGithubResponseSchema, RevokeTokenResponseSchema } from "./users.js";
import {
  CreateWorkspaceBodySchema,
  CreateWorkspaceHeadersSchema,
  CreateWorkspaceResponseSchema,
  DeleteWorkspaceQuerySchema,
  DeleteWorkspaceResponseSchema,
  ListServicesResponseSchema,
  ListWorkspacesQuerySchema,
  ListWorkspacesResponseSchema,
  LogsQuerySchema,
  StartWorkspaceBodySchema,
  StartWorkspaceResponseSchema,
  StopWorkspaceBodySchema,
  StopWorkspaceResponseSchema,
  WorkspaceDetailSchema,
  WorkspaceParamsSchema,
} from "./workspaces.js";

export const API_PREFIX = "/api/v1";

/**
 * Who may call a route, by bearer token: `user` = API token (`nxs_…`) or a GitHub token;
 * `github` = a GitHub token only; `join` = a node join token (`nxj_…`); `node` = a node
 * token (`nxn_…`) of the node named in the path; `admin` = the server's admin token.
 */
export type RouteAuth = "none" | "user" | "github" | "join" | "node" | "admin";
export type RouteContentType = "application/json" | "text/plain" | "text/event-stream";
export type HttpMethod = "GET" | "POST" | "DELETE";

export interface ApiRoute {
  readonly method: HttpMethod;
  /** Fastify style: `/api/v1/workspaces/:id`. */
  readonly path: string;
  readonly auth: RouteAuth;
  readonly summary: string;
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  /** Keys are lower-case header names. */
  readonly headers?: z.ZodType;
  readonly body?: z.ZodType;
  /** Success statuses only; every error is ErrorBodySchema with the catalog's status. */
  readonly responses: Readonly<Record<number, z.ZodType>>;
  /** Of the success responses; default application/json. For SSE the schema is one event's data. */
  readonly produces?: RouteContentType;
  /** Catalog codes this route returns besides the ones every route may (COMMON_ERRORS and its auth's). */
  readonly errors: readonly ErrorCode[];
}

/** Any route can answer with these. */
export const COMMON_ERRORS = ["invalid_request", "rate_limited", "internal_error"] as const satisfies readonly ErrorCode[];
/** Added for every route whose auth is not `none`. */
export const AUTH_ERRORS = ["auth_required", "forbidden"] as const satisfies readonly ErrorCode[];

/** The error schema, for the generator's 4xx/5xx responses. */
export const API_ERROR_SCHEMA = ErrorBodySchema;

export const API_ROUTES = {
  health: {
    method: "GET", path: "/health", auth: "none", summary: "Server health and node status",
    responses: { 200: HealthResponseSchema }, errors: [],
  },
  healthV1: {
    method: "GET", path: `${API_PREFIX}/health`, auth: "none", summary: "Server health and node status",
    responses: { 200: HealthResponseSchema }, errors: [],
  },
  openapi: {
    method: "GET", path: `${API_PREFIX}/openapi.json`, auth: "none", summary: "This API as an OpenAPI 3.1 document",
    responses: { 200: OpenApiDocumentSchema }, errors: [],
  },
  registerGithub: {
    method: "POST", path: `${API_PREFIX}/users/register-github`, auth: "github",
    summary: "Register (or re-register) the GitHub user with an SSH public key; returns an API token",
    body: RegisterGithubBodySchema,
    responses: { 201: RegisterGithubResponseSchema, 200: RegisterGithubResponseSchema },
    errors: ["user_exists"],
  },
  me: {
    method: "GET", path: `${API_PREFIX}/users/me`, auth: "user", summary: "The calling user and their SSH keys",
    responses: { 200: MeResponseSchema }, errors: ["user_not_found"],
  },
  revokeCurrentToken: {
    method: "DELETE", path: `${API_PREFIX}/users/me/tokens/current`, auth: "user",
    summary: "Revoke the API token (nxs_…) this request is made with: later requests with it are 401 (logout)",
    responses: { 200: RevokeTokenResponseSchema }, errors: [],
  },
  createWorkspace: {
    method: "POST", path: `${API_PREFIX}/workspaces/create-from-repo`, auth: "user",
    summary: "Create a workspace from a repository (asynchronous; poll or stream events)",
    headers: CreateWorkspaceHeadersSchema, body: CreateWorkspaceBodySchema,
    responses: { 202: CreateWorkspaceResponseSchema },
    errors: ["invalid_config", "workspace_exists", "repo_not_found", "no_node_available", "port_pool_exhausted", "provider_unavailable"],
  },
  listWorkspaces: {
    method: "GET", path: `${API_PREFIX}/workspaces`, auth: "user", summary: "The caller's workspaces",
    query: ListWorkspacesQuerySchema, responses: { 200: ListWorkspacesResponseSchema }, errors: [],
  },
  getWorkspace: {
    method: "GET", path: `${API_PREFIX}/workspaces/:id`, auth: "user", summary: "One workspace, by id or name",
    params: WorkspaceParamsSchema, responses: { 200: WorkspaceDetailSchema }, errors: ["workspace_not_found"],
  },
  getWorkspaceStatus: {
    method: "GET", path: `${API_PREFIX}/workspaces/:id/status`, auth: "user", summary: "One workspace, by id or name (alias)",
    params: WorkspaceParamsSchema, responses: { 200: WorkspaceDetailSchema }, errors: ["workspace_not_found"],
  },
  listServices: {
    method: "GET", path: `${API_PREFIX}/workspaces/:id/services`, auth: "user", summary: "The workspace's services",
    params: WorkspaceParamsSchema, responses: { 200: ListServicesResponseSchema }, errors: ["workspace_not_found"],
  },
  workspaceEvents: {
    method: "GET", path: `${API_PREFIX}/workspaces/:id/events`, auth: "user",
    summary: "Phase, status and service events as they happen (Server-Sent Events)",
    params: WorkspaceParamsSchema, responses: { 200: WorkspaceStreamEventSchema }, produces: "text/event-stream",
    errors: ["workspace_not_found"],
  },
  workspaceLogs: {
    method: "GET", path: `${API_PREFIX}/workspaces/:id/logs`, auth: "user",
    summary: "Service logs as text (chunked while following)",
    params: WorkspaceParamsSchema, query: LogsQuerySchema, responses: { 200: z.string() }, produces: "text/plain",
    errors: ["workspace_not_found", "provider_unavailable"],
  },
  stopWorkspace: {
    method: "POST", path: `${API_PREFIX}/workspaces/:id/stop`, auth: "user", summary: "Stop a running workspace",
    params: WorkspaceParamsSchema, body: StopWorkspaceBodySchema, responses: { 202: StopWorkspaceResponseSchema },
    errors: ["workspace_not_found", "invalid_transition"],
  },
  startWorkspace: {
    method: "POST", path: `${API_PREFIX}/workspaces/:id/start`, auth: "user", summary: "Start a stopped workspace",
    params: WorkspaceParamsSchema, body: StartWorkspaceBodySchema, responses: { 202: StartWorkspaceResponseSchema },
    errors: ["workspace_not_found", "invalid_transition", "no_node_available"],
  },
  deleteWorkspace: {
    method: "DELETE", path: `${API_PREFIX}/workspaces/:id`, auth: "user",
    summary: "Delete a workspace (force=true for a running one); a later GET is 404",
    params: WorkspaceParamsSchema, query: DeleteWorkspaceQuerySchema, responses: { 202: DeleteWorkspaceResponseSchema },
    errors: ["workspace_not_found", "invalid_transition"],
  },
  registerNode: {
    method: "POST", path: `${API_PREFIX}/nodes/register`, auth: "join", summary: "Register a node with a join token",
    body: RegisterNodeBodySchema, responses: { 201: RegisterNodeResponseSchema }, errors: [],
  },
  nodeHeartbeat: {
    method: "POST", path: `${API_PREFIX}/nodes/:id/heartbeat`, auth: "node", summary: "Node heartbeat (every 10 s)",
    params: NodeParamsSchema, body: HeartbeatBodySchema, responses: { 200: HeartbeatResponseSchema }, errors: ["not_found"],
  },
  pollCommands: {
    method: "GET", path: `${API_PREFIX}/nodes/:id/commands`, auth: "node",
    summary: "Long-poll for commands (delivered at least once; de-duplicate by id)",
    params: NodeParamsSchema, query: PollCommandsQuerySchema, responses: { 200: PollCommandsResponseSchema }, errors: ["not_found"],
  },
  postCommandResult: {
    method: "POST", path: `${API_PREFIX}/nodes/:id/commands/:cid/result`, auth: "node", summary: "Report a command's outcome",
    params: CommandParamsSchema, body: CommandResultBodySchema, responses: { 200: CommandResultResponseSchema }, errors: ["not_found"],
  },
  postNodeEvents: {
    method: "POST", path: `${API_PREFIX}/nodes/:id/events`, auth: "node",
    summary: "Report phases, service status, workspace status and observed state",
    params: NodeParamsSchema, body: NodeEventsBodySchema, responses: { 200: NodeEventsResponseSchema }, errors: ["not_found"],
  },
  listNodes: {
    method: "GET", path: `${API_PREFIX}/nodes`, auth: "admin", summary: "Every registered node",
    responses: { 200: ListNodesResponseSchema }, errors: [],
  },
  createNodeToken: {
    method: "POST", path: `${API_PREFIX}/nodes/tokens`, auth: "admin", summary: "Create a join token for `nexus agent start`",
    body: CreateNodeTokenBodySchema, responses: { 201: CreateNodeTokenResponseSchema }, errors: [],
  },
  metrics: {
    method: "GET", path: `${API_PREFIX}/metrics`, auth: "admin", summary: "Prometheus metrics",
    responses: { 200: z.string() }, produces: "text/plain", errors: [],
  },
} as const satisfies Record<string, ApiRoute>;

export type ApiRouteName = keyof typeof API_ROUTES;

/** Every catalog code a route can answer with. */
export function routeErrorCodes(route: ApiRoute): ErrorCode[] {
  return [...new Set<ErrorCode>([...COMMON_ERRORS, ...(route.auth === "none" ? [] : AUTH_ERRORS), ...route.errors])];
}
