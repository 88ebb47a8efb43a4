// The SDK client against a tiny in-process HTTP server on 127.0.0.1.
import t, { type Test } from "tap";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { once } from "node:events";
import { Secret, createClient, createNodeClient, isNexusError, parseRetryAfter, type NexusError, type WorkspaceStreamEvent } from "@nexus/core";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}
type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function fakeServer(t: Test, routes: Record<string, Handler>): Promise<{ url: string; seen: Seen[]; closed: Promise<void>[] }> {
  const seen: Seen[] = [];
  const closed: Promise<void>[] = [];
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
    closed.push(new Promise((resolve) => res.once("close", () => resolve())));
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const handler = routes[`${req.method} ${path}`];
    if (handler) return handler(req, res, body);
    json(res, 404, { error: "not_found", message: `no route ${path}`, details: {}, request_id: "req_missing" });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, closed };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", "x-request-id": "req_hdr1", ...headers });
  res.end(JSON.stringify(body));
}

async function rejection(t: Test, promise: Promise<unknown>): Promise<NexusError> {
  try {
    await promise;
  } catch (error) {
    t.ok(isNexusError(error), `a NexusError (${(error as Error).message})`);
    return error as NexusError;
  }
  t.fail("expected a rejection");
  throw new Error("unreachable");
}

const now = "2025-03-01T12:00:00.000Z";
const health = { status: "ok", version: "0.1.0", uptime_seconds: 3, nodes: { "node-1": { status: "online", last_heartbeat: now, workspaces: 1 } } };
const created = { workspace_id: "ws_abc", workspace_name: "hello", status: "pending", ssh_port: 2222, polling_url: "/api/v1/workspaces/ws_abc", estimated_time_seconds: 4, created_at: now };

t.test("typed success: headers, auth, encoded body and query", async (t) => {
  const server = await fakeServer(t, {
    "GET /api/v1/health": (_req, res) => json(res, 200, health),
    "POST /api/v1/workspaces/create-from-repo": (_req, res) => json(res, 202, created, { location: "/api/v1/workspaces/ws_abc" }),
    "GET /api/v1/workspaces": (_req, res) => json(res, 200, { workspaces: [], total: 0, limit: 50, offset: 0 }),
  });
  const client = createClient({ server: server.url, token: new Secret("nxs_token1") });
  t.same(await client.health(), health);

  const result = await client.createWorkspace(
    { repo: { owner: "octocat", name: "hello-world", branch: "main" }, clone_token: "ghp_clone" },
    { idempotencyKey: "key-1" },
  );
  t.equal(result.workspace_id, "ws_abc");
  t.equal(result.ssh_port, 2222);
  const create = server.seen[1];
  t.equal(create?.method, "POST");
  t.equal(create?.headers.authorization, "Bearer nxs_token1", "the Secret token is revealed only into the header");
  t.match(create?.headers["user-agent"], /^nexus\/\d+\.\d+\.\d+/);
  t.equal(create?.headers["idempotency-key"], "key-1");
  t.equal(create?.headers["content-type"], "application/json");
  t.same(JSON.parse(create?.body ?? ""), { repo: { owner: "octocat", name: "hello-world", branch: "main" }, clone_token: "ghp_clone" });

  await client.listWorkspaces({ status: "running" });
  t.equal(server.seen[2]?.url, "/api/v1/workspaces?status=running&limit=50&offset=0", "defaults are sent explicitly");
});

t.test("invalid input is refused before anything is sent", async (t) => {
  const server = await fakeServer(t, {});
  const client = createClient({ server: server.url });
  const error = await rejection(t, client.createWorkspace({ repo: { owner: "octocat", name: "x", branch: "--upload-pack=sh" } }));
  t.equal(error.code, "invalid_request");
  t.match(error.message, /repo\.branch: branch name cannot start with '-'/);
  t.match(error.details, { part: "body", issues: [{ path: "repo.branch" }] });
  const badRef = await rejection(t, client.getWorkspace("../../etc/passwd"));
  t.equal(badRef.code, "invalid_request");
  t.match(badRef.message, /params\.id/);
  t.equal(server.seen.length, 0, "the server saw no request");
});

