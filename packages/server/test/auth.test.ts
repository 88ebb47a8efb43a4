// Who may call what (SPEC §5 Auth): API tokens, GitHub tokens (verified with GET /user,
// cached by token hash for 5 minutes), join, node and admin tokens.
import t from "tap";
import { ADMIN_TOKEN, harness, sshPublicKey } from "./harness.js";

t.test("no token, a malformed header or an unknown token → 401 auth_required", async (t) => {
  const h = await harness(t);
  const none = await h.request({ method: "GET", url: "/api/v1/workspaces" });
  t.equal(none.statusCode, 401);
  t.equal(none.json().error, "auth_required");
  t.match(none.json().hint, "nexus auth github");
  const basic = await h.request({ method: "GET", url: "/api/v1/workspaces", headers: { authorization: "Basic abc" } });
  t.equal(basic.statusCode, 401);
  const unknown = await h.request({ method: "GET", url: "/api/v1/workspaces", token: "nxs_doesnotexist" });
  t.equal(unknown.statusCode, 401);
  t.equal(unknown.json().error, "auth_required");
});

t.test("register-github: 201 new, 200 known with the key added, API token usable, me lists keys", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  t.match(alice.apiToken, /^nxs_[A-Za-z0-9_-]{43}$/);
  t.match(alice.user_id, /^usr_/);
  const me = await h.request({ method: "GET", url: "/api/v1/users/me", token: alice.apiToken });
  t.equal(me.statusCode, 200);
  t.equal(me.json().github_username, "alice");
  t.equal(me.json().keys.length, 1);

  const second = sshPublicKey("alice@desktop");
  const again = await h.request({
    method: "POST",
    url: "/api/v1/users/register-github",
    token: alice.githubToken,
    body: { github_username: "Alice", github_id: h.github.user("alice")!.id, ssh_pubkey: second },
  });
  t.equal(again.statusCode, 200, "known user → 200");
  t.equal(again.json().user_id, alice.user_id);
  t.match(again.json().ssh_pubkey_fingerprint, /^SHA256:/);
  const keys = (await h.request({ method: "GET", url: "/api/v1/users/me", token: alice.apiToken })).json().keys;
  t.equal(keys.length, 2, "the new key was added");
  t.not(again.json().api_token, alice.apiToken, "a fresh API token each time");

  const same = await h.request({
    method: "POST",
    url: "/api/v1/users/register-github",
    token: alice.githubToken,
    body: { github_username: "alice", github_id: h.github.user("alice")!.id, ssh_pubkey: second },
  });
  t.equal(same.statusCode, 200);
  t.equal((await h.request({ method: "GET", url: "/api/v1/users/me", token: alice.apiToken })).json().keys.length, 2, "a known key is not added twice");
});

t.test("register-github refuses a body that does not match the token's account, and non-GitHub tokens", async (t) => {
  const h = await harness(t);
  const mallory = h.github.addUser("mallory");
  const token = h.github.issueToken("mallory");
  const res = await h.request({
    method: "POST",
    url: "/api/v1/users/register-github",
    token,
    body: { github_username: "alice", github_id: mallory.id + 1000, ssh_pubkey: sshPublicKey() },
  });
  t.equal(res.statusCode, 403);
  t.equal(res.json().error, "forbidden");
  const alice = await h.user("alice");
  const withApiToken = await h.request({
    method: "POST",
    url: "/api/v1/users/register-github",
    token: alice.apiToken,
    body: { github_username: "alice", github_id: 1, ssh_pubkey: sshPublicKey() },
  });
  t.equal(withApiToken.statusCode, 403, "an API token is not a GitHub token");
  const rejected = await h.request({
    method: "POST",
    url: "/api/v1/users/register-github",
    token: "gho_not-issued-by-github",
    body: { github_username: "alice", github_id: 1, ssh_pubkey: sshPublicKey() },
  });
  t.equal(rejected.statusCode, 401);
  t.equal(rejected.json().error, "auth_required");
});

