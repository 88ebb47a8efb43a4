// One handler per entry of API_ROUTES. Each receives the caller and the request parts
// already validated by the route's schemas, calls one service, and returns a status
// with a body (encoded with the route's response schema) or answers with a stream.
import type { FastifyReply, FastifyRequest } from "fastify";
import { AuthService, NexusError, type API_ROUTES, type ApiRouteName, type NexusServices, type Principal, type UserRecord } from "@nexus/core";
import type { z } from "zod";
import type { HttpMetrics } from "./metrics.js";
import { printableEvent, printableResult } from "./node-text.js";
import { requestSignal, sendFollowedLogs, sendWorkspaceEvents } from "./streams.js";

type Routes = typeof API_ROUTES;
type PartOf<R, K extends string> = R extends { readonly [P in K]: infer S extends z.ZodType } ? z.output<S> : undefined;

export interface HandlerCall<K extends ApiRouteName> {
  principal: Principal;
  params: PartOf<Routes[K], "params">;
  query: PartOf<Routes[K], "query">;
  headers: PartOf<Routes[K], "headers">;
  body: PartOf<Routes[K], "body">;
  request: FastifyRequest;
  reply: FastifyReply;
}

type Responses<K extends ApiRouteName> = Routes[K]["responses"];
type Answer<K extends ApiRouteName> = { [S in keyof Responses<K> & number]: { status: S; body: z.output<Responses<K>[S]> } }[keyof Responses<K> & number];

/** The handler answered itself (a stream). */
export const STREAMED = Symbol("streamed");

export type Handler<K extends ApiRouteName> = (call: HandlerCall<K>) => Promise<Answer<K> | typeof STREAMED>;
export type Handlers = { [K in ApiRouteName]: Handler<K> };

export interface HandlerDeps {
  services: NexusServices;
  metrics: HttpMetrics;
  openapi: Record<string, unknown>;
  closing: AbortSignal;
  sseHeartbeatMs: number;
  logsFollowIntervalMs: number;
}

function userOf(principal: Principal): UserRecord {
  if (principal.kind !== "user") throw new NexusError("forbidden", "this route needs a user's token");
  return principal.user;
}

export function createHandlers(deps: HandlerDeps): Handlers {
  const { services, closing } = deps;
  const health = async () => ({ status: 200 as const, body: await services.health() });
  const getWorkspace = async ({ principal, params }: HandlerCall<"getWorkspace">) => ({
    status: 200 as const,
    body: await services.workspaces.get(userOf(principal), params.id),
  });
  return {
    health,
    healthV1: health,
    openapi: async () => ({ status: 200, body: deps.openapi as never }),
    registerGithub: async ({ principal, body }) => {
      if (principal.kind !== "github") throw new NexusError("forbidden", "registration needs a GitHub token");
      const { status, response } = await services.users.registerGithub(principal.identity, body);
      return { status, body: response };
    },
    me: async ({ principal }) => ({ status: 200, body: await services.users.me(userOf(principal)) }),
    revokeCurrentToken: async ({ principal, request }) => ({
      status: 200,
      body: await services.users.revokeApiToken(userOf(principal), AuthService.bearer(request.headers.authorization) ?? ""),
    }),
    createWorkspace: async ({ principal, body, headers, reply }) => {
      const { response } = await services.workspaces.createFromRepo(userOf(principal), body, headers["idempotency-key"]);
      reply.header("location", response.polling_url);
      return { status: 202, body: response };
    },
    listWorkspaces: async ({ principal, query }) => ({ status: 200, body: await services.workspaces.list(userOf(principal), query) }),
    getWorkspace,
    getWorkspaceStatus: getWorkspace as unknown as Handler<"getWorkspaceStatus">,
    listServices: async ({ principal, params }) => ({ status: 200, body: await services.workspaces.services(userOf(principal), params.id) }),
    workspaceEvents: async ({ principal, params, request, reply }) => {
      const workspace = await services.workspaces.resolve(userOf(principal), params.id);
      sendWorkspaceEvents({ services, request, reply, closing }, workspace, deps.sseHeartbeatMs);
      return STREAMED;
    },
    workspaceLogs: async ({ principal, params, query, request, reply }) => {
      const user = userOf(principal);
      const input = { ...(query.service === undefined ? {} : { service: query.service }), tail: query.tail };
      if (query.follow) {
        await sendFollowedLogs({ services, request, reply, closing }, user, params.id, input, deps.logsFollowIntervalMs);
        return STREAMED;
      }
      // An in-flight logs request is left to finish when the server closes (graceful shutdown).
      return { status: 200, body: await services.workspaces.logs(user, params.id, input, requestSignal(reply)) };
    },
    stopWorkspace: async ({ principal, params, body }) => ({
      status: 202,
      body: (await services.workspaces.stop(userOf(principal), params.id, body?.force ?? false)) as never,
    }),
    startWorkspace: async ({ principal, params }) => ({ status: 202, body: (await services.workspaces.start(userOf(principal), params.id)) as never }),
    deleteWorkspace: async ({ principal, params, query }) => ({
      status: 202,
      body: (await services.workspaces.delete(userOf(principal), params.id, query.force)) as never,
    }),
    registerNode: async ({ body }) => ({ status: 201, body: await services.nodes.register(body) }),
    nodeHeartbeat: async ({ params, body }) => ({ status: 200, body: await services.nodes.heartbeat(params.id, body) }),
    pollCommands: async ({ params, query, reply }) => ({
      status: 200,
      body: { commands: await services.nodes.poll(params.id, query.wait, requestSignal(reply, closing)) },
    }),
    postCommandResult: async ({ params, body }) => ({ status: 200, body: await services.nodes.complete(params.id, params.cid, printableResult(body)) }),
    postNodeEvents: async ({ params, body }) => ({ status: 200, body: await services.nodes.applyEvents(params.id, body.events.map(printableEvent)) }),
    listNodes: async () => ({ status: 200, body: await services.nodes.list() }),
    createNodeToken: async ({ body }) => ({ status: 201, body: await services.nodes.createJoinToken(body) }),
    metrics: async () => {
      const snapshot = await services.snapshot();
      const health = await services.health();
      return { status: 200, body: deps.metrics.render(snapshot, health.uptime_seconds) };
    },
  };
}
