// Who can reach what (SPEC §5): another user's workspace is a 404 on every workspace
// route, by id and by name, with none of its data; node tokens act only for their own
// node; admin routes need the admin token; join tokens register nodes and nothing else,
// until they expire; API tokens can be revoked (API, SDK and `nexus auth logout --revoke`).
import t from "tap";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { API_ROUTES, ErrorBodySchema, createClient, isNexusError, type ApiRoute, type ApiRouteName } from "@nexus/core";
import { Capture, tempTree } from "@nexus/test-utils";
import { run } from "@nexus/cli";
import { ADMIN_TOKEN, createdResult, harness, type Harness, type RegisteredNode, type RegisteredUser } from "../../packages/server/test/harness.js";

const ROUTES = Object.entries(API_ROUTES) as [ApiRouteName, ApiRoute][];
const WORKSPACE_ROUTES = ROUTES.filter(([, route]) => route.path.includes("/workspaces/:id"));
const NODE_ROUTES = ROUTES.filter(([, route]) => route.auth === "node");
const ADMIN_ROUTES = ROUTES.filter(([, route]) => route.auth === "admin");
const USER_ROUTES = ROUTES.filter(([, route]) => route.auth === "user");

function url(route: ApiRoute, params: Record<string, string>, query = ""): string {
  return route.path.replace(/:([A-Za-z]+)/g, (_, key: string) => encodeURIComponent(params[key] ?? "x")) + query;
}

/** A body the route accepts, so that only the credentials decide. */
function bodyFor(name: ApiRouteName): unknown {
  switch (name) {
    case "stopWorkspace":
      return { force: true };
    case "startWorkspace":
    case "createNodeToken":
      return {};
    case "nodeHeartbeat":
      return { version: "1.0.0", providers: [], workspaces: 0 };
    case "postNodeEvents":
      return { events: [{ type: "observed", workspaces: [], complete: false, at: new Date().toISOString() }] };
    case "postCommandResult":
      return { ok: true, type: "start", data: {} };
    case "createWorkspace":
      return { repo: { owner: "octo", name: "shop" } };
    case "registerNode":
      return { name: "intruder", providers: ["lxc"], ssh_host: "10.9.9.9", ssh_port_range: { start: 2222, end: 2223 }, capacity: { max_workspaces: 1 }, version: "1.0.0" };
    default:
      return undefined;
  }
}

async function call(h: Harness, name: ApiRouteName, route: ApiRoute, params: Record<string, string>, token: string | undefined) {
  const body = bodyFor(name);
  return h.request({
    method: route.method,
    url: url(route, params, name === "pollCommands" ? "?wait=0" : ""),
    ...(token === undefined ? {} : { token }),
    ...(body === undefined ? {} : { body }),
  });
}

/** Alice's running workspace "shop" on node-a. */
async function running(h: Harness, owner: RegisteredUser, node: RegisteredNode, name: string): Promise<{ workspace_id: string; workspace_name: string }> {
  const created = await h.create(owner, { workspace_name: name, repo: { owner: "octo", name: "shop" }, config: { services: { web: { command: "npm start", port: 3000 } } } });
  const command = (await h.poll(node)).find((c) => c.type === "create" && c.workspace_id === created.workspace_id);
  if (!command) throw new Error("no create command for the node");
  const res = await h.result(node, command.id, createdResult(created.workspace_id, created.ssh_port ?? 2222));
  if (res.statusCode !== 200) throw new Error(`result: ${res.statusCode} ${res.body}`);
  return created;
}

