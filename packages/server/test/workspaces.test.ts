// The user-facing workspace routes (SPEC §5): create (names, idempotency, config, repo
// URLs), read, list, services, and stop / start / delete with the agent's results.
import t from "tap";
import { createdResult, harness, type Harness, type RegisteredNode, type RegisteredUser } from "./harness.js";

const CONFIG = {
  version: 1,
  services: {
    db: { command: "postgres", port: 5432, expose: false },
    api: { command: "npm run server", port: 4000, depends_on: ["db"] },
    web: { command: "npm run dev", port: 3000, depends_on: ["api"] },
  },
};

async function running(h: Harness, user: RegisteredUser, node: RegisteredNode, body: Record<string, unknown>) {
  const ws = await h.create(user, body);
  const create = (await h.poll(node)).find((c) => c.type === "create" && c.workspace_id === ws.workspace_id)!;
  const res = await h.result(node, create.id, createdResult(ws.workspace_id, ws.ssh_port ?? 2222));
  if (res.statusCode !== 200) throw new Error(`result: ${res.body}`);
  return ws;
}

t.test("create: 202 with Location, the create command carries what the agent needs", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const node = await h.node("node-1");
  const res = await h.request({
    method: "POST",
    url: "/api/v1/workspaces/create-from-repo",
    token: alice.apiToken,
    body: { repo: { owner: "octocat", name: "Hello-World", branch: "main" }, config: { ...CONFIG, resources: { cpu: 2, memory: "4GiB" } }, image: "nexus/debian-12" },
  });
  t.equal(res.statusCode, 202);
  const body = res.json();
  t.equal(body.status, "pending");
  t.equal(body.workspace_name, "hello-world");
  t.equal(body.ssh_port, 2222);
  t.equal(body.polling_url, `/api/v1/workspaces/${body.workspace_id}`);
  t.equal(res.headers.location, body.polling_url);
  t.ok(body.estimated_time_seconds >= 0);

  const [create] = await h.poll(node);
  t.equal(create!.type, "create");
  t.equal(create!.workspace_id, body.workspace_id);
  t.match(create!.payload, {
    provider: "lxc",
    name: "hello-world",
    image: "nexus/debian-12",
    ssh_port: 2222,
    authorized_keys: [alice.key],
    resources: { cpu: 2, memory_bytes: 4 * 2 ** 30 },
    repo: { owner: "octocat", name: "Hello-World", branch: "main", url: "https://github.com/octocat/Hello-World.git" },
    config: CONFIG,
  });
  t.notOk("clone_token" in create!.payload, "no clone token was given");

  const detail = await h.detail(alice, "hello-world");
  t.equal(detail.status, "creating");
  t.same(detail.phases.map((p: { name: string }) => p.name), ["scheduled"]);
  t.same(Object.keys(detail.services), ["db", "api", "web"]);
  t.equal(detail.services.db.local_port, null, "not exposed");
  t.equal(detail.services.api.local_port, 23000);
  t.equal(detail.services.web.local_port, 23001);
  t.equal(detail.services.web.url, "http://localhost:23001");
  t.same(detail.ssh, { host: "node-1.example.test", port: 2222, user: "dev", host_key: null, path: "/home/dev/Hello-World" });
});

t.test("default names: repo, then repo-branch, then a numeric suffix; an explicit name that is taken → 409", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const bob = await h.user("bob");
  const repo = { owner: "octocat", name: "My_App.js", branch: "feature/Login" };
  const names = [];
  for (let i = 0; i < 4; i++) names.push((await h.create(alice, { repo })).workspace_name);
  t.same(names, ["my-app-js", "my-app-js-feature-login", "my-app-js-2", "my-app-js-3"]);
  t.equal((await h.create(bob, { repo })).workspace_name, "my-app-js", "names are per user");
  t.equal((await h.create(alice, { repo: { owner: "octocat", name: "other" } })).workspace_name, "other");
  t.equal((await h.create(alice, { repo: { owner: "octocat", name: "other" } })).workspace_name, "other-2", "no branch: straight to the suffix");
  const taken = await h.request({ method: "POST", url: "/api/v1/workspaces/create-from-repo", token: alice.apiToken, body: { workspace_name: "other", repo } });
  t.equal(taken.statusCode, 409);
  t.equal(taken.json().error, "workspace_exists");
});

