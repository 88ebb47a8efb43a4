// The agent plane (SPEC §5, §6): events turned into phases, services, status and health;
// heartbeats and the offline sweep; command results (duplicates, wrong types); the
// clone token as a command secret; long-poll wake-up; reconciliation.
import t from "tap";
import { createdResult, harness, type Harness, type RegisteredNode, type RegisteredUser } from "./harness.js";

const CONFIG = { version: 1, services: { api: { command: "npm start", port: 4000 }, web: { command: "npm run dev", port: 3000, depends_on: ["api"] } } };

async function creating(h: Harness, user: RegisteredUser, node: RegisteredNode, body: Record<string, unknown> = { repo: { owner: "octocat", name: "hello" }, config: CONFIG }) {
  const ws = await h.create(user, body);
  const command = (await h.poll(node)).find((c) => c.workspace_id === ws.workspace_id)!;
  return { ws, command };
}

const at = (h: Harness, plusMs = 0) => new Date(h.clock.now().getTime() + plusMs).toISOString();

t.test("phase events: running phases have a null duration, finished ones are stored", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const node = await h.node("node-1");
  const { ws } = await creating(h, alice, node);
  const started = at(h, 10);
  const res = await h.events(node, [
    { type: "phase", workspace_id: ws.workspace_id, name: "container_created", state: "started", started_at: started, duration_ms: null, at: started },
  ]);
  t.same(res.json(), { accepted: 1 });
  let phases = (await h.detail(alice, ws.workspace_id)).phases;
  t.same(phases.map((p: { name: string; duration_ms: number | null }) => [p.name, p.duration_ms]), [["scheduled", 0], ["container_created", null]]);
  await h.events(node, [
    { type: "phase", workspace_id: ws.workspace_id, name: "container_created", state: "completed", started_at: started, duration_ms: 310, at: at(h, 320) },
    { type: "phase", workspace_id: ws.workspace_id, name: "ssh_ready", state: "completed", started_at: at(h, 320), duration_ms: 700, at: at(h, 1020) },
  ]);
  phases = (await h.detail(alice, ws.workspace_id)).phases;
  t.same(phases, [
    { name: "scheduled", started_at: "2026-01-01T00:00:00.000Z", duration_ms: 0 },
    { name: "container_created", started_at: started, duration_ms: 310 },
    { name: "ssh_ready", started_at: at(h, 320), duration_ms: 700 },
  ]);
  const failed = await h.events(node, [
    {
      type: "phase", workspace_id: ws.workspace_id, name: "repo_cloned", state: "failed", started_at: at(h, 1020), duration_ms: 50, at: at(h, 1070),
      error: { code: "clone_failed", message: "authentication failed" },
    },
  ]);
  t.same(failed.json(), { accepted: 1 });
  const detail = await h.detail(alice, ws.workspace_id);
  t.equal(detail.status, "error");
  t.same(detail.error, { code: "clone_failed", message: "authentication failed", phase: "repo_cloned" });
});

t.test("service events: status and health stored; running + an unhealthy service = degraded", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const node = await h.node("node-1");
  const { ws, command } = await creating(h, alice, node);
  await h.result(node, command.id, createdResult(ws.workspace_id));
  const service = (name: string, status: string, health: string, last_error: string | null = null) => ({
    type: "service", workspace_id: ws.workspace_id, name, status, health, last_check: at(h), last_error, at: at(h),
  });
  await h.events(node, [service("api", "running", "healthy"), service("web", "running", "healthy")]);
  let detail = await h.detail(alice, ws.workspace_id);
  t.equal(detail.status, "running");
  t.equal(detail.health, "healthy");
  t.match(detail.services.web, { status: "running", health: "healthy", port: 3000, local_port: 23001, last_check: at(h) });
  await h.events(node, [service("web", "unhealthy", "unhealthy", "connect ECONNREFUSED 127.0.0.1:3000")]);
  detail = await h.detail(alice, ws.workspace_id);
  t.equal(detail.status, "running", "still running");
  t.equal(detail.health, "degraded");
  t.equal(detail.services.web.last_error, "connect ECONNREFUSED 127.0.0.1:3000");
  await h.events(node, [service("web", "running", "healthy")]);
  t.equal((await h.detail(alice, ws.workspace_id)).health, "healthy");
});