t.test("workspace names and ids go into the path", async (t) => {
  const detail = {
    workspace_id: "ws_abc", workspace_name: "hello", status: "running", health: "healthy", provider: "lxc", node: "node-1",
    created_at: now, updated_at: now, phases: [], services: {},
    ssh: { host: "10.0.0.5", port: 2222, user: "dev", host_key: null, path: "/home/dev/hello-world" },
    repository: { owner: "octocat", name: "hello-world", branch: "main", commit: null, url: "https://github.com/octocat/hello-world.git" },
  };
  const server = await fakeServer(t, {
    "GET /prefix/api/v1/workspaces/hello": (_req, res) => json(res, 200, detail),
    "POST /prefix/api/v1/workspaces/ws_abc/stop": (_req, res) => json(res, 202, { workspace_id: "ws_abc", status: "stopping" }),
    "DELETE /prefix/api/v1/workspaces/hello": (_req, res) => json(res, 202, { workspace_id: "ws_abc", status: "deleting" }),
  });
  const client = createClient({ server: `${server.url}/prefix/` });
  t.equal((await client.getWorkspace("hello")).ssh.user, "dev");
  t.same(await client.stop("ws_abc", { force: true }), { workspace_id: "ws_abc", status: "stopping" });
  t.same(JSON.parse(server.seen[1]?.body ?? ""), { force: true });
  await client.delete("hello", { force: true });
  t.equal(server.seen[2]?.url, "/prefix/api/v1/workspaces/hello?force=true");
});

t.test("server errors are rehydrated as NexusError", async (t) => {
  const server = await fakeServer(t, {
    "GET /api/v1/workspaces/ghost": (_req, res) =>
      json(res, 404, { error: "workspace_not_found", message: "no workspace named ghost", details: { name: "ghost" }, hint: "Run `nexus workspace list`.", request_id: "req_42" }),
    "GET /api/v1/users/me": (_req, res) =>
      json(res, 429, { error: "rate_limited", message: "slow down", details: {}, request_id: "req_43" }, { "retry-after": "7" }),
    "GET /api/v1/workspaces": (_req, res) => {
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<html><body>Bad Gateway</body></html>");
    },
    "GET /api/v1/nodes": (_req, res) => json(res, 409, { error: "from_the_future", message: "a newer code", details: {}, request_id: "req_44" }),
    "GET /api/v1/workspaces/hello/services": (_req, res) => json(res, 200, { services: [{ name: "web" }] }),
  });
  const client = createClient({ server: server.url, token: "nxs_x" });

  const notFound = await rejection(t, client.getWorkspace("ghost"));
  t.equal(notFound.code, "workspace_not_found");
  t.equal(notFound.message, "no workspace named ghost");
  t.equal(notFound.hint, "Run `nexus workspace list`.");
  t.same(notFound.details, { name: "ghost", request_id: "req_42" });
  t.equal(notFound.exitCode, 4);

  const limited = await rejection(t, client.me());
  t.equal(limited.code, "rate_limited");
  t.equal(limited.details.retry_after_seconds, 7);
  t.equal(limited.details.request_id, "req_43");

  const proxy = await rejection(t, client.listWorkspaces());
  t.equal(proxy.code, "server_unreachable", "a proxy's 502 page means the server behind it is down");
  t.equal(proxy.details.http_status, 502);
  t.match(proxy.message, /HTTP 502: <html><body>Bad Gateway/);

  const future = await rejection(t, client.listNodes());
  t.equal(future.code, "internal_error");
  t.equal(future.details.server_code, "from_the_future");
  t.equal(future.message, "a newer code");
  t.equal(future.details.request_id, "req_44");

  const mismatch = await rejection(t, client.getServices("hello"));
  t.equal(mismatch.code, "internal_error");
  t.match(mismatch.message, /does not match the API/);
  t.equal(mismatch.details.request_id, "req_hdr1");
  t.ok(Array.isArray(mismatch.details.issues));
});

t.test("Retry-After as seconds or an HTTP date", async (t) => {
  t.equal(parseRetryAfter("30"), 30);
  t.equal(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 0, 10)).toUTCString(), Date.UTC(2030, 0, 1)), 10);
  t.equal(parseRetryAfter("soon"), undefined);
  t.equal(parseRetryAfter(undefined), undefined);
});