t.test("Idempotency-Key: the same key returns the same workspace, in its current state", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const bob = await h.user("bob");
  const node = await h.node("node-1");
  const key = { "idempotency-key": "retry-42" };
  const first = await h.create(alice, { repo: { owner: "octocat", name: "hello" } }, key);
  const create = (await h.poll(node))[0]!;
  await h.result(node, create.id, createdResult(first.workspace_id));
  const again = await h.create(alice, { repo: { owner: "octocat", name: "hello" } }, key);
  t.equal(again.workspace_id, first.workspace_id);
  t.equal(again.workspace_name, "hello");
  t.equal(again.status, "running", "a replay reports the current state");
  t.equal((await h.poll(node)).length, 0, "no second create command");
  const list = (await h.request({ method: "GET", url: "/api/v1/workspaces", token: alice.apiToken })).json();
  t.equal(list.total, 1);
  t.not((await h.create(bob, { repo: { owner: "octocat", name: "hello" } }, key)).workspace_id, first.workspace_id, "keys are per user");
});

t.test("config: validated with the project schema; errors name the field", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const res = await h.request({
    method: "POST",
    url: "/api/v1/workspaces/create-from-repo",
    token: alice.apiToken,
    body: { repo: { owner: "octocat", name: "hello" }, config: { version: 1, services: { api: { command: "x", port: 70000, depends_on: ["nope"] } } } },
  });
  t.equal(res.statusCode, 400);
  t.equal(res.json().error, "invalid_config");
  const paths = res.json().details.errors.map((e: { path: string }) => e.path);
  t.ok(paths.includes("config.services.api.port"), JSON.stringify(paths));
  t.match(res.json().message, "config.services.api");
  t.equal((await h.request({ method: "GET", url: "/api/v1/workspaces", token: alice.apiToken })).json().total, 0, "nothing was created");
});

t.test("repository URLs: the configured GitHub host and allowed hosts only; local paths only in single-machine mode", async (t) => {
  const h = await harness(t, { services: { allowedRepoHosts: ["git.example.com"] } });
  const alice = await h.user("alice");
  const attempt = (url: string) =>
    h.request({ method: "POST", url: "/api/v1/workspaces/create-from-repo", token: alice.apiToken, body: { repo: { owner: "octocat", name: "hello", url } } });
  t.equal((await attempt("https://github.com/octocat/hello.git")).statusCode, 202);
  t.equal((await attempt("git@git.example.com:team/hello.git")).statusCode, 202);
  for (const url of ["https://evil.example.net/x/y.git", "file:///etc", "/srv/git/hello", "https://user:pw@github.com/a/b.git", "ext::sh -c touch% /tmp/x"]) {
    const res = await attempt(url);
    t.equal(res.statusCode, 400, url);
    t.equal(res.json().error, "invalid_request");
    t.notMatch(res.body, "pw@", "credentials are never echoed");
  }
  const upstream = await h.request({
    method: "POST",
    url: "/api/v1/workspaces/create-from-repo",
    token: alice.apiToken,
    body: { repo: { owner: "alice", name: "hello", is_fork: true, upstream: { owner: "octocat", name: "hello", url: "https://evil.example.net/a/b" } } },
  });
  t.equal(upstream.statusCode, 400, "the upstream URL is checked too");

  const local = await harness(t, { services: { singleMachine: true } });
  const carol = await local.user("carol");
  const ok = await local.request({
    method: "POST",
    url: "/api/v1/workspaces/create-from-repo",
    token: carol.apiToken,
    body: { repo: { owner: "local", name: "hello", url: "/srv/git/hello" } },
  });
  t.equal(ok.statusCode, 202, "single-machine mode accepts local paths");
});

t.test("another user's workspace is 404 on every workspace endpoint", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const bob = await h.user("bob");
  const node = await h.node("node-1");
  const ws = await running(h, alice, node, { repo: { owner: "octocat", name: "hello" } });
  for (const ref of [ws.workspace_id, ws.workspace_name]) {
    for (const [method, path, body] of [
      ["GET", `/api/v1/workspaces/${ref}`],
      ["GET", `/api/v1/workspaces/${ref}/status`],
      ["GET", `/api/v1/workspaces/${ref}/services`],
      ["GET", `/api/v1/workspaces/${ref}/events`],
      ["GET", `/api/v1/workspaces/${ref}/logs`],
      ["POST", `/api/v1/workspaces/${ref}/stop`, {}],
      ["POST", `/api/v1/workspaces/${ref}/start`, {}],
      ["DELETE", `/api/v1/workspaces/${ref}?force=true`],
    ] as const) {
      const res = await h.request({ method, url: path, token: bob.apiToken, ...(body ? { body } : {}) });
      t.equal(res.statusCode, 404, `${method} ${path}`);
      t.equal(res.json().error, "workspace_not_found");
    }
  }
  t.equal((await h.detail(alice, ws.workspace_id)).status, "running", "untouched");
  t.equal((await h.request({ method: "GET", url: "/api/v1/workspaces", token: bob.apiToken })).json().total, 0);
});