t.test("workspace_status events: the agent's own observations", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const node = await h.node("node-1");
  const { ws, command } = await creating(h, alice, node);
  await h.result(node, command.id, createdResult(ws.workspace_id));
  await h.events(node, [{ type: "workspace_status", workspace_id: ws.workspace_id, status: "stopped", at: at(h) }]);
  t.equal((await h.detail(alice, ws.workspace_id)).status, "stopped");
  await h.events(node, [{ type: "workspace_status", workspace_id: ws.workspace_id, status: "error", error: { code: "provision_failed", message: "OOM killed" }, at: at(h) }]);
  const detail = await h.detail(alice, ws.workspace_id);
  t.equal(detail.status, "error");
  t.equal(detail.error.message, "OOM killed");
  const other = await h.node("node-2");
  const ignored = await h.events(other, [{ type: "workspace_status", workspace_id: ws.workspace_id, status: "running", at: at(h) }]);
  t.same(ignored.json(), { accepted: 0 }, "another node cannot change this node's workspace");
  t.equal((await h.detail(alice, ws.workspace_id)).status, "error");
});

t.test("command results: once only, of the command's type, from its node", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const node = await h.node("node-1");
  const { ws, command } = await creating(h, alice, node);
  const wrongType = await h.result(node, command.id, { ok: true, type: "start", data: {} });
  t.equal(wrongType.statusCode, 400);
  t.equal(wrongType.json().error, "invalid_request");
  const unknown = await h.result(node, "cmd_0000000000000000", { ok: true, type: "start", data: {} });
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json().error, "not_found");
  const first = await h.result(node, command.id, createdResult(ws.workspace_id));
  t.same(first.json(), { accepted: true });
  const duplicate = await h.result(node, command.id, { ok: false, type: "create", error: { code: "provision_failed", message: "late failure" } });
  t.same(duplicate.json(), { accepted: false });
  t.equal((await h.detail(alice, ws.workspace_id)).status, "running", "the duplicate changed nothing");
  const malformed = await h.result(node, command.id, { ok: true, type: "create", data: { handle: {} } });
  t.equal(malformed.statusCode, 400);

  // Another node, on its own path, cannot complete this node's commands.
  const next = await creating(h, alice, node, { repo: { owner: "octocat", name: "other" } });
  const other = await h.node("node-2");
  const stolen = await h.result(other, next.command.id, createdResult(next.ws.workspace_id));
  t.equal(stolen.statusCode, 403);
  t.equal(stolen.json().error, "forbidden");
  t.equal((await h.detail(alice, next.ws.workspace_id)).status, "creating", "unchanged");
});

t.test("clone_token: delivered to the agent as a command secret, never stored or logged", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const node = await h.node("node-1");
  const token = "ghp_supersecretclonetoken0123456789";
  const ws = await h.create(alice, { repo: { owner: "octocat", name: "private" }, clone_token: token });
  const [command] = await h.poll(node);
  t.equal(command!.payload.clone_token, token, "the agent receives it");
  const stored = await h.store.commands.get(command!.id);
  t.notMatch(JSON.stringify(stored?.payload), token, "not in the stored payload");
  t.notMatch(JSON.stringify(await h.store.workspaces.get(ws.workspace_id)), token, "not in the workspace row");
  await h.result(node, command!.id, createdResult(ws.workspace_id));
  t.equal((await h.store.commands.get(command!.id))?.secrets, undefined, "dropped once the command completed");
  t.notMatch(h.logs.text(), token, "never logged");
  t.notMatch(h.logs.text(), alice.apiToken, "API tokens are never logged");
  t.notMatch(h.logs.text(), node.token, "node tokens are never logged");
});