t.test("another user's workspace is workspace_not_found on every workspace route, by id and by name", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const bob = await h.user("bob");
  const node = await h.node("node-a");
  const shop = await running(h, alice, node, "shop");
  t.equal((await h.detail(alice, shop.workspace_id)).status, "running");
  const secretish = [shop.workspace_name, "octo/shop", "node-a", "alice", "npm start", String((await h.detail(alice, "shop")).ssh.port)];

  t.ok(WORKSPACE_ROUTES.length >= 8, `${WORKSPACE_ROUTES.length} workspace routes`);
  for (const [name, route] of WORKSPACE_ROUTES) {
    for (const ref of [shop.workspace_id, shop.workspace_name]) {
      const res = await call(h, name, route, { id: ref }, bob.apiToken);
      t.equal(res.statusCode, 404, `${name} with alice's ${ref === shop.workspace_id ? "id" : "name"}`);
      const body = ErrorBodySchema.parse(res.json());
      t.equal(body.error, "workspace_not_found", `${name}: never forbidden, never data`);
      const text = res.body.replace(JSON.stringify(ref).slice(1, -1), "");
      for (const value of secretish) if (value !== ref) t.notMatch(text, value, `${name}: nothing of alice's workspace (${value})`);
    }
    // With bob's GitHub token instead of his API token: the same.
    const viaGithub = await call(h, name, route, { id: shop.workspace_id }, bob.githubToken);
    t.equal(viaGithub.statusCode, 404, `${name} with bob's GitHub token`);
  }
  // The SSE and followed logs routes answer before any stream opens.
  const follow = await h.request({ method: "GET", url: `/api/v1/workspaces/${shop.workspace_id}/logs?follow=true`, token: bob.apiToken });
  t.equal(follow.statusCode, 404, "following alice's logs");

  const list = await h.request({ method: "GET", url: "/api/v1/workspaces?limit=200", token: bob.apiToken });
  t.same(list.json().workspaces, [], "bob's list is empty");
  t.equal(list.json().total, 0);

  const after = await h.detail(alice, shop.workspace_id);
  t.equal(after.status, "running", "bob's stop/start/delete attempts changed nothing");
  const pending = await h.poll(node);
  t.same(pending.filter((c) => c.workspace_id === shop.workspace_id), [], "no command was queued for alice's workspace");
});

t.test("same names and Idempotency-Keys are per user: bob gets his own workspace, never alice's", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const bob = await h.user("bob");
  const fromAlice = await h.create(alice, { workspace_name: "shop", repo: { owner: "octo", name: "shop" } }, { "idempotency-key": "same-key" });
  const fromBob = await h.create(bob, { workspace_name: "shop", repo: { owner: "octo", name: "shop" } }, { "idempotency-key": "same-key" });
  t.not(fromBob.workspace_id, fromAlice.workspace_id, "the same key from another user makes another workspace");
  t.equal((await h.detail(bob, "shop")).workspace_id, fromBob.workspace_id, "bob's 'shop' is bob's");
  t.equal((await h.detail(alice, "shop")).workspace_id, fromAlice.workspace_id, "alice's 'shop' is alice's");
  const cross = await h.request({ method: "GET", url: `/api/v1/workspaces/${fromAlice.workspace_id}`, token: bob.apiToken });
  t.equal(cross.statusCode, 404);
  const replay = await h.create(bob, { workspace_name: "other", repo: { owner: "octo", name: "shop" } }, { "idempotency-key": "same-key" });
  t.equal(replay.workspace_id, fromBob.workspace_id, "a replay returns the caller's own first result");
});

t.test("node tokens act only for their own node", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const one = await h.node("node-a", { ports: [2222, 2229] });
  const two = await h.node("node-b", { ports: [3222, 3229], providers: ["docker"] });
  const onTwo = await h.create(alice, { workspace_name: "on-two", provider: "docker", repo: { owner: "octo", name: "shop" } });
  const [create] = await h.poll(two);
  t.equal(create?.workspace_id, onTwo.workspace_id, "placed on node-b");

  for (const [name, route] of NODE_ROUTES) {
    const res = await call(h, name, route, { id: two.node_id, cid: create!.id }, one.token);
    t.equal(res.statusCode, 403, `${name} on node-b's path with node-a's token`);
    t.equal(res.json().error, "forbidden");
  }
  const stolen = await h.result(one, create!.id, createdResult(onTwo.workspace_id, 3222));
  t.equal(stolen.statusCode, 403, "node-a cannot complete node-b's command through its own path");
  t.match(stolen.json().message, "another node");

  const events = await h.events(one, [
    { type: "workspace_status", workspace_id: onTwo.workspace_id, status: "error", error: { code: "internal_error", message: "spoofed" }, at: new Date().toISOString() },
    { type: "service", workspace_id: onTwo.workspace_id, name: "web", status: "running", health: "healthy", last_check: null, last_error: null, at: new Date().toISOString() },
    { type: "observed", workspaces: [{ workspace_id: onTwo.workspace_id, state: "absent" }], complete: true, at: new Date().toISOString() },
  ]);
  t.equal(events.statusCode, 200);
  t.equal(events.json().accepted, 1, "only the observed report (about node-a itself) counted");
  const detail = await h.detail(alice, onTwo.workspace_id);
  t.equal(detail.status, "creating", "node-a's reports about node-b's workspace changed nothing");
  t.same(Object.keys(detail.services), [], "no spoofed service");

  for (const [name, route] of [...USER_ROUTES, ...ADMIN_ROUTES]) {
    const res = await call(h, name, route, { id: onTwo.workspace_id }, one.token);
    t.equal(res.statusCode, 403, `${name} with a node token`);
  }
  const register = await call(h, "registerNode", API_ROUTES.registerNode, {}, one.token);
  t.equal(register.statusCode, 403, "a node token cannot register nodes");
});