t.test("list: the caller's workspaces, filtered and paged", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const node = await h.node("node-1");
  await running(h, alice, node, { repo: { owner: "octocat", name: "one" }, config: CONFIG });
  await h.create(alice, { repo: { owner: "octocat", name: "two" } });
  await h.create(alice, { repo: { owner: "octocat", name: "three" } });
  const all = (await h.request({ method: "GET", url: "/api/v1/workspaces", token: alice.apiToken })).json();
  t.equal(all.total, 3);
  t.same(all.workspaces.map((w: { workspace_name: string }) => w.workspace_name), ["one", "two", "three"]);
  t.match(all.workspaces[0], { status: "running", provider: "lxc", node: "node-1", ssh_port: 2222, services_count: 3 });
  const page = (await h.request({ method: "GET", url: "/api/v1/workspaces?limit=1&offset=1", token: alice.apiToken })).json();
  t.same([page.total, page.limit, page.offset, page.workspaces.length, page.workspaces[0].workspace_name], [3, 1, 1, 1, "two"]);
  const runningOnly = (await h.request({ method: "GET", url: "/api/v1/workspaces?status=running", token: alice.apiToken })).json();
  t.same(runningOnly.workspaces.map((w: { workspace_name: string }) => w.workspace_name), ["one"]);
});

t.test("services endpoint: every configured service with depends_on and stable local ports", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const node = await h.node("node-1");
  const ws = await running(h, alice, node, { repo: { owner: "octocat", name: "app" }, config: CONFIG });
  const res = await h.request({ method: "GET", url: `/api/v1/workspaces/${ws.workspace_name}/services`, token: alice.apiToken });
  t.equal(res.statusCode, 200);
  t.same(
    res.json().services.map((s: { name: string; depends_on: string[]; local_port: number | null; status: string; health: string }) => [s.name, s.depends_on, s.local_port, s.status, s.health]),
    [
      ["db", [], null, "pending", "unknown"],
      ["api", ["db"], 23000, "pending", "unknown"],
      ["web", ["api"], 23001, "pending", "unknown"],
    ],
  );
  const second = await running(h, alice, node, { repo: { owner: "octocat", name: "app2" }, config: CONFIG });
  const ports = (await h.request({ method: "GET", url: `/api/v1/workspaces/${second.workspace_id}/services`, token: alice.apiToken })).json().services.map((s: { local_port: number | null }) => s.local_port);
  t.same(ports, [null, 23002, 23003], "local ports are per user and unique");
});