t.test("events: SSE frames become typed events, whatever the chunking", async (t) => {
  const events: WorkspaceStreamEvent[] = [
    { type: "phase", workspace_id: "ws_abc", name: "container_created", state: "completed", started_at: now, duration_ms: 310, at: now },
    { type: "service", workspace_id: "ws_abc", name: "web", status: "running", health: "healthy", last_check: now, last_error: null, at: now },
    { type: "status", workspace_id: "ws_abc", status: "running", health: "healthy", at: now },
  ];
  const stream = [
    ": keep-alive\n\n",
    `id: 1\nevent: phase\ndata: ${JSON.stringify(events[0])}\n\n`,
    `event: snapshot\ndata: ${JSON.stringify({ type: "snapshot", everything: true })}\n\n`,
    `id: 2\nevent: service\ndata: ${JSON.stringify(events[1])}\n\nid: 3\nevent: status\ndata: ${JSON.stringify(events[2])}\n\n`,
  ].join("");
  const server = await fakeServer(t, {
    "GET /api/v1/workspaces/hello/events": async (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      // Split frames at awkward places: mid-line and mid-multibyte are the parser's job.
      for (let i = 0; i < stream.length; i += 37) {
        res.write(stream.slice(i, i + 37));
        await new Promise((resolve) => setImmediate(resolve));
      }
      res.end();
    },
  });
  const client = createClient({ server: server.url, token: "nxs_x" });
  const received: WorkspaceStreamEvent[] = [];
  for await (const event of client.events("hello", { lastEventId: "0" })) received.push(event);
  t.same(received, events, "unknown event types and comments are skipped");
  t.equal(server.seen[0]?.headers.accept, "text/event-stream");
  t.equal(server.seen[0]?.headers["last-event-id"], "0");
});

t.test("events: breaking out of the loop ends the request", async (t) => {
  const event = { type: "status", workspace_id: "ws_abc", status: "creating", health: "unknown", at: now };
  const server = await fakeServer(t, {
    "GET /api/v1/workspaces/hello/events": (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`event: status\ndata: ${JSON.stringify(event)}\n\n`);
      // Never ends by itself.
    },
  });
  const client = createClient({ server: server.url });
  for await (const received of client.events("hello")) {
    t.equal(received.type, "status");
    break;
  }
  await server.closed[0];
  t.pass("the server saw the connection close");
});

t.test("events: the time limit covers the headers, not a quiet stream", async (t) => {
  const event = { type: "status", workspace_id: "ws_abc", status: "running", health: "healthy", at: now };
  const server = await fakeServer(t, {
    "GET /api/v1/workspaces/hello/events": (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.flushHeaders();
      // Quiet for three times the limit (a limit roomy enough for headers on a busy machine).
      setTimeout(() => res.end(`event: status\ndata: ${JSON.stringify(event)}\n\n`), 900);
    },
  });
  const client = createClient({ server: server.url, timeoutMs: 300 });
  const received: WorkspaceStreamEvent[] = [];
  for await (const item of client.events("hello")) received.push(item);
  t.same(received, [event]);
});

t.test("events: an error status before the stream is a NexusError", async (t) => {
  const server = await fakeServer(t, {});
  const client = createClient({ server: server.url });
  const iterator = client.events("ghost")[Symbol.asyncIterator]();
  const error = await rejection(t, iterator.next());
  t.equal(error.code, "not_found");
});

t.test("logs: text, and a stream while following", async (t) => {
  const server = await fakeServer(t, {
    "GET /api/v1/workspaces/hello/logs": (req, res) => {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
      if (req.url?.includes("follow=true")) {
        res.write("line 1\n");
        setImmediate(() => res.end("línea 2\n"));
      } else {
        res.end("a\nb\n");
      }
    },
  });
  const client = createClient({ server: server.url });
  t.equal(await client.logs("hello", { service: "web", tail: 2 }), "a\nb\n");
  t.equal(server.seen[0]?.url, "/api/v1/workspaces/hello/logs?service=web&tail=2&follow=false");
  let text = "";
  for await (const chunk of client.streamLogs("hello")) text += chunk;
  t.equal(text, "line 1\nlínea 2\n");
  t.equal(server.seen[1]?.url, "/api/v1/workspaces/hello/logs?tail=200&follow=true");
});