t.test("a GitHub token works on user routes, verified once per 5 minutes", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const userCalls = () => h.github.exchanges.filter((e) => e.path === "/user").length;
  const before = userCalls();
  const me = await h.request({ method: "GET", url: "/api/v1/users/me", token: alice.githubToken });
  t.equal(me.statusCode, 200);
  t.equal(me.json().user_id, alice.user_id);
  t.equal(userCalls(), before, "verified at registration, then served from the cache");
  h.github.revokeToken(alice.githubToken);
  const cached = await h.request({ method: "GET", url: "/api/v1/users/me", token: alice.githubToken });
  t.equal(cached.statusCode, 200, "still valid from the cache");
  t.equal(userCalls(), before, "no GitHub call within 5 minutes");
  h.clock.advance(5 * 60_000 + 1);
  const expired = await h.request({ method: "GET", url: "/api/v1/users/me", token: alice.githubToken });
  t.equal(expired.statusCode, 401, "verified again after 5 minutes: GitHub now refuses it");
  t.equal(userCalls(), before + 1);

  const carol = h.github.addUser("carol");
  const carolToken = h.github.issueToken("carol");
  const unregistered = await h.request({ method: "GET", url: "/api/v1/workspaces", token: carolToken });
  t.equal(unregistered.statusCode, 404);
  t.equal(unregistered.json().error, "user_not_found");
  t.match(unregistered.json().hint, "nexus ssh setup");
  t.equal(h.github.user("carol")?.id, carol.id);
});

t.test("token kinds: admin routes need the admin token; node tokens only their own node", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const nodes = await h.request({ method: "GET", url: "/api/v1/nodes", token: alice.apiToken });
  t.equal(nodes.statusCode, 403);
  t.equal(nodes.json().error, "forbidden");
  t.equal((await h.request({ method: "GET", url: "/api/v1/nodes", token: ADMIN_TOKEN })).statusCode, 200);
  t.equal((await h.request({ method: "GET", url: "/api/v1/workspaces", token: ADMIN_TOKEN })).statusCode, 403, "the admin token is not a user");
  t.equal((await h.request({ method: "GET", url: "/api/v1/metrics", token: "wrong-admin" })).statusCode, 401);

  const one = await h.node("node-1");
  const two = await h.node("node-2");
  const own = await h.request({ method: "GET", url: `/api/v1/nodes/${one.node_id}/commands?wait=0`, token: one.token });
  t.equal(own.statusCode, 200);
  for (const [method, path, body] of [
    ["GET", `/api/v1/nodes/${two.node_id}/commands?wait=0`, undefined],
    ["POST", `/api/v1/nodes/${two.node_id}/heartbeat`, { version: "1.0.0", providers: [], workspaces: 0 }],
    ["POST", `/api/v1/nodes/${two.node_id}/events`, { events: [{ type: "observed", workspaces: [], complete: false, at: new Date().toISOString() }] }],
    ["POST", `/api/v1/nodes/${two.node_id}/commands/cmd_0000000000000000/result`, { ok: true, type: "start", data: {} }],
  ] as const) {
    const res = await h.request({ method, url: path, token: one.token, ...(body ? { body } : {}) });
    t.equal(res.statusCode, 403, `${method} ${path} with another node's token`);
    t.equal(res.json().error, "forbidden");
  }
  t.equal((await h.request({ method: "GET", url: "/api/v1/workspaces", token: one.token })).statusCode, 403, "a node token is not a user");
  t.equal((await h.request({ method: "GET", url: `/api/v1/nodes/${one.node_id}/commands?wait=0`, token: alice.apiToken })).statusCode, 403);
});

t.test("join tokens: admin-issued, reusable until they expire", async (t) => {
  const h = await harness(t);
  const issued = await h.request({ method: "POST", url: "/api/v1/nodes/tokens", token: ADMIN_TOKEN, body: { description: "rack 4", ttl_seconds: 600 } });
  t.equal(issued.statusCode, 201);
  const { token, expires_at, description } = issued.json();
  t.match(token, /^nxj_/);
  t.equal(description, "rack 4");
  t.equal(expires_at, new Date(h.clock.now().getTime() + 600_000).toISOString());
  const body = (name: string) => ({ name, providers: ["docker"], ssh_host: "10.0.0.9", ssh_port_range: { start: 2222, end: 2223 }, capacity: { max_workspaces: 2 }, version: "1.0.0" });
  const first = await h.request({ method: "POST", url: "/api/v1/nodes/register", token, body: body("a") });
  t.equal(first.statusCode, 201);
  t.match(first.json().node_token, /^nxn_/);
  t.equal(first.json().heartbeat_interval_seconds, 10);
  t.equal((await h.request({ method: "POST", url: "/api/v1/nodes/register", token, body: body("b") })).statusCode, 201, "reusable");
  const again = await h.request({ method: "POST", url: "/api/v1/nodes/register", token, body: body("a") });
  t.equal(again.json().node_id, first.json().node_id, "the same name is the same node");
  h.clock.advance(601_000);
  const late = await h.request({ method: "POST", url: "/api/v1/nodes/register", token, body: body("c") });
  t.equal(late.statusCode, 401, "expired");
  const withNodeToken = await h.request({ method: "POST", url: "/api/v1/nodes/register", token: first.json().node_token, body: body("d") });
  t.equal(withNodeToken.statusCode, 403, "a node token cannot register nodes");
});