t.test("stop → stopped → start → running → delete → 404, ports released", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const node = await h.node("node-1");
  const ws = await running(h, alice, node, { repo: { owner: "octocat", name: "hello" }, config: CONFIG });
  let detail = await h.detail(alice, ws.workspace_id);
  t.equal(detail.status, "running");
  t.equal(detail.ssh.host_key, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyForTests");

  const stop = await h.request({ method: "POST", url: `/api/v1/workspaces/${ws.workspace_name}/stop`, token: alice.apiToken, body: { force: true } });
  t.equal(stop.statusCode, 202);
  t.same(stop.json(), { workspace_id: ws.workspace_id, status: "stopping" });
  const [stopCommand] = await h.poll(node);
  t.equal(stopCommand!.type, "stop");
  t.same(stopCommand!.payload, { handle: createdResult(ws.workspace_id).data.handle, force: true });
  const again = await h.request({ method: "POST", url: `/api/v1/workspaces/${ws.workspace_name}/stop`, token: alice.apiToken, body: {} });
  t.equal(again.statusCode, 409, "stopping cannot stop");
  t.equal(again.json().error, "invalid_transition");
  await h.result(node, stopCommand!.id, { ok: true, type: "stop", data: {} });
  detail = await h.detail(alice, ws.workspace_id);
  t.equal(detail.status, "stopped");
  t.ok(Object.values(detail.services).every((s) => (s as { status: string }).status === "stopped"));

  const start = await h.request({ method: "POST", url: `/api/v1/workspaces/${ws.workspace_id}/start`, token: alice.apiToken, body: {} });
  t.equal(start.statusCode, 202);
  t.same(start.json(), { workspace_id: ws.workspace_id, status: "starting" });
  const [startCommand] = await h.poll(node);
  t.equal(startCommand!.type, "start");
  await h.result(node, startCommand!.id, { ok: true, type: "start", data: {} });
  t.equal((await h.detail(alice, ws.workspace_id)).status, "running");

  const noForce = await h.request({ method: "DELETE", url: `/api/v1/workspaces/${ws.workspace_id}`, token: alice.apiToken });
  t.equal(noForce.statusCode, 409);
  t.match(noForce.json().message, "without force");
  const del = await h.request({ method: "DELETE", url: `/api/v1/workspaces/${ws.workspace_id}?force=true`, token: alice.apiToken });
  t.equal(del.statusCode, 202);
  t.same(del.json(), { workspace_id: ws.workspace_id, status: "deleting" });
  t.equal((await h.detail(alice, ws.workspace_id)).status, "deleting");
  const [deleteCommand] = await h.poll(node);
  t.equal(deleteCommand!.type, "delete");
  const done = await h.result(node, deleteCommand!.id, { ok: true, type: "delete", data: {} });
  t.same(done.json(), { accepted: true });
  const gone = await h.request({ method: "GET", url: `/api/v1/workspaces/${ws.workspace_id}`, token: alice.apiToken });
  t.equal(gone.statusCode, 404);
  t.equal(gone.json().error, "workspace_not_found");

  // Its SSH port and local ports are free again: the next workspace gets the same ones.
  const next = await h.create(alice, { repo: { owner: "octocat", name: "hello" }, config: CONFIG });
  t.equal(next.workspace_name, "hello", "the name is free again");
  t.equal(next.ssh_port, 2222);
  const services = (await h.request({ method: "GET", url: `/api/v1/workspaces/${next.workspace_id}/services`, token: alice.apiToken })).json().services;
  t.same(services.map((s: { local_port: number | null }) => s.local_port), [null, 23000, 23001]);
});

t.test("a workspace without a node is deleted at once; pending cannot be deleted; failures land in error", async (t) => {
  const h = await harness(t, { services: { scheduleTimeoutMs: 1000 } });
  const alice = await h.user("alice");
  const ws = await h.create(alice, { repo: { owner: "octocat", name: "hello" } });
  t.equal(ws.ssh_port, null, "no node: no port yet");
  const pending = await h.request({ method: "DELETE", url: `/api/v1/workspaces/${ws.workspace_id}`, token: alice.apiToken });
  t.equal(pending.statusCode, 409);
  h.clock.advance(1001);
  await h.services.tick();
  const failed = await h.detail(alice, ws.workspace_id);
  t.equal(failed.status, "error");
  const del = await h.request({ method: "DELETE", url: `/api/v1/workspaces/${ws.workspace_id}`, token: alice.apiToken });
  t.equal(del.statusCode, 202);
  t.equal((await h.request({ method: "GET", url: `/api/v1/workspaces/${ws.workspace_id}`, token: alice.apiToken })).statusCode, 404);

  const node = await h.node("node-1");
  const broken = await h.create(alice, { repo: { owner: "octocat", name: "broken" } });
  const [create] = await h.poll(node);
  await h.result(node, create!.id, { ok: false, type: "create", error: { code: "clone_failed", message: "repository not found", phase: "repo_cloned" } });
  const detail = await h.detail(alice, broken.workspace_id);
  t.equal(detail.status, "error");
  t.equal(detail.health, "unhealthy");
  t.same(detail.error, { code: "clone_failed", message: "repository not found", phase: "repo_cloned" });
});

t.test("start needs the workspace's node online", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const node = await h.node("node-1");
  const ws = await running(h, alice, node, { repo: { owner: "octocat", name: "hello" } });
  await h.request({ method: "POST", url: `/api/v1/workspaces/${ws.workspace_id}/stop`, token: alice.apiToken, body: {} });
  const [stop] = await h.poll(node);
  await h.result(node, stop!.id, { ok: true, type: "stop", data: {} });
  h.clock.advance(31_000);
  await h.services.tick();
  const start = await h.request({ method: "POST", url: `/api/v1/workspaces/${ws.workspace_id}/start`, token: alice.apiToken, body: {} });
  t.equal(start.statusCode, 503);
  t.equal(start.json().error, "no_node_available");
  t.equal((await h.detail(alice, ws.workspace_id)).status, "stopped", "unchanged");
});