t.test("long-poll: a waiting agent is woken by a new command", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const node = await h.node("node-1");
  const waiting = h.request({ method: "GET", url: `/api/v1/nodes/${node.node_id}/commands?wait=30`, token: node.token });
  await new Promise((resolve) => setTimeout(resolve, 50));
  const ws = await h.create(alice, { repo: { owner: "octocat", name: "hello" } });
  const res = await waiting;
  t.equal(res.statusCode, 200);
  t.same(res.json().commands.map((c: { workspace_id: string }) => c.workspace_id), [ws.workspace_id]);
  const empty = await h.request({ method: "GET", url: `/api/v1/nodes/${node.node_id}/commands?wait=0`, token: node.token });
  t.same(empty.json(), { commands: [] });
});

t.test("heartbeats: three missed (30 s) → offline; a heartbeat brings it back", async (t) => {
  const h = await harness(t);
  const node = await h.node("node-1");
  const nodes = async () => (await h.request({ method: "GET", url: "/api/v1/nodes", token: "admin-secret-token-for-tests" })).json().nodes;
  const beat = () => h.request({ method: "POST", url: `/api/v1/nodes/${node.node_id}/heartbeat`, token: node.token, body: { version: "1.0.1", providers: [{ name: "lxc", ok: true, version: "6.0" }], workspaces: 0 } });
  h.clock.advance(20_000);
  const res = await beat();
  t.same(res.json(), { status: "online", server_time: h.clock.now().toISOString() });
  h.clock.advance(30_000);
  await h.services.tick();
  t.equal((await nodes())[0].status, "online", "exactly 30 s: not yet");
  h.clock.advance(1);
  await h.services.tick();
  const [offline] = await nodes();
  t.equal(offline.status, "offline");
  t.equal(offline.last_heartbeat, "2026-01-01T00:00:20.000Z");
  const health = (await h.request({ method: "GET", url: "/health" })).json();
  t.same(health.nodes["node-1"], { status: "offline", last_heartbeat: "2026-01-01T00:00:20.000Z", workspaces: 0 });
  await beat();
  t.equal((await nodes())[0].status, "online");
  t.equal((await nodes())[0].version, "1.0.1", "the version of the last heartbeat");
});

t.test("reconcile: a missing container → error; an orphan older than 10 min → delete; a young one is spared", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const node = await h.node("node-1");
  const a = await creating(h, alice, node, { repo: { owner: "octocat", name: "a" } });
  const b = await creating(h, alice, node, { repo: { owner: "octocat", name: "b" } });
  await h.result(node, a.command.id, createdResult(a.ws.workspace_id));
  await h.result(node, b.command.id, createdResult(b.ws.workspace_id, 2223));
  const c = await creating(h, alice, node, { repo: { owner: "octocat", name: "c" } });
  h.clock.advance(20 * 60_000);
  const observed = await h.events(node, [
    {
      type: "observed",
      complete: true,
      at: at(h),
      workspaces: [
        { workspace_id: a.ws.workspace_id, state: "running" },
        { workspace_id: "ws_0rphan0ld0000000", state: "running", created_at: at(h, -11 * 60_000), handle: { provider: "lxc", id: "nexus-0rphan", workspaceId: "ws_0rphan0ld0000000", labels: {} } },
        { workspace_id: "ws_y0ung0000000000", state: "running", created_at: at(h, -60_000) },
      ],
    },
  ]);
  t.same(observed.json(), { accepted: 1 });
  t.equal((await h.detail(alice, a.ws.workspace_id)).status, "running", "present: untouched");
  const missing = await h.detail(alice, b.ws.workspace_id);
  t.equal(missing.status, "error");
  t.match(missing.error.message, "container disappeared");
  t.equal((await h.detail(alice, c.ws.workspace_id)).status, "creating", "a create in progress is not missing");
  const commands = await h.poll(node);
  const deletes = commands.filter((command) => command.type === "delete");
  t.same(deletes.map((d) => [d.workspace_id, (d.payload.handle as { id?: string } | undefined)?.id ?? null]), [["ws_0rphan0ld0000000", "nexus-0rphan"]]);
  // The delete is ordered once, even if the agent reports the orphan again.
  await h.events(node, [{ type: "observed", complete: false, at: at(h), workspaces: [{ workspace_id: "ws_0rphan0ld0000000", state: "running", created_at: at(h, -11 * 60_000) }] }]);
  t.same((await h.poll(node)).filter((command) => command.type === "delete"), []);
});

