// Health, Prometheus metrics, redaction of secrets in logs, and the SDK client driving
// every user and admin call against a listening server.
import t from "tap";
import { createClient, createNodeClient } from "@nexus/core";
import { ADMIN_TOKEN, createdResult, harness } from "./harness.js";

t.test("health: no auth, version, uptime and nodes by name", async (t) => {
  const h = await harness(t);
  await h.node("node-1");
  h.clock.advance(5_000);
  for (const url of ["/health", "/api/v1/health"]) {
    const res = await h.request({ method: "GET", url });
    t.equal(res.statusCode, 200);
    const body = res.json();
    t.equal(body.status, "ok");
    t.match(body.version, /^\d+\.\d+\.\d+/);
    t.equal(body.uptime_seconds, 5);
    t.same(body.nodes, { "node-1": { status: "online", last_heartbeat: "2026-01-01T00:00:00.000Z", workspaces: 0 } });
  }
});

t.test("metrics: Prometheus text with request counts by route and status, workspaces, nodes, commands", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  await h.node("node-1");
  await h.create(alice, { repo: { owner: "octocat", name: "hello" } });
  await h.request({ method: "GET", url: "/api/v1/workspaces/nope", token: alice.apiToken });
  await h.request({ method: "GET", url: "/api/v1/workspaces/nope", token: alice.apiToken });
  const refused = await h.request({ method: "GET", url: "/api/v1/metrics", token: alice.apiToken });
  t.equal(refused.statusCode, 403, "admin only");
  const res = await h.request({ method: "GET", url: "/api/v1/metrics", token: ADMIN_TOKEN });
  t.equal(res.statusCode, 200);
  t.match(res.headers["content-type"], /^text\/plain/);
  const text = res.body;
  t.match(text, '# TYPE nexus_http_requests_total counter');
  t.match(text, 'nexus_http_requests_total{method="GET",route="/api/v1/workspaces/:id",status="404"} 2');
  t.match(text, 'nexus_http_requests_total{method="POST",route="/api/v1/workspaces/create-from-repo",status="202"} 1');
  t.match(text, /nexus_http_request_duration_seconds_bucket\{method="GET",route="\/api\/v1\/workspaces\/:id",status="404",le="\+Inf"\} 2/);
  t.match(text, 'nexus_workspaces{status="creating"} 1');
  t.match(text, 'nexus_nodes{status="online"} 1');
  t.match(text, 'nexus_commands{status="queued"} 1');
  t.notMatch(text, "ws_", "no ids in labels");
});

t.test("logs never contain tokens, keys or clone tokens", async (t) => {
  const h = await harness(t, { server: { rateLimit: { max: 1000, windowMs: 60_000 } } });
  const alice = await h.user("alice");
  const node = await h.node("node-1");
  const join = (await h.request({ method: "POST", url: "/api/v1/nodes/tokens", token: ADMIN_TOKEN, body: {} })).json().token;
  const cloneToken = "ghp_clone0123456789abcdefSECRET";
  await h.create(alice, { repo: { owner: "octocat", name: "hello" }, clone_token: cloneToken });
  await h.request({ method: "GET", url: "/api/v1/users/me", token: alice.githubToken });
  await h.request({ method: "GET", url: "/api/v1/users/me", token: "gho_unknown-and-rejected-token" });
  await h.request({ method: "POST", url: "/api/v1/workspaces/create-from-repo", token: alice.apiToken, body: { repo: { owner: "x" }, clone_token: cloneToken } });
  await h.poll(node);
  const text = h.logs.text();
  t.ok(text.length > 0, "something was logged");
  for (const secret of [alice.apiToken, alice.githubToken, node.token, join, ADMIN_TOKEN, cloneToken, "gho_unknown-and-rejected-token"]) {
    t.notMatch(text, secret, `${secret.slice(0, 4)}… is not in the logs`);
  }
  t.notMatch(text, alice.key.split(" ")[1]!, "SSH keys are not logged");
});

t.test("the SDK client drives the user and admin routes end to end", async (t) => {
  const h = await harness(t);
  const url = await h.app.listen({ port: 0, host: "127.0.0.1" });
  const alice = await h.user("alice");
  const client = createClient({ server: url, token: alice.apiToken });
  const admin = createClient({ server: url, token: ADMIN_TOKEN });
  const agent = createNodeClient({ server: url });
  const { token } = await admin.createNodeToken({ description: "sdk" });
  const node = await agent.register(
    { name: "sdk-node", providers: ["docker"], ssh_host: "192.168.0.10", ssh_port_range: { start: 3000, end: 3010 }, capacity: { max_workspaces: 4 }, version: "2.0.0" },
    { token },
  );
  const asNode = { token: node.node_token };
  const created = await client.createWorkspace({ repo: { owner: "octocat", name: "sdk" }, config: { version: 1, services: { web: { command: "x", port: 8080 } } } }, { idempotencyKey: "k1" });
  t.equal(created.ssh_port, 3000);
  const { commands } = await agent.pollCommands(node.node_id, { wait: 0 }, asNode);
  await agent.postResult(node.node_id, commands[0]!.id, createdResult(created.workspace_id, 3000) as never, asNode);
  const now = h.clock.now().toISOString();
  t.same(
    await agent.postEvents(node.node_id, [{ type: "service", workspace_id: created.workspace_id, name: "web", status: "running", health: "healthy", last_check: now, last_error: null, at: now }], asNode),
    { accepted: 1 },
  );
  const list = await client.listWorkspaces({ limit: 10 });
  t.same(list.workspaces.map((w) => [w.workspace_name, w.status, w.node, w.services_count]), [["sdk", "running", "sdk-node", 1]]);
  const detail = await client.getWorkspace("sdk");
  t.equal(detail.health, "healthy");
  t.same((await client.getServices("sdk")).services.map((s) => [s.name, s.url]), [["web", "http://localhost:23000"]]);
  t.same(await client.stop("sdk"), { workspace_id: created.workspace_id, status: "stopping" });
  const stop = (await agent.pollCommands(node.node_id, { wait: 0 }, asNode)).commands[0]!;
  await agent.postResult(node.node_id, stop.id, { ok: true, type: "stop", data: {} }, asNode);
  t.same(await client.start("sdk"), { workspace_id: created.workspace_id, status: "starting" });
  const start = (await agent.pollCommands(node.node_id, { wait: 0 }, asNode)).commands[0]!;
  await agent.postResult(node.node_id, start.id, { ok: true, type: "start", data: {} }, asNode);
  t.same(await client.delete("sdk", { force: true }), { workspace_id: created.workspace_id, status: "deleting" });
  const del = (await agent.pollCommands(node.node_id, { wait: 0 }, asNode)).commands[0]!;
  await agent.postResult(node.node_id, del.id, { ok: true, type: "delete", data: {} }, asNode);
  const gone = await client.getWorkspace("sdk").catch((e: { code: string; details: { request_id?: string } }) => e);
  t.equal((gone as { code: string }).code, "workspace_not_found");
  t.match((gone as { details: { request_id: string } }).details.request_id, /^req_/);
  const nodes = await admin.listNodes();
  t.same(nodes.nodes.map((n) => [n.name, n.status, n.version, n.ssh_port_range]), [["sdk-node", "online", "2.0.0", { start: 3000, end: 3010 }]]);
  t.match(await admin.metrics(), "nexus_nodes");
  t.equal((await client.health()).status, "ok");
});
