// Placement (SPEC §6): online nodes offering the provider with room, least loaded first;
// atomic SSH ports; a per-node limit on creates in flight (a queue, not a failure);
// `pending` until a node can take it, then no_node_available after the timeout.
import t from "tap";
import { join } from "node:path";
import { openSqliteStore } from "@nexus/server";
import { tempTree } from "@nexus/test-utils";
import { createdResult, harness, type FakeClock, type Harness, type RegisteredNode } from "./harness.js";

async function heartbeat(h: Harness, node: RegisteredNode): Promise<void> {
  const res = await h.request({ method: "POST", url: `/api/v1/nodes/${node.node_id}/heartbeat`, token: node.token, body: { version: "1.0.0", providers: [], workspaces: 0 } });
  if (res.statusCode !== 200) throw new Error(`heartbeat: ${res.body}`);
}

t.test("pending while no node is online, placed when one registers", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const ws = await h.create(alice, { repo: { owner: "octocat", name: "hello" } });
  t.equal(ws.status, "pending");
  t.equal(ws.ssh_port, null);
  h.clock.advance(30_000);
  await h.services.tick();
  t.equal((await h.detail(alice, ws.workspace_id)).status, "pending", "still waiting within the timeout");
  const node = await h.node("node-1");
  const detail = await h.detail(alice, ws.workspace_id);
  t.equal(detail.status, "creating");
  t.equal(detail.node, "node-1");
  t.equal(detail.ssh.port, 2222);
  t.same(detail.phases, [{ name: "scheduled", started_at: "2026-01-01T00:00:00.000Z", duration_ms: 30_000 }]);
  t.equal((await h.poll(node))[0]?.type, "create");
});

t.test("no node for 60 s → error no_node_available, naming why", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const docker = await h.node("docker-only", { providers: ["docker"] });
  const ws = await h.create(alice, { repo: { owner: "octocat", name: "hello" }, provider: "lxc" });
  h.clock.advance(59_999);
  await heartbeat(h, docker);
  await h.services.tick();
  t.equal((await h.detail(alice, ws.workspace_id)).status, "pending");
  h.clock.advance(2);
  await h.services.tick();
  const detail = await h.detail(alice, ws.workspace_id);
  t.equal(detail.status, "error");
  t.equal(detail.error.code, "no_node_available");
  t.equal(detail.error.phase, "scheduled");
  t.match(detail.error.message, "no online node offers the lxc provider");
});

t.test("a node whose heartbeat reports the engine down takes nothing for it; placed once it is healthy again", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const node = await h.node("node-1", { providers: ["lxc"] });
  const beat = async (ok: boolean) => {
    const body = { version: "1.0.0", providers: [{ name: "lxc", ok, ...(ok ? {} : { reason: "incusd is not running" }) }], workspaces: 0 };
    const res = await h.request({ method: "POST", url: `/api/v1/nodes/${node.node_id}/heartbeat`, token: node.token, body });
    t.equal(res.statusCode, 200, res.body);
  };
  await beat(false);
  const ws = await h.create(alice, { repo: { owner: "octocat", name: "hello" }, provider: "lxc" });
  await h.services.tick();
  t.equal((await h.detail(alice, ws.workspace_id)).status, "pending", "not placed on a node whose engine is down");
  await beat(true);
  const detail = await h.detail(alice, ws.workspace_id);
  t.equal(detail.status, "creating", "placed by the heartbeat that says the engine is back");
  t.equal(detail.node, "node-1");

  const other = await h.create(alice, { repo: { owner: "octocat", name: "other" }, provider: "lxc" });
  await beat(false);
  const late = await h.create(alice, { repo: { owner: "octocat", name: "late" }, provider: "lxc" });
  t.equal((await h.detail(alice, other.workspace_id)).status, "creating", "placed while healthy");
  h.clock.advance(60_001);
  await beat(false);
  await h.services.tick();
  const failed = await h.detail(alice, late.workspace_id);
  t.equal(failed.status, "error");
  t.equal(failed.error.code, "no_node_available");
  t.match(failed.error.message, "engine is unhealthy on every node that offers it");
});