t.test("admin routes need the admin token", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const node = await h.node("node-a");
  const join = (await h.request({ method: "POST", url: "/api/v1/nodes/tokens", token: ADMIN_TOKEN, body: {} })).json().token as string;
  t.ok(ADMIN_ROUTES.length >= 3);
  for (const [name, route] of ADMIN_ROUTES) {
    for (const [who, token, status] of [
      ["a user's API token", alice.apiToken, 403],
      ["a user's GitHub token", alice.githubToken, 401],
      ["a node token", node.token, 403],
      ["a join token", join, 403],
      ["no token", undefined, 401],
      ["a wrong admin token", `${ADMIN_TOKEN}x`, 401],
      ["the admin token with a different case", ADMIN_TOKEN.toUpperCase(), 401],
    ] as const) {
      const res = await call(h, name, route, {}, token);
      t.equal(res.statusCode, status, `${name} with ${who}`);
      t.notMatch(res.body, /nxj_|"nodes":/, `${name} with ${who}: no admin data`);
    }
    t.ok((await call(h, name, route, {}, ADMIN_TOKEN)).statusCode < 300, `${name} with the admin token`);
  }
  for (const [name, route] of USER_ROUTES) {
    t.equal((await call(h, name, route, { id: "shop" }, ADMIN_TOKEN)).statusCode, 403, `${name}: the admin token is not a user`);
  }
});

t.test("join tokens: only for registering, reusable until they expire", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const join = (await h.request({ method: "POST", url: "/api/v1/nodes/tokens", token: ADMIN_TOKEN, body: { ttl_seconds: 60 } })).json().token as string;
  const register = (token: string) => call(h, "registerNode", API_ROUTES.registerNode, {}, token);
  const first = await h.request({ method: "POST", url: "/api/v1/nodes/register", token: join, body: { ...(bodyFor("registerNode") as object), name: "rack-1" } });
  t.equal(first.statusCode, 201);
  const second = await h.request({ method: "POST", url: "/api/v1/nodes/register", token: join, body: { ...(bodyFor("registerNode") as object), name: "rack-2" } });
  t.equal(second.statusCode, 201, "reusable before it expires");
  for (const [name, route] of [...USER_ROUTES, ...ADMIN_ROUTES, ...NODE_ROUTES]) {
    const res = await call(h, name, route, { id: first.json().node_id, cid: "cmd_x1" }, join);
    t.equal(res.statusCode, 403, `${name} with a join token`);
  }
  t.equal((await register(ADMIN_TOKEN)).statusCode, 403, "the admin token is not a join token");
  t.equal((await register(alice.apiToken)).statusCode, 403, "an API token is not a join token");
  t.equal((await register(alice.githubToken)).statusCode, 401, "a GitHub token is not a join token");
  h.clock.advance(61_000);
  const late = await h.request({ method: "POST", url: "/api/v1/nodes/register", token: join, body: { ...(bodyFor("registerNode") as object), name: "rack-3" } });
  t.equal(late.statusCode, 401, "expired");
  t.equal(late.json().error, "auth_required");
  const nodes = (await h.request({ method: "GET", url: "/api/v1/nodes", token: ADMIN_TOKEN })).json().nodes as { name: string }[];
  t.same(nodes.map((n) => n.name).sort(), ["rack-1", "rack-2"], "no node registered with the expired token or a wrong kind of token");
});