t.test("an unreachable server is server_unreachable", async (t) => {
  const probe = createServer();
  probe.listen(0, "127.0.0.1");
  await once(probe, "listening");
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const client = createClient({ server: `http://127.0.0.1:${port}` });
  const error = await rejection(t, client.health());
  t.equal(error.code, "server_unreachable");
  t.equal(error.details.code, "ECONNREFUSED");
  t.equal(error.exitCode, 7);
  t.match(error.hint, /nexus server start/);
});

t.test("abort and timeout", async (t) => {
  const server = await fakeServer(t, {
    "GET /api/v1/health": () => {
      // Never answers.
    },
  });
  const client = createClient({ server: server.url });
  const controller = new AbortController();
  const reason = new Error("user pressed Ctrl-C");
  const pending = client.health({ signal: controller.signal });
  while (server.seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  controller.abort(reason);
  await t.rejects(pending, reason, "the caller's own abort reason");

  const aborted = new AbortController();
  aborted.abort(reason);
  await t.rejects(client.health({ signal: aborted.signal }), reason, "an already aborted signal sends nothing");
  t.equal(server.seen.length, 1);

  const error = await rejection(t, client.health({ timeoutMs: 50 }));
  t.equal(error.code, "timeout");
  t.match(error.details, { method: "GET", path: "/api/v1/health", timeout_ms: 50 });
});

t.test("node client: join token, long-poll with decoded secrets, results and events", async (t) => {
  const command = {
    id: "cmd_1", type: "create", workspace_id: "ws_abc", created_at: now,
    payload: { provider: "lxc", name: "hello", ssh_port: 2222, authorized_keys: [], repo: { owner: "octocat", name: "hello-world", url: "https://github.com/octocat/hello-world.git" }, clone_token: "ghp_secret" },
  };
  const server = await fakeServer(t, {
    "POST /api/v1/nodes/register": (_req, res) => json(res, 201, { node_id: "node_1", node_token: "nxn_abc", heartbeat_interval_seconds: 10 }),
    "GET /api/v1/nodes/node_1/commands": (_req, res) => json(res, 200, { commands: [command] }),
    "POST /api/v1/nodes/node_1/commands/cmd_1/result": (_req, res) => json(res, 200, { accepted: true }),
    "POST /api/v1/nodes/node_1/events": (_req, res, body) => json(res, 200, { accepted: (JSON.parse(body) as { events: unknown[] }).events.length }),
    "POST /api/v1/nodes/node_1/heartbeat": (_req, res) => json(res, 200, { status: "online", server_time: now }),
  });
  const agent = createNodeClient({ server: server.url });
  const registered = await agent.register(
    { name: "node-1", providers: ["lxc"], ssh_host: "10.0.0.5", ssh_port_range: { start: 2222, end: 2299 }, capacity: { max_workspaces: 10 }, version: "0.1.0" },
    { token: "nxj_join" },
  );
  t.equal(server.seen[0]?.headers.authorization, "Bearer nxj_join");
  const node = createNodeClient({ server: server.url, token: registered.node_token });
  await node.heartbeat("node_1", { version: "0.1.0", providers: [{ name: "lxc", ok: true }], workspaces: 0 });
  const { commands } = await node.pollCommands("node_1", { wait: 1 });
  t.equal(server.seen[2]?.url, "/api/v1/nodes/node_1/commands?wait=1");
  t.equal(server.seen[2]?.headers.authorization, "Bearer nxn_abc");
  const [first] = commands;
  t.equal(first?.type, "create");
  if (first?.type === "create") {
    t.ok(first.payload.clone_token instanceof Secret, "clone_token arrives as a Secret");
    t.equal(first.payload.clone_token?.reveal(), "ghp_secret");
    t.notMatch(JSON.stringify(commands), /ghp_secret/);
  }
  t.same(await node.postResult("node_1", "cmd_1", { ok: false, type: "create", error: { code: "clone_failed", message: "denied", phase: "repo_cloned" } }), { accepted: true });
  const accepted = await node.postEvents("node_1", [{ type: "workspace_status", workspace_id: "ws_abc", status: "running", at: now }]);
  t.equal(accepted.accepted, 1);
});

t.test("server URLs are checked", async (t) => {
  for (const bad of ["localhost:3001", "ftp://example.com", "http://user:pw@example.com", "http://x?y=1"]) {
    t.throws(() => createClient({ server: bad }), { code: "invalid_request" }, bad);
  }
  t.equal(createClient({ server: "http://127.0.0.1:3001/" }).server, "http://127.0.0.1:3001");
});