t.test("no provider asked for: a node whose first engine is down gets the workspace on its second", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const node = await h.node("node-1", { providers: ["lxc", "docker"] });
  const body = { version: "1.0.0", providers: [{ name: "lxc", ok: false, reason: "incusd is not running" }, { name: "docker", ok: true }], workspaces: 0 };
  const res = await h.request({ method: "POST", url: `/api/v1/nodes/${node.node_id}/heartbeat`, token: node.token, body });
  t.equal(res.statusCode, 200, res.body);
  const ws = await h.create(alice, { repo: { owner: "octocat", name: "hello" } });
  await h.services.tick();
  const detail = await h.detail(alice, ws.workspace_id);
  t.equal(detail.status, "creating", "placed");
  t.equal(detail.provider, "docker", "on the engine that works");
  const asked = await h.create(alice, { repo: { owner: "octocat", name: "asked" }, provider: "lxc" });
  await h.services.tick();
  t.equal((await h.detail(alice, asked.workspace_id)).status, "pending", "lxc asked for: waits for lxc");
});

t.test("provider: the requested one (body, then config), else the node's first", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  await h.node("both", { providers: ["docker", "lxc"] });
  const chosen = await h.create(alice, { repo: { owner: "octocat", name: "a" } });
  t.equal((await h.detail(alice, chosen.workspace_id)).provider, "docker");
  const fromConfig = await h.create(alice, { repo: { owner: "octocat", name: "b" }, config: { version: 1, provider: "lxc" } });
  t.equal((await h.detail(alice, fromConfig.workspace_id)).provider, "lxc");
  const fromBody = await h.create(alice, { repo: { owner: "octocat", name: "c" }, provider: "lxc", config: { version: 1, provider: "docker" } });
  t.equal((await h.detail(alice, fromBody.workspace_id)).provider, "lxc");
});

t.test("capacity: a full node takes no more; the least loaded node is chosen", async (t) => {
  const h = await harness(t, { services: { scheduleTimeoutMs: 5_000 } });
  const alice = await h.user("alice");
  await h.node("a-small", { max: 1 });
  await h.node("b-big", { max: 10 });
  const nodes = [];
  for (let i = 0; i < 4; i++) nodes.push((await h.detail(alice, (await h.create(alice, { repo: { owner: "octocat", name: `r${i}` } })).workspace_id)).node);
  t.same(nodes, ["a-small", "b-big", "b-big", "b-big"], "tie → by name; then the small node is full");

  const h2 = await harness(t, { services: { scheduleTimeoutMs: 5_000 } });
  const bob = await h2.user("bob");
  await h2.node("tiny", { max: 1 });
  await h2.create(bob, { repo: { owner: "octocat", name: "first" } });
  const second = await h2.create(bob, { repo: { owner: "octocat", name: "second" } });
  t.equal(second.ssh_port, null);
  h2.clock.advance(5_001);
  await h2.services.tick();
  const detail = await h2.detail(bob, second.workspace_id);
  t.equal(detail.error.code, "no_node_available");
  t.match(detail.error.message, "full");
});

t.test("ports: a full port range → port_pool_exhausted after the timeout", async (t) => {
  const h = await harness(t, { services: { scheduleTimeoutMs: 1_000 } });
  const alice = await h.user("alice");
  await h.node("node-1", { ports: [2222, 2223] });
  const ports = [];
  for (const name of ["a", "b", "c"]) ports.push((await h.create(alice, { repo: { owner: "octocat", name } })).ssh_port);
  t.same(ports, [2222, 2223, null]);
  h.clock.advance(1_001);
  await h.services.tick();
  const list = (await h.request({ method: "GET", url: "/api/v1/workspaces?status=error", token: alice.apiToken })).json();
  t.equal(list.total, 1);
  t.equal((await h.detail(alice, list.workspaces[0].workspace_id)).error.code, "port_pool_exhausted");
});

