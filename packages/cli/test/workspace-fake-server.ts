// A small in-process nexus server for the CLI's workspace tests: the user-facing routes
// of SPEC §5 over node:http, with a scripted workspace that walks through the create
// phases. Every request is parsed and every response body is validated with the wire
// schemas in @nexus/core (API_ROUTES), so this fake cannot drift from the contract.
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  API_ROUTES,
  CREATE_PHASES,
  ERROR_CATALOG,
  ErrorBodySchema,
  WorkspaceStreamEventSchema,
  canTransition,
  encodeWorkspaceStreamEvent,
  type ApiRoute,
  type CreatePhase,
  type ErrorCode,
  type WorkspaceDetail,
  type WorkspaceStreamEvent,
  type WorkspaceState,
} from "@nexus/core";
import ssh2 from "ssh2";
import { generateEd25519Pair } from "@nexus/github";
import { z } from "zod";

export interface ScriptedFailure {
  phase: CreatePhase;
  code: ErrorCode;
  message: string;
}

export interface FakeServerOptions {
  token?: string;
  /** Accept file:// repositories (single-machine mode). */
  singleMachine?: boolean;
  /** Serve the SSE events route (false: 404, the CLI must poll). */
  events?: boolean;
  /** Time per phase / state step. */
  stepMs?: number;
  fail?: ScriptedFailure;
  /** Where the workspace's SSH is (the tests' in-process sshd), default 127.0.0.1:2222. */
  ssh?: { host: string; port: number; hostKey: string };
  /** Log text served for every workspace. */
  logs?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}

interface FakeWorkspace {
  detail: WorkspaceDetail;
  depends: Record<string, string[]>;
  timers: NodeJS.Timeout[];
}

const HOST_KEY = generateEd25519Pair().public.split(" ").slice(0, 2).join(" ");

export class FakeNexusServer {
  readonly requests: RecordedRequest[] = [];
  readonly workspaces = new Map<string, FakeWorkspace>();
  readonly options: Required<Omit<FakeServerOptions, "fail" | "ssh">> & Pick<FakeServerOptions, "fail" | "ssh">;
  #server: Server | undefined;
  #subscribers = new Map<string, Set<ServerResponse>>();
  #sequence = 0;
  #nextPort = 2222;
  url = "";

