// A stand-in for the coordination server's agent plane on 127.0.0.1: registration,
// heartbeats, long-polled commands, results and events, each body validated with the
// wire schemas so the agent is held to the contract.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { once } from "node:events";
import {
  AgentCommandSchema,
  CommandResultBodySchema,
  HeartbeatBodySchema,
  NodeEventsBodySchema,
  RegisterNodeBodySchema,
  type AgentCommandInput,
  type CommandResultBody,
  type HeartbeatBody,
  type NodeEvent,
  type RegisterNodeBody,
} from "@nexus/core";
import { z } from "zod";

export interface PostedResult {
  commandId: string;
  body: z.output<typeof CommandResultBodySchema>;
  raw: CommandResultBody;
}

export interface FakeServer {
  url: string;
  joinToken: string;
  registrations: RegisterNodeBody[];
  heartbeats: HeartbeatBody[];
  events: NodeEvent[];
  results: PostedResult[];
  /** Every request body as received (to look for leaked secrets). */
  bodies: string[];
  /** Queues a command for the next poll (the wire form: clone_token as a plain string). */
  enqueue(command: AgentCommandInput): void;
  /** Forgets every node: their tokens stop working (a server whose database was reset). */
  forgetNodes(): void;
  /** Registrations are answered only once the returned function is called. */
  holdRegistrations(): () => void;
  until<T>(read: () => T | undefined | false, what: string, ms?: number): Promise<T>;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json", "x-request-id": "req_fake" });
  res.end(JSON.stringify(body));
}

function error(res: ServerResponse, status: number, code: string, message: string): void {
  send(res, status, { error: code, message, details: {}, request_id: "req_fake" });
}

export async function startFakeServer(): Promise<FakeServer> {
  const joinToken = `nxj_${randomBytes(8).toString("hex")}`;
  const nodes = new Map<string, string>();
  const queue: AgentCommandInput[] = [];
  const wakers = new Set<() => void>();
  const seenResults = new Set<string>();
  let registrationGate: Promise<void> | undefined;
  const state: Omit<FakeServer, "url" | "close" | "until"> = {
    joinToken,
    registrations: [],
    heartbeats: [],
    events: [],
    results: [],
    bodies: [],
    enqueue(command) {
      AgentCommandSchema.parse(command);
      queue.push(command);
      for (const wake of [...wakers]) wake();
    },
    forgetNodes() {
      nodes.clear();
    },
    holdRegistrations() {
      let release!: () => void;
      registrationGate = new Promise<void>((resolve) => (release = resolve));
      return () => {
        registrationGate = undefined;
        release();
      };
    },
  };

  const bearer = (req: IncomingMessage) => (req.headers.authorization ?? "").replace(/^Bearer /, "");

  const server = createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    state.bodies.push(text);
    const url = new URL(req.url ?? "/", "http://fake");
    const path = url.pathname;
    const body = text ? (JSON.parse(text) as unknown) : undefined;
    if (req.method === "POST" && path === "/api/v1/nodes/register") {
      if (bearer(req) !== joinToken) return error(res, 401, "auth_required", "bad join token");
      const parsed = RegisterNodeBodySchema.safeParse(body);
      if (!parsed.success) return error(res, 400, "invalid_request", parsed.error.message);
      state.registrations.push(body as RegisterNodeBody);
      await registrationGate;
      const nodeId = `node_${randomBytes(6).toString("hex")}`;
      const token = `nxn_${randomBytes(12).toString("hex")}`;
      nodes.set(nodeId, token);
      return send(res, 201, { node_id: nodeId, node_token: token, heartbeat_interval_seconds: 10 });
    }
    const match = /^\/api\/v1\/nodes\/(node_[A-Za-z0-9_-]+)\/(heartbeat|commands|events)(?:\/(cmd_[A-Za-z0-9_-]+)\/result)?$/.exec(path);
    if (!match) return error(res, 404, "not_found", `no route ${path}`);
    const [, nodeId, what, commandId] = match as unknown as [string, string, string, string | undefined];
    if (!nodes.has(nodeId)) return error(res, 404, "not_found", `no node ${nodeId}`);
    if (nodes.get(nodeId) !== bearer(req)) return error(res, 401, "auth_required", "bad node token");
    if (what === "heartbeat") {
      const parsed = HeartbeatBodySchema.safeParse(body);
      if (!parsed.success) return error(res, 400, "invalid_request", parsed.error.message);
      state.heartbeats.push(body as HeartbeatBody);
      return send(res, 200, { status: "online", server_time: new Date().toISOString() });
    }
    if (what === "events") {
      const parsed = NodeEventsBodySchema.safeParse(body);
      if (!parsed.success) return error(res, 400, "invalid_request", parsed.error.message);
      state.events.push(...parsed.data.events);
      return send(res, 200, { accepted: parsed.data.events.length });
    }
    if (commandId !== undefined) {
      const parsed = CommandResultBodySchema.safeParse(body);
      if (!parsed.success) return error(res, 400, "invalid_request", parsed.error.message);
      state.results.push({ commandId, body: parsed.data, raw: body as CommandResultBody });
      const first = !seenResults.has(commandId);
      seenResults.add(commandId);
      return send(res, 200, { accepted: first });
    }
    // Long-poll.
    const waitSeconds = Number(url.searchParams.get("wait") ?? "25");
    if (queue.length === 0) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          wakers.delete(wake);
          req.socket.off("close", wake);
          resolve();
        };
        const timer = setTimeout(wake, waitSeconds * 1000);
        wakers.add(wake);
        req.socket.once("close", wake);
      });
    }
    send(res, 200, { commands: queue.splice(0, queue.length) });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    ...state,
    url: `http://127.0.0.1:${port}`,
    async until(read, what, ms = 20_000) {
      const end = Date.now() + ms;
      for (;;) {
        const value = read();
        if (value !== undefined && value !== false) return value;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      for (const wake of [...wakers]) wake();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