t.test("reconcile: a deleting workspace whose container is gone is removed", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const node = await h.node("node-1");
  const { ws, command } = await creating(h, alice, node);
  await h.result(node, command.id, createdResult(ws.workspace_id));
  await h.request({ method: "DELETE", url: `/api/v1/workspaces/${ws.workspace_id}?force=true`, token: alice.apiToken });
  await h.events(node, [{ type: "observed", complete: false, at: at(h), workspaces: [{ workspace_id: ws.workspace_id, state: "absent" }] }]);
  t.equal((await h.request({ method: "GET", url: `/api/v1/workspaces/${ws.workspace_id}`, token: alice.apiToken })).statusCode, 404);
});

t.test("reconcile: a stop or start still on its way is not undone by the container's state before it runs", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const node = await h.node("node-1");
  const { ws, command } = await creating(h, alice, node);
  await h.result(node, command.id, createdResult(ws.workspace_id));
  const observe = (state: "running" | "stopped") =>
    h.events(node, [{ type: "observed", complete: true, at: at(h), workspaces: [{ workspace_id: ws.workspace_id, state }] }]);

  // The stop is queued while the agent is away; the agent comes back and reports the container running.
  await h.request({ method: "POST", url: `/api/v1/workspaces/${ws.workspace_id}/stop`, token: alice.apiToken, body: {} });
  await observe("running");
  t.equal((await h.detail(alice, ws.workspace_id)).status, "stopping", "the queued stop still decides");
  const stop = (await h.poll(node)).find((c) => c.type === "stop" && c.workspace_id === ws.workspace_id)!;
  await observe("running");
  t.equal((await h.detail(alice, ws.workspace_id)).status, "stopping", "delivered, not yet done: still stopping");
  await h.result(node, stop.id, { ok: true, type: "stop", data: {} });
  t.equal((await h.detail(alice, ws.workspace_id)).status, "stopped", "the stop's result is applied");

  await h.request({ method: "POST", url: `/api/v1/workspaces/${ws.workspace_id}/start`, token: alice.apiToken, body: {} });
  await observe("stopped");
  t.equal((await h.detail(alice, ws.workspace_id)).status, "starting", "the queued start still decides");
  const start = (await h.poll(node)).find((c) => c.type === "start" && c.workspace_id === ws.workspace_id)!;
  await h.result(node, start.id, { ok: true, type: "start", data: {} });
  t.equal((await h.detail(alice, ws.workspace_id)).status, "running");

  // With no command on its way, what the agent sees is the truth.
  await observe("stopped");
  t.equal((await h.detail(alice, ws.workspace_id)).status, "stopped", "a container that stopped by itself");
});

t.test("a queued command the wire cannot carry fails alone; the node keeps receiving the others", async (t) => {
  const h = await harness(t);
  const node = await h.node("node-1");
  const broken = await h.store.commands.enqueue({ node_id: node.node_id, type: "logs", payload: { tail: -5 } });
  const fine = await h.store.commands.enqueue({ node_id: node.node_id, type: "reconcile", payload: { workspace_ids: [] } });
  const commands = await h.poll(node);
  t.same(commands.map((c) => c.id), [fine.command_id]);
  const failed = await h.store.commands.get(broken.command_id);
  t.equal(failed?.status, "failed");
  t.equal(failed?.error?.code, "internal_error");
});