  constructor(options: FakeServerOptions = {}) {
    this.options = { token: "nxs_test_token", singleMachine: false, events: true, stepMs: 10, logs: "api | listening on 4000\nweb | ready\n", ...options };
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => this.#error(res, "internal_error", String(error)));
    });
    this.#server.listen(0, "127.0.0.1");
    await once(this.#server, "listening");
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const ws of this.workspaces.values()) for (const t of ws.timers) clearTimeout(t);
    for (const set of this.#subscribers.values()) for (const res of set) res.end();
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }

  /** Requests to a route, e.g. `requestsTo("POST", "/api/v1/workspaces/create-from-repo")`. */
  requestsTo(method: string, path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path === path);
  }

  /** Adds a workspace directly in a given state (for list/status/stop tests). */
  seed(name: string, status: WorkspaceState, extra: Partial<WorkspaceDetail> = {}): WorkspaceDetail {
    const now = new Date().toISOString();
    const id = `ws_${name.replace(/-/g, "_")}`;
    const ssh = this.options.ssh ?? { host: "127.0.0.1", port: this.#nextPort++, hostKey: HOST_KEY };
    const detail: WorkspaceDetail = {
      workspace_id: id,
      workspace_name: name,
      status,
      health: status === "running" ? "healthy" : "unknown",
      provider: "docker",
      node: "node-1",
      created_at: new Date(Date.now() - 3 * 3600_000).toISOString(),
      updated_at: now,
      phases: CREATE_PHASES.map((phase) => ({ name: phase, started_at: now, duration_ms: 100 })),
      ssh: { host: ssh.host, port: ssh.port, user: "dev", host_key: ssh.hostKey, path: `/home/dev/${name}` },
      services: {
        api: { name: "api", status: "running", health: "healthy", port: 4000, local_port: 23000, url: "http://localhost:23000", last_check: now, last_error: null },
      },
      repository: { owner: "octo", name, branch: "main", commit: "0123456789abcdef0123", url: `https://github.com/octo/${name}.git` },
      ...extra,
    };
    this.workspaces.set(id, { detail, depends: { api: [] }, timers: [] });
    return detail;
  }

  #find(ref: string): FakeWorkspace | undefined {
    for (const ws of this.workspaces.values()) if (ws.detail.workspace_id === ref || ws.detail.workspace_name === ref) return ws;
    return undefined;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const text = await readBody(req);
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      return this.#error(res, "invalid_request", "body is not JSON");
    }
    this.requests.push({ method: req.method ?? "GET", path: url.pathname, headers: req.headers, body });
    const match = matchRoute(req.method ?? "GET", url.pathname);
    if (!match) return this.#error(res, "not_found", `no route ${req.method} ${url.pathname}`);
    const { name, route, params } = match;
    if (route.auth !== "none" && req.headers.authorization !== `Bearer ${this.options.token}`) {
      return this.#error(res, "auth_required", "missing or invalid token");
    }
    const query = route.query ? route.query.safeParse(Object.fromEntries(url.searchParams)) : undefined;
    if (query && !query.success) return this.#error(res, "invalid_request", `invalid query: ${query.error.message}`);
    const parsedBody = route.body ? route.body.safeParse(body ?? {}) : undefined;
    if (parsedBody && !parsedBody.success) return this.#error(res, "invalid_request", `invalid body: ${parsedBody.error.message}`);
    const q = (query?.data ?? {}) as Record<string, unknown>;
    const b = parsedBody?.data as Record<string, unknown> | undefined;

    switch (name) {
      case "health":
      case "healthV1":
        return this.#send(res, route, 200, { status: "ok", version: "0.1.0", uptime_seconds: 12, nodes: { "node-1": { status: "online", last_heartbeat: new Date().toISOString(), workspaces: this.workspaces.size } } });
      case "me":
        return this.#send(res, route, 200, { user_id: "usr_1", github_username: "octo", keys: [] });
      case "createWorkspace":
        return this.#create(req, res, route, b!, text);
      case "listWorkspaces": {
        const all = [...this.workspaces.values()].map((w) => w.detail).filter((d) => !q.status || d.status === q.status);
        const limit = q.limit as number;
        const offset = q.offset as number;
        return this.#send(res, route, 200, {
          workspaces: all.slice(offset, offset + limit).map((d) => ({
            workspace_id: d.workspace_id, workspace_name: d.workspace_name, status: d.status, provider: d.provider, node: d.node,
            ssh_port: d.ssh.port, created_at: d.created_at, services_count: Object.keys(d.services).length,
          })),
          total: all.length, limit, offset,
        });
      }
    }
    const ws = this.#find(params.id ?? "");
    if (!ws) return this.#error(res, "workspace_not_found", `no workspace ${params.id}`);
    const d = ws.detail;
    switch (name) {
      case "getWorkspace":
      case "getWorkspaceStatus":
        return this.#send(res, route, 200, d);
      case "listServices":
        return this.#send(res, route, 200, { services: Object.values(d.services).map((s) => ({ ...s, depends_on: ws.depends[s.name] ?? [] })) });
      case "workspaceEvents":
        if (!this.options.events) return this.#error(res, "not_found", "events are not served here");
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        res.flushHeaders();
        if (!this.#subscribers.has(d.workspace_id)) this.#subscribers.set(d.workspace_id, new Set());
        this.#subscribers.get(d.workspace_id)!.add(res);
        res.on("close", () => this.#subscribers.get(d.workspace_id)?.delete(res));
        return;
      case "workspaceLogs": {
        const lines = this.options.logs.split("\n").filter(Boolean).filter((l) => !q.service || l.startsWith(`${q.service} |`));
        const tail = lines.slice(-(q.tail as number));
        res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
        if (!q.follow) return void res.end(tail.map((l) => `${l}\n`).join(""));
        // Following: history, two more lines, then the stream ends (the workspace stopped).
        res.write(tail.map((l) => `${l}\n`).join(""));
        setTimeout(() => res.write("api | GET /health 200\n"), 5);
        setTimeout(() => res.end("api | shutting down\n"), 10);
        return;
      }
      case "stopWorkspace":
        return this.#change(res, route, ws, "stop", "stopping", "stopped", b?.force === true);
      case "startWorkspace":
        return this.#change(res, route, ws, "start", "starting", "running", false);
      case "deleteWorkspace":
        return this.#change(res, route, ws, "delete", "deleting", "deleted", q.force === true);
    }
    return this.#error(res, "not_found", `route ${name} is not faked`);
  }

  #create(req: IncomingMessage, res: ServerResponse, route: ApiRoute, body: Record<string, unknown>, raw: string): void {
    const wire = JSON.parse(raw) as { workspace_name?: string; repo: { owner: string; name: string; branch?: string; url?: string; upstream?: { owner: string; name: string; url?: string } }; provider?: string; config?: { services?: Record<string, { port?: number; depends_on?: string[] }> } };
    const key = req.headers["idempotency-key"];
    if (typeof key === "string") {
      const previous = [...this.workspaces.values()].find((w) => (w as FakeWorkspace & { key?: string }).key === key);
      if (previous) return this.#send(res, route, 202, this.#accepted(previous.detail));
    }
    if (wire.repo.url?.startsWith("file://") && !this.options.singleMachine) {
      return this.#error(res, "invalid_request", `repository URL ${JSON.stringify(wire.repo.url)} local repositories are only allowed in single-machine mode`, { url: wire.repo.url });
    }
    const name = wire.workspace_name ?? wire.repo.name.toLowerCase().replace(/[^a-z0-9-]/g, "-");
    if (this.#find(name)) return this.#error(res, "workspace_exists", `a workspace named ${name} already exists`, { workspace: name });
    const now = new Date().toISOString();
    const ssh = this.options.ssh ?? { host: "127.0.0.1", port: this.#nextPort++, hostKey: HOST_KEY };
    const services = wire.config?.services ?? {};
    const detail: WorkspaceDetail = {
      workspace_id: `ws_${String(this.workspaces.size + 1).padStart(4, "0")}${name.replace(/-/g, "_")}`,
      workspace_name: name,
      status: "pending",
      health: "unknown",
      provider: wire.provider ?? "docker",
      node: null,
      created_at: now,
      updated_at: now,
      phases: [],
      ssh: { host: null, port: null, user: "dev", host_key: null, path: `/home/dev/${wire.repo.name}` },
      services: Object.fromEntries(
        Object.entries(services).map(([svc, s], i) => [
          svc,
          { name: svc, status: "pending" as const, health: "unknown" as const, port: s.port ?? null, local_port: s.port ? 23000 + i : null, url: s.port ? `http://localhost:${23000 + i}` : null, last_check: null, last_error: null },
        ]),
      ),
      repository: {
        owner: wire.repo.owner, name: wire.repo.name, branch: wire.repo.branch ?? "main", commit: null, url: wire.repo.url ?? `https://github.com/${wire.repo.owner}/${wire.repo.name}.git`,
        ...(wire.repo.upstream ? { upstream: { owner: wire.repo.upstream.owner, name: wire.repo.upstream.name, url: wire.repo.upstream.url ?? "" } } : {}),
      },
    };
    const ws: FakeWorkspace & { key?: string } = { detail, depends: Object.fromEntries(Object.entries(services).map(([n, s]) => [n, s.depends_on ?? []])), timers: [] };
    if (typeof key === "string") ws.key = key;
    this.workspaces.set(detail.workspace_id, ws);
    this.#send(res, route, 202, this.#accepted(detail), { location: `/api/v1/workspaces/${detail.workspace_id}` });
    this.#script(ws, ssh);
  }

  #accepted(d: WorkspaceDetail) {
    return { workspace_id: d.workspace_id, workspace_name: d.workspace_name, status: d.status, ssh_port: d.ssh.port, polling_url: `/api/v1/workspaces/${d.workspace_id}`, estimated_time_seconds: 5, created_at: d.created_at };
  }

  /** The create walk: node chosen, then each phase started and completed, then running (or the scripted failure). */
  #script(ws: FakeWorkspace, ssh: { host: string; port: number; hostKey: string }): void {
    const d = ws.detail;
    const steps: Array<() => "stop" | void> = [];
    steps.push(() => {
      d.node = "node-1";
      d.ssh = { ...d.ssh, host: ssh.host, port: ssh.port };
      this.#status(d, "creating");
    });
    for (const phase of CREATE_PHASES) {
      steps.push(() => {
        const started = new Date().toISOString();
        d.phases.push({ name: phase, started_at: started, duration_ms: null });
        this.#emit(d, { type: "phase", workspace_id: d.workspace_id, name: phase, state: "started", started_at: started, duration_ms: null, at: started });
        if (this.options.fail?.phase === phase) {
          const error = { code: this.options.fail.code, message: this.options.fail.message, phase };
          d.error = error;
          this.#emit(d, { type: "phase", workspace_id: d.workspace_id, name: phase, state: "failed", started_at: started, duration_ms: null, error, at: new Date().toISOString() });
          if (phase === "services_healthy" || phase === "services_started") {
            for (const s of Object.values(d.services)) Object.assign(s, { status: "error", health: "unhealthy", last_error: this.options.fail.message });
          }
          this.#status(d, "error");
          return "stop";
        }
      });
      steps.push(() => {
        const p = d.phases.find((x) => x.name === phase)!;
        p.duration_ms = 37 + CREATE_PHASES.indexOf(phase);
        if (phase === "ssh_ready") d.ssh.host_key = ssh.hostKey;
        if (phase === "repo_cloned") d.repository.commit = "89abcdef0123456789abcdef0123456789abcdef";
        if (phase === "services_healthy") {
          for (const s of Object.values(d.services)) Object.assign(s, { status: "running", health: "healthy", last_check: new Date().toISOString() });
        }
        this.#emit(d, { type: "phase", workspace_id: d.workspace_id, name: phase, state: "completed", started_at: p.started_at, duration_ms: p.duration_ms, at: new Date().toISOString() });
      });
    }
    steps.push(() => {
      d.health = "healthy";
      this.#status(d, "running");
    });
    this.#run(ws, steps);
  }

  #run(ws: FakeWorkspace, steps: Array<() => "stop" | void>): void {
    const next = (i: number) => {
      if (i >= steps.length) return;
      ws.timers.push(
        setTimeout(() => {
          if (steps[i]!() === "stop") return;
          next(i + 1);
        }, this.options.stepMs),
      );
    };
    next(0);
  }

  #change(res: ServerResponse, route: ApiRoute, ws: FakeWorkspace, event: "stop" | "start" | "delete", during: WorkspaceState, after: WorkspaceState, force: boolean): void {
    const d = ws.detail;
    if (!canTransition(d.status, event === "delete" ? { type: "delete", force } : event)) {
      return this.#error(res, "invalid_transition", `cannot ${event} workspace ${d.workspace_name} while it is ${d.status}`, { status: d.status });
    }
    this.#status(d, during);
    this.#send(res, route, 202, { workspace_id: d.workspace_id, status: during });
    this.#run(ws, [
      () => {
        if (after === "deleted") {
          this.workspaces.delete(d.workspace_id);
          this.#status(d, "deleted");
          for (const sub of this.#subscribers.get(d.workspace_id) ?? []) sub.end();
          return;
        }
        if (after === "stopped") for (const s of Object.values(d.services)) Object.assign(s, { status: "stopped", health: "unknown" });
        if (after === "running") for (const s of Object.values(d.services)) Object.assign(s, { status: "running", health: "healthy" });
        d.health = after === "running" ? "healthy" : "unknown";
        this.#status(d, after);
      },
    ]);
  }

  #status(d: WorkspaceDetail, status: WorkspaceState): void {
    d.status = status;
    d.updated_at = new Date().toISOString();
    this.#emit(d, { type: "status", workspace_id: d.workspace_id, status, health: d.health, ...(d.error ? { error: d.error } : {}), at: d.updated_at });
  }

  #emit(d: WorkspaceDetail, event: WorkspaceStreamEvent): void {
    const frame = encodeWorkspaceStreamEvent(WorkspaceStreamEventSchema.parse(event), ++this.#sequence);
    for (const sub of this.#subscribers.get(d.workspace_id) ?? []) sub.write(frame);
  }

  #send(res: ServerResponse, route: ApiRoute, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const schema = route.responses[status] as z.ZodType | undefined;
    if (!schema) throw new Error(`${route.method} ${route.path} has no ${status} response`);
    // Validate, then send the wire form.
    const wire = JSON.stringify(z.encode(schema, schema.parse(body)));
    res.writeHead(status, { "content-type": "application/json", "x-request-id": "req_fake", ...headers });
    res.end(wire);
  }

  #error(res: ServerResponse, code: ErrorCode, message: string, details: Record<string, unknown> = {}): void {
    const body = ErrorBodySchema.parse({ error: code, message, details, request_id: "req_fake" });
    res.writeHead(ERROR_CATALOG[code].http, { "content-type": "application/json", "x-request-id": "req_fake" });
    res.end(JSON.stringify(body));
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function matchRoute(method: string, path: string): { name: keyof typeof API_ROUTES; route: ApiRoute; params: Record<string, string> } | undefined {
  for (const [name, route] of Object.entries(API_ROUTES) as Array<[keyof typeof API_ROUTES, ApiRoute]>) {
    if (route.method !== method) continue;
    const names: string[] = [];
    const pattern = new RegExp(`^${route.path.replace(/:([A-Za-z]+)/g, (_, n: string) => (names.push(n), "([^/]+)"))}$`);
    const m = pattern.exec(path);
    if (m) return { name, route, params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)])) };
  }
  return undefined;
}

export async function startFakeServer(options: FakeServerOptions = {}): Promise<FakeNexusServer> {
  return new FakeNexusServer(options).start();
}