t.test("at most 4 creates in flight per node: the rest wait, creating, and go when slots free", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const node = await h.node("node-1");
  const created = [];
  for (let i = 0; i < 6; i++) created.push(await h.create(alice, { repo: { owner: "octocat", name: `w${i}` } }));
  t.same(created.map((w) => w.ssh_port), [2222, 2223, 2224, 2225, 2226, 2227], "every one is placed with a port at once");
  const first = await h.poll(node);
  t.equal(first.length, 4, "only four creates are sent");
  t.same(first.map((c) => c.workspace_id), created.slice(0, 4).map((w) => w.workspace_id), "oldest first");
  const waiting = await h.detail(alice, created[5]!.workspace_id);
  t.equal(waiting.status, "creating", "queued, not failed");
  h.clock.advance(90_000);
  await heartbeat(h, node);
  await h.services.tick();
  t.equal((await h.detail(alice, created[5]!.workspace_id)).status, "creating", "a queued create does not time out into error");
  t.same((await h.poll(node)).map((c) => c.type), [], "no new create while four are in flight");
  await h.result(node, first[0]!.id, createdResult(first[0]!.workspace_id!));
  const next = await h.poll(node);
  t.same(next.filter((c) => c.type === "create").map((c) => c.workspace_id), [created[4]!.workspace_id], "a finished create frees a slot");
});

for (const kind of ["memory", "sqlite"] as const)
t.test(`50 concurrent creates get 50 distinct SSH ports; deleting them releases every port (${kind} store)`, async (t) => {
  const dir = tempTree();
  t.teardown(() => dir.cleanup());
  const store = kind === "sqlite" ? (clock: FakeClock) => openSqliteStore({ file: join(dir.dir, "nexus.db"), now: () => clock.now() }) : undefined;
  const h = await harness(t, { services: { maxConcurrentCreatesPerNode: 50 }, ...(store ? { store } : {}) });
  const users = await Promise.all(["u1", "u2", "u3", "u4", "u5"].map((login) => h.user(login)));
  const node = await h.node("node-1", { ports: [2222, 2299], max: 100 });
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) => h.create(users[i % 5]!, { repo: { owner: "octocat", name: "same-repo" } })),
  );
  const ports = results.map((r) => r.ssh_port);
  t.equal(new Set(ports).size, 50, "no port twice");
  t.ok(ports.every((p) => p !== null && p >= 2222 && p <= 2271), "the lowest 50 ports");
  t.equal(new Set(results.map((r) => r.workspace_id)).size, 50);
  const perUser = new Map<string, Set<string>>();
  results.forEach((r, i) => perUser.set(users[i % 5]!.login, (perUser.get(users[i % 5]!.login) ?? new Set()).add(r.workspace_name)));
  t.ok([...perUser.values()].every((names) => names.size === 10), "concurrent default names never collide");

  const creates = await h.poll(node);
  t.equal(creates.length, 20, "one poll hands out at most 20");
  const all = [...creates, ...(await h.poll(node)), ...(await h.poll(node))];
  t.equal(all.length, 50);
  await Promise.all(all.map((c) => h.result(node, c.id, createdResult(c.workspace_id!, c.payload.ssh_port as number))));
  await Promise.all(
    results.map((r, i) => h.request({ method: "DELETE", url: `/api/v1/workspaces/${r.workspace_id}?force=true`, token: users[i % 5]!.apiToken })),
  );
  const deletes = [...(await h.poll(node)), ...(await h.poll(node)), ...(await h.poll(node))];
  t.equal(deletes.length, 50);
  await Promise.all(deletes.map((c) => h.result(node, c.id, { ok: true, type: "delete", data: {} })));
  t.same((await h.request({ method: "GET", url: "/api/v1/nodes", token: "admin-secret-token-for-tests" })).json().nodes[0].workspaces, 0);
  const again = await h.create(users[0]!, { repo: { owner: "octocat", name: "fresh" } });
  t.equal(again.ssh_port, 2222, "the first port is free again");
});