t.test("API tokens can be revoked: DELETE /users/me/tokens/current → later requests are 401", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const bob = await h.user("bob");
  const again = await h.request({
    method: "POST",
    url: "/api/v1/users/register-github",
    token: alice.githubToken,
    body: { github_username: "alice", github_id: h.github.user("alice")!.id, ssh_pubkey: alice.key },
  });
  const second = again.json().api_token as string;
  t.not(second, alice.apiToken);

  const revoked = await h.request({ method: "DELETE", url: "/api/v1/users/me/tokens/current", token: alice.apiToken });
  t.equal(revoked.statusCode, 200);
  t.same(revoked.json(), { revoked: true });
  for (const [name, route] of USER_ROUTES) {
    const res = await call(h, name, route, { id: "shop" }, alice.apiToken);
    t.equal(res.statusCode, 401, `${name} with the revoked token`);
    t.equal(res.json().error, "auth_required");
  }
  t.equal((await h.request({ method: "GET", url: "/api/v1/users/me", token: second })).statusCode, 200, "alice's other token still works");
  t.equal((await h.request({ method: "GET", url: "/api/v1/users/me", token: bob.apiToken })).statusCode, 200, "bob's token still works");
  const record = await h.store.tokens.listForUser(alice.user_id);
  t.equal(record.filter((r) => r.revoked_at !== null).length, 1, "the store marks exactly one token revoked");

  const github = await h.request({ method: "DELETE", url: "/api/v1/users/me/tokens/current", token: alice.githubToken });
  t.equal(github.statusCode, 400, "a GitHub token is not revoked here");
  t.equal(github.json().error, "invalid_request");
  t.match(github.json().hint, "GitHub");
  t.equal((await h.request({ method: "DELETE", url: "/api/v1/users/me/tokens/current", token: ADMIN_TOKEN })).statusCode, 403);
  t.equal((await h.request({ method: "DELETE", url: "/api/v1/users/me/tokens/current" })).statusCode, 401);
});

t.test("the SDK and `nexus auth logout --revoke` revoke over HTTP", async (t) => {
  const h = await harness(t);
  await h.app.listen({ port: 0, host: "127.0.0.1" });
  const server = `http://127.0.0.1:${(h.app.server.address() as { port: number }).port}`;
  const alice = await h.user("alice");
  const client = createClient({ server, token: alice.apiToken });
  t.same(await client.revokeToken(), { revoked: true });
  const denied = await client.me().catch((error: unknown) => error);
  t.ok(isNexusError(denied) && denied.code === "auth_required", "the SDK's next call is auth_required");

  const tree = tempTree({});
  t.teardown(tree.cleanup);
  const nexusHome = join(tree.dir, ".nexus");
  mkdirSync(nexusHome, { recursive: true, mode: 0o700 });
  const fresh = await h.user("alice");
  const unreachable = "http://127.0.0.1:9";
  writeFileSync(
    join(nexusHome, "credentials.json"),
    JSON.stringify({ servers: { [server]: { api_token: fresh.apiToken, user_id: fresh.user_id }, [unreachable]: { api_token: "nxs_unreachable" } } }),
    { mode: 0o600 },
  );
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await run(["auth", "logout", "--revoke", "--json"], { cwd: tree.dir, env: { HOME: tree.dir, NEXUS_HOME: nexusHome, PATH: "/nonexistent" }, stdout, stderr, stdin: Readable.from([]) });
  t.equal(code, 0, stderr.text);
  const result = JSON.parse(stdout.text);
  t.same(result.servers_revoked, [server], "revoked where the server answered");
  t.same(result.servers_removed.sort(), [server, unreachable].sort(), "and forgotten everywhere");
  t.match(stderr.text, `could not revoke the API token on ${unreachable}`);
  t.notMatch(stdout.text + stderr.text, fresh.apiToken, "the token is never printed");
  t.same(JSON.parse(readFileSync(join(nexusHome, "credentials.json"), "utf8")).servers, {});
  t.equal((await h.request({ method: "GET", url: "/api/v1/users/me", token: fresh.apiToken })).statusCode, 401, "the server refuses it now");
});
