// The Store conformance suite: plain node:assert cases, independent of any test runner,
// plus a tap binding. Every case gets a fresh store on a fake clock it controls, so
// expiry and redelivery are checked without sleeping or timing anything.
import assert from "node:assert/strict";
import {
  LOCAL_PORT_BASE,
  hashToken,
  isId,
  isNexusError,
  type ErrorCode,
  type NewWorkspace,
  type Store,
  type WorkspaceRecord,
} from "@nexus/core";

export interface StoreTestClock {
  /** What the store under test must use as its clock (`StoreOptions.now`). */
  now: () => Date;
  advance(ms: number): void;
}

/** Builds a fresh, empty store that reads time from `ctx.now`. */
export type StoreFactory = (ctx: { now: () => Date }) => Store | Promise<Store>;

/** Same shape as the other testkit suites' cases: a stable kebab-case id, a sentence, a run. */
export interface StoreConformanceCase {
  readonly id: string;
  readonly name: string;
  run(): Promise<void>;
}

/** The smallest slice of a test runner the binding needs (tap's `t` fits). */
export interface SubtestRunner {
  test(name: string, fn: (t: { pass(message: string): unknown }) => Promise<void>): unknown;
}

const START = Date.parse("2030-01-01T00:00:00.000Z");

function testClock(): StoreTestClock {
  let ms = START;
  return { now: () => new Date(ms), advance: (by) => void (ms += by) };
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, what: string): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(isNexusError(e), `${what}: expected a NexusError, got ${String(e)}`);
    assert.equal(e.code, code, `${what}: error code`);
    return true;
  });
}

interface Fixture {
  store: Store;
  clock: StoreTestClock;
  user(username: string, github_id?: number): Promise<string>;
  node(name: string, range?: [number, number]): Promise<string>;
  workspace(owner_id: string, name: string, extra?: Partial<NewWorkspace>): Promise<WorkspaceRecord>;
}

function withStore(makeStore: StoreFactory, body: (f: Fixture) => Promise<void>): () => Promise<void> {
  return async () => {
    const clock = testClock();
    const store = await makeStore({ now: clock.now });
    const fixture: Fixture = {
      store,
      clock,
      user: async (username, github_id) => (await store.users.create({ username, github_id: github_id ?? null })).user_id,
      node: async (name, range = [2222, 2299]) =>
        (await store.nodes.register({ name, providers: ["fake"], ssh_host: "127.0.0.1", ssh_port_range: range, capacity: { max_workspaces: 100 } })).node_id,
      workspace: async (owner_id, name, extra = {}) =>
        (await store.workspaces.create({ workspace_name: name, owner_id, provider: "fake", repo: repo(name), ...extra })).workspace,
    };
    try {
      await body(fixture);
    } finally {
      await store.close();
    }
  };
}

function repo(name: string) {
  return { owner: "acme", name, branch: "main", url: `https://github.com/acme/${name}.git`, is_fork: false };
}

export function storeConformanceCases(makeStore: StoreFactory): StoreConformanceCase[] {
  const cases: StoreConformanceCase[] = [];
  const add = (id: string, name: string, body: (f: Fixture) => Promise<void>) => cases.push({ id, name, run: withStore(makeStore, body) });

  // --- users and keys -------------------------------------------------------------

  add("users-lookup", "users: create and look up by id, GitHub id and username", async ({ store, clock }) => {
    const alice = await store.users.create({ username: "alice", github_id: 101 });
    assert.ok(isId("user", alice.user_id), `user id ${alice.user_id} has the usr_ prefix`);
    assert.equal(alice.created_at, clock.now().toISOString());
    assert.deepEqual(await store.users.get(alice.user_id), alice);
    assert.deepEqual(await store.users.getByGithubId(101), alice);
    assert.deepEqual(await store.users.getByUsername("alice"), alice);
    const local = await store.users.create({ username: "local" });
    assert.equal(local.github_id, null);
    assert.equal(await store.users.get("usr_missing"), undefined);
    assert.equal(await store.users.getByGithubId(999), undefined);
    assert.equal(await store.users.getByUsername("nobody"), undefined);
  });

  add("users-unique", "users: username and GitHub id are unique", async ({ store }) => {
    await store.users.create({ username: "alice", github_id: 101 });
    await rejectsWith(store.users.create({ username: "alice", github_id: 102 }), "user_exists", "same username");
    await rejectsWith(store.users.create({ username: "alice2", github_id: 101 }), "user_exists", "same GitHub id");
    // Local users have no GitHub id; two of them must not clash on null.
    await store.users.create({ username: "local1" });
    await store.users.create({ username: "local2" });
  });

  add("ssh-keys-idempotent", "users: addKey is idempotent per fingerprint and reports whether the key is new", async ({ store, clock, user }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const key = { public_key: "ssh-ed25519 AAAAC3Nza alice@laptop", fingerprint: "SHA256:aaa" };
    const first = await store.users.addKey(alice, key);
    assert.equal(first.added, true);
    assert.deepEqual(first.key, { user_id: alice, ...key, added_at: clock.now().toISOString() });
    clock.advance(1000);
    const again = await store.users.addKey(alice, key);
    assert.equal(again.added, false);
    assert.equal(again.key.added_at, first.key.added_at, "the original key is kept");
    const second = await store.users.addKey(alice, { public_key: "ssh-ed25519 AAAAother", fingerprint: "SHA256:bbb" });
    assert.equal(second.added, true);
    assert.deepEqual((await store.users.listKeys(alice)).map((k) => k.fingerprint), ["SHA256:aaa", "SHA256:bbb"]);
    assert.equal((await store.users.addKey(bob, key)).added, true, "another user may register the same key");
    assert.deepEqual(await store.users.listKeys("usr_missing"), []);
    await rejectsWith(store.users.addKey("usr_missing", key), "user_not_found", "key for an unknown user");
  });

  // --- tokens ---------------------------------------------------------------------

  add("token-hash", "tokens: hashToken is sha256 hex", async () => {
    assert.equal(hashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert.notEqual(hashToken("nxs_a"), hashToken("nxs_b"));
  });

  add("tokens-revoke", "tokens: create, find by hash, revoke, list for user", async ({ store, user, node }) => {
    const alice = await user("alice");
    const nodeId = await node("n1");
    const api = await store.tokens.create({ hash: hashToken("nxs_alice"), kind: "api", user_id: alice });
    assert.deepEqual(api, {
      hash: hashToken("nxs_alice"), kind: "api", user_id: alice, node_id: null,
      created_at: api.created_at, expires_at: null, revoked_at: null,
    });
    const nodeToken = await store.tokens.create({ hash: hashToken("nxn_n1"), kind: "node", node_id: nodeId });
    assert.equal(nodeToken.node_id, nodeId);
    assert.deepEqual(await store.tokens.findByHash(hashToken("nxs_alice")), api);
    assert.equal(await store.tokens.findByHash(hashToken("nxs_unknown")), undefined);

    assert.equal(await store.tokens.revoke(api.hash), true);
    assert.equal(await store.tokens.findByHash(api.hash), undefined, "a revoked token is not found");
    assert.equal(await store.tokens.revoke(api.hash), false, "revoking twice");
    assert.equal(await store.tokens.revoke(hashToken("nxs_unknown")), false);
    assert.ok(await store.tokens.findByHash(nodeToken.hash), "other tokens are unaffected");

    await store.tokens.create({ hash: hashToken("nxs_alice_2"), kind: "api", user_id: alice });
    const listed = await store.tokens.listForUser(alice);
    assert.deepEqual(listed.map((t) => t.hash), [hashToken("nxs_alice"), hashToken("nxs_alice_2")]);
    assert.ok(listed[0]!.revoked_at, "the revoked token is listed with revoked_at");
  });

  add("tokens-expiry", "tokens: expiry follows the store's clock", async ({ store, clock }) => {
    const expires_at = new Date(clock.now().getTime() + 60_000).toISOString();
    const join = await store.tokens.create({ hash: hashToken("nxj_join"), kind: "join", expires_at });
    assert.equal(join.expires_at, expires_at);
    clock.advance(59_999);
    assert.ok(await store.tokens.findByHash(join.hash), "not yet expired");
    clock.advance(1);
    assert.equal(await store.tokens.findByHash(join.hash), undefined, "expired at expires_at");
  });

  add("tokens-integrity", "tokens: duplicate hash and unknown owners are rejected", async ({ store, user }) => {
    const alice = await user("alice");
    await store.tokens.create({ hash: hashToken("x"), kind: "api", user_id: alice });
    await rejectsWith(store.tokens.create({ hash: hashToken("x"), kind: "api", user_id: alice }), "invalid_request", "duplicate hash");
    await rejectsWith(store.tokens.create({ hash: hashToken("y"), kind: "api", user_id: "usr_missing" }), "user_not_found", "unknown user");
    await rejectsWith(store.tokens.create({ hash: hashToken("z"), kind: "node", node_id: "node_missing" }), "not_found", "unknown node");
  });

  // --- workspaces -----------------------------------------------------------------

  add("workspace-round-trip", "workspaces: create fills defaults and every field round-trips", async ({ store, clock, user, node }) => {
    const alice = await user("alice");
    const nodeId = await node("n1");
    const minimal = await store.workspaces.create({ workspace_name: "web", owner_id: alice, provider: "lxc", repo: repo("web") });
    assert.equal(minimal.created, true);
    const w = minimal.workspace;
    assert.ok(isId("workspace", w.workspace_id), `workspace id ${w.workspace_id} has the ws_ prefix`);
    assert.deepEqual(w, {
      workspace_id: w.workspace_id, workspace_name: "web", owner_id: alice, status: "pending", health: "unknown",
      provider: "lxc", image: null, node_id: null, ssh_port: null, host_key: null, repo: repo("web"), config: {},
      error: null, handle: null, idempotency_key: null,
      created_at: clock.now().toISOString(), updated_at: clock.now().toISOString(),
    });
    assert.deepEqual(await store.workspaces.get(w.workspace_id), w);
    assert.deepEqual(await store.workspaces.getByName(alice, "web"), w);

    const full = (await store.workspaces.create({
      workspace_name: "api", owner_id: alice, provider: "docker", image: "nexus/base:1", node_id: nodeId, ssh_port: 2222,
      host_key: "ssh-ed25519 AAAAhost", status: "creating", health: "healthy",
      repo: { owner: "me", name: "api", branch: "feature/x", url: "https://github.com/me/api.git", commit: "abc123", upstream: "https://github.com/acme/api.git", is_fork: true },
      config: { services: { db: { port: 5432, nested: [1, "two", null] } } },
      error: { code: "clone_failed", message: "boom", phase: "repo_cloned" },
      handle: { provider: "docker", id: "c0ffee", workspaceId: "ws_x", labels: { "nexus.workspace": "ws_x" }, hostKey: "ssh-ed25519 AAAAhost", sshPort: 2222 },
      idempotency_key: "key-1",
    })).workspace;
    const read = await store.workspaces.get(full.workspace_id);
    assert.deepEqual(read, full);
    assert.equal(read!.repo.upstream, "https://github.com/acme/api.git");
    assert.deepEqual(read!.handle?.labels, { "nexus.workspace": "ws_x" });
    assert.equal(await store.workspaces.get("ws_missing"), undefined);
    assert.equal(await store.workspaces.getByName(alice, "nope"), undefined);
    await rejectsWith(store.workspaces.create({ workspace_name: "x", owner_id: "usr_missing", provider: "lxc", repo: repo("x") }), "user_not_found", "unknown owner");
  });

  add("workspace-copies", "workspaces: returned records are copies", async ({ store, user, workspace }) => {
    const alice = await user("alice");
    const w = await workspace(alice, "web", { config: { a: 1 } });
    w.config.a = 2;
    w.repo.branch = "mutated";
    const again = await store.workspaces.get(w.workspace_id);
    again!.status = "running";
    assert.deepEqual((await store.workspaces.get(w.workspace_id))!.config, { a: 1 });
    assert.equal((await store.workspaces.get(w.workspace_id))!.repo.branch, "main");
    assert.equal((await store.workspaces.get(w.workspace_id))!.status, "pending");
  });

  add("workspace-name-unique-per-owner", "workspaces: names are unique per owner; other owners may share a name", async ({ store, user, workspace }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const a = await workspace(alice, "web");
    await rejectsWith(workspace(alice, "web"), "workspace_exists", "same owner, same name");
    const b = await workspace(bob, "web");
    assert.notEqual(a.workspace_id, b.workspace_id);
    assert.equal((await store.workspaces.getByName(bob, "web"))!.workspace_id, b.workspace_id);
    assert.equal((await store.workspaces.getByName(alice, "web"))!.workspace_id, a.workspace_id);
  });

  add("workspace-deleted-frees-name", "workspaces: a deleted workspace frees its name", async ({ store, user, workspace }) => {
    const alice = await user("alice");
    const first = await workspace(alice, "web");
    await store.workspaces.update(first.workspace_id, { status: "deleted" });
    assert.equal(await store.workspaces.getByName(alice, "web"), undefined, "getByName skips deleted workspaces");
    const second = await workspace(alice, "web");
    assert.notEqual(second.workspace_id, first.workspace_id);
    await rejectsWith(store.workspaces.update(first.workspace_id, { status: "error" }), "workspace_exists", "reviving a deleted one whose name was taken");
    assert.equal(await store.workspaces.delete(second.workspace_id), true);
    const third = await workspace(alice, "web");
    assert.equal((await store.workspaces.getByName(alice, "web"))!.workspace_id, third.workspace_id);
  });

  add("workspace-idempotency-key", "workspaces: an idempotency key returns the first workspace, per owner", async ({ store, user, workspace }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const first = await workspace(alice, "web", { idempotency_key: "k1" });
    const retry = await store.workspaces.create({ workspace_name: "web", owner_id: alice, provider: "fake", repo: repo("web"), idempotency_key: "k1" });
    assert.equal(retry.created, false);
    assert.deepEqual(retry.workspace, first);
    const otherName = await store.workspaces.create({ workspace_name: "other", owner_id: alice, provider: "fake", repo: repo("other"), idempotency_key: "k1" });
    assert.equal(otherName.created, false, "the key wins over the body");
    assert.equal(otherName.workspace.workspace_id, first.workspace_id);
    const bobs = await store.workspaces.create({ workspace_name: "web", owner_id: bob, provider: "fake", repo: repo("web"), idempotency_key: "k1" });
    assert.equal(bobs.created, true, "keys are scoped to their owner");
    assert.equal((await store.workspaces.list(alice)).total, 1);
  });

  add("workspace-list-pagination", "workspaces: list paginates with totals, filters by status, oldest first, owner only", async ({ store, clock, user, workspace }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push((await workspace(alice, `ws-${i}`)).workspace_id);
      clock.advance(1);
    }
    await workspace(bob, "bobs");
    await store.workspaces.update(ids[1]!, { status: "running" });
    await store.workspaces.update(ids[4]!, { status: "running" });
    await store.workspaces.update(ids[6]!, { status: "deleted" });

    const page1 = await store.workspaces.list(alice, { limit: 2, offset: 0 });
    assert.equal(page1.total, 6, "deleted workspaces are not listed by default");
    assert.deepEqual(page1.items.map((w) => w.workspace_id), ids.slice(0, 2));
    const page3 = await store.workspaces.list(alice, { limit: 2, offset: 4 });
    assert.equal(page3.total, 6);
    assert.deepEqual(page3.items.map((w) => w.workspace_id), ids.slice(4, 6));
    const beyond = await store.workspaces.list(alice, { limit: 2, offset: 10 });
    assert.deepEqual(beyond, { items: [], total: 6 });
    assert.equal((await store.workspaces.list(alice)).items.length, 6, "default limit covers them");

    const running = await store.workspaces.list(alice, { status: "running" });
    assert.equal(running.total, 2);
    assert.deepEqual(running.items.map((w) => w.workspace_id), [ids[1], ids[4]]);
    const several = await store.workspaces.list(alice, { status: ["running", "deleted"], limit: 1 });
    assert.equal(several.total, 3);
    assert.deepEqual(several.items.map((w) => w.workspace_id), [ids[1]]);
    assert.equal((await store.workspaces.list(alice, { status: "deleted" })).total, 1);
    assert.deepEqual(await store.workspaces.list("usr_nobody"), { items: [], total: 0 });
    assert.deepEqual(await store.workspaces.list(alice, { limit: 0 }), { items: [], total: 6 }, "limit 0 counts only");
    await rejectsWith(store.workspaces.list(alice, { limit: -1 }), "invalid_request", "negative limit");
    await rejectsWith(store.workspaces.list(alice, { offset: 1.5 }), "invalid_request", "fractional offset");
  });

  add("workspace-list-by-node", "workspaces: listByNode and listAll", async ({ store, user, node, workspace }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const n1 = await node("n1");
    const n2 = await node("n2");
    const a = await workspace(alice, "a", { node_id: n1 });
    const b = await workspace(bob, "b", { node_id: n2 });
    const c = await workspace(bob, "c");
    await store.workspaces.update(c.workspace_id, { node_id: n1, status: "deleted" });
    assert.deepEqual((await store.workspaces.listByNode(n1)).map((w) => w.workspace_id), [a.workspace_id, c.workspace_id]);
    assert.deepEqual((await store.workspaces.listByNode(n2)).map((w) => w.workspace_id), [b.workspace_id]);
    assert.deepEqual((await store.workspaces.listAll()).map((w) => w.workspace_id), [a.workspace_id, b.workspace_id]);
    assert.deepEqual((await store.workspaces.listAll({ status: "deleted" })).map((w) => w.workspace_id), [c.workspace_id]);
    assert.deepEqual((await store.workspaces.listAll({ status: ["pending", "deleted"] })).length, 3);
    await rejectsWith(store.workspaces.update(a.workspace_id, { node_id: "node_missing" }), "not_found", "unknown node in a patch");
  });

  add("workspace-update-cas", "workspaces: update patches only given fields and compare-and-sets on status", async ({ store, clock, user, workspace }) => {
    const alice = await user("alice");
    const w = await workspace(alice, "web", { config: { keep: true } });
    clock.advance(5000);
    const running = await store.workspaces.update(
      w.workspace_id,
      { status: "creating", ssh_port: 2230, host_key: "ssh-ed25519 AAAA", repo: { ...w.repo, commit: "deadbeef" } },
      { expectStatus: "pending" },
    );
    assert.equal(running.status, "creating");
    assert.equal(running.ssh_port, 2230);
    assert.equal(running.repo.commit, "deadbeef");
    assert.deepEqual(running.config, { keep: true }, "fields not in the patch are kept");
    assert.equal(running.created_at, w.created_at);
    assert.equal(running.updated_at, clock.now().toISOString());
    assert.deepEqual(await store.workspaces.get(w.workspace_id), running);

    await rejectsWith(store.workspaces.update(w.workspace_id, { status: "running" }, { expectStatus: "pending" }), "invalid_transition", "CAS mismatch");
    assert.equal((await store.workspaces.get(w.workspace_id))!.status, "creating", "a failed CAS changes nothing");
    const ok = await store.workspaces.update(w.workspace_id, { status: "error", error: { code: "timeout", message: "ssh", phase: "ssh_ready" } }, { expectStatus: ["pending", "creating"] });
    assert.deepEqual(ok.error, { code: "timeout", message: "ssh", phase: "ssh_ready" });
    const cleared = await store.workspaces.update(w.workspace_id, { error: null, handle: null });
    assert.equal(cleared.error, null);
    await rejectsWith(store.workspaces.update("ws_missing", { status: "running" }), "workspace_not_found", "unknown workspace");
  });

  add("workspace-concurrent-cas", "workspaces: concurrent compare-and-set lets exactly one writer win", async ({ store, user, workspace }) => {
    const alice = await user("alice");
    const w = await workspace(alice, "web", { status: "running" });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, () => store.workspaces.update(w.workspace_id, { status: "stopping" }, { expectStatus: "running" })),
    );
    assert.equal(outcomes.filter((o) => o.status === "fulfilled").length, 1);
    for (const o of outcomes) if (o.status === "rejected") assert.equal((o.reason as { code: string }).code, "invalid_transition");
  });

  add("workspace-delete-cascades", "workspaces: delete removes the row with its phases, services and ports", async ({ store, user, node, workspace }) => {
    const alice = await user("alice");
    const n1 = await node("n1", [3000, 3000]);
    const w = await workspace(alice, "web", { node_id: n1 });
    await store.phases.record(w.workspace_id, { name: "scheduled", started_at: "2030-01-01T00:00:00.000Z", duration_ms: 3 });
    await store.services.upsert(w.workspace_id, { name: "web", status: "running" });
    assert.equal(await store.ports.allocateSsh(n1, w.workspace_id, [3000, 3000]), 3000);
    assert.equal(await store.ports.allocateLocal(alice, w.workspace_id, "web"), LOCAL_PORT_BASE);

    assert.equal(await store.workspaces.delete(w.workspace_id), true);
    assert.equal(await store.workspaces.get(w.workspace_id), undefined);
    assert.deepEqual(await store.phases.list(w.workspace_id), []);
    assert.deepEqual(await store.services.list(w.workspace_id), []);
    assert.equal(await store.workspaces.delete(w.workspace_id), false, "deleting again");
    const next = await workspace(alice, "next", { node_id: n1 });
    assert.equal(await store.ports.allocateSsh(n1, next.workspace_id, [3000, 3000]), 3000, "its SSH port is free again");
    assert.equal(await store.ports.allocateLocal(alice, next.workspace_id, "web"), LOCAL_PORT_BASE, "its local port is free again");
  });

  // --- phases and services --------------------------------------------------------

  add("phases", "phases: record, list in start order, replace by name, clear", async ({ store, user, workspace }) => {
    const alice = await user("alice");
    const w = await workspace(alice, "web");
    await store.phases.record(w.workspace_id, { name: "ssh_ready", started_at: "2030-01-01T00:00:02.000Z", duration_ms: 900 });
    await store.phases.record(w.workspace_id, { name: "scheduled", started_at: "2030-01-01T00:00:00.000Z", duration_ms: 5 });
    await store.phases.record(w.workspace_id, { name: "container_created", started_at: "2030-01-01T00:00:00.005Z", duration_ms: 1995 });
    assert.deepEqual((await store.phases.list(w.workspace_id)).map((p) => p.name), ["scheduled", "container_created", "ssh_ready"]);
    await store.phases.record(w.workspace_id, { name: "ssh_ready", started_at: "2030-01-01T00:00:02.000Z", duration_ms: 700 });
    const phases = await store.phases.list(w.workspace_id);
    assert.equal(phases.length, 3, "recording a phase again replaces it");
    assert.deepEqual(phases[2], { name: "ssh_ready", started_at: "2030-01-01T00:00:02.000Z", duration_ms: 700 });
    await store.phases.clear(w.workspace_id);
    assert.deepEqual(await store.phases.list(w.workspace_id), []);
    await rejectsWith(store.phases.record("ws_missing", { name: "scheduled", started_at: "2030-01-01T00:00:00.000Z", duration_ms: 1 }), "workspace_not_found", "unknown workspace");
  });

  add("services-upsert", "services: upsert fills defaults, merges partial updates, lists in first-seen order", async ({ store, clock, user, workspace }) => {
    const alice = await user("alice");
    const w = await workspace(alice, "web");
    const db = await store.services.upsert(w.workspace_id, { name: "db", port: 5432 });
    assert.deepEqual(db, {
      workspace_id: w.workspace_id, name: "db", status: "pending", health: "unknown", port: 5432, local_port: null,
      depends_on: [], last_check: null, last_error: null, updated_at: clock.now().toISOString(),
    });
    await store.services.upsert(w.workspace_id, { name: "web", depends_on: ["db"], port: 3000, local_port: 23000 });
    clock.advance(10);
    const healthy = await store.services.upsert(w.workspace_id, { name: "db", status: "running", health: "healthy", last_check: clock.now().toISOString() });
    assert.equal(healthy.port, 5432, "unspecified fields are kept");
    assert.equal(healthy.health, "healthy");
    assert.equal(healthy.last_check, clock.now().toISOString());
    const failing = await store.services.upsert(w.workspace_id, { name: "db", health: "unhealthy", last_error: "connection refused" });
    assert.equal(failing.last_error, "connection refused");
    const list = await store.services.list(w.workspace_id);
    assert.deepEqual(list.map((s) => s.name), ["db", "web"]);
    assert.deepEqual(list[1]!.depends_on, ["db"]);
    assert.equal(list[1]!.local_port, 23000);
    assert.equal(list[0]!.status, "running");
    await rejectsWith(store.services.upsert("ws_missing", { name: "x" }), "workspace_not_found", "unknown workspace");
  });

  // --- nodes ----------------------------------------------------------------------

  add("nodes-register", "nodes: register gives a node_ id; the same name gets the same id back", async ({ store, clock }) => {
    const first = await store.nodes.register({
      name: "n1", providers: ["lxc"], ssh_host: "10.0.0.1", ssh_port_range: [2222, 2299], capacity: { max_workspaces: 20 }, labels: { zone: "a" },
    });
    assert.ok(isId("node", first.node_id), `node id ${first.node_id} has the node_ prefix`);
    assert.deepEqual(first, {
      node_id: first.node_id, name: "n1", providers: ["lxc"], ssh_host: "10.0.0.1", ssh_port_range: [2222, 2299],
      capacity: { max_workspaces: 20 }, labels: { zone: "a" }, status: "online", last_heartbeat: clock.now().toISOString(),
      info: {}, registered_at: clock.now().toISOString(), updated_at: clock.now().toISOString(),
    });
    assert.deepEqual(await store.nodes.get(first.node_id), first);
    await store.nodes.setStatus(first.node_id, "offline");
    await store.nodes.heartbeat(first.node_id, { status: "offline", info: { version: "1.0.0" } });
    clock.advance(1000);
    const again = await store.nodes.register({
      name: "n1", providers: ["lxc", "docker"], ssh_host: "10.0.0.2", ssh_port_range: [3000, 3010], capacity: { max_workspaces: 5, cpu: 2 },
    });
    assert.equal(again.node_id, first.node_id);
    assert.deepEqual(again.providers, ["lxc", "docker"]);
    assert.deepEqual(again.ssh_port_range, [3000, 3010]);
    assert.deepEqual(again.labels, {});
    assert.equal(again.status, "online", "registering brings it back online");
    assert.equal(again.registered_at, first.registered_at);
    assert.deepEqual(again.capacity, { max_workspaces: 5, cpu: 2 });
    assert.deepEqual(again.info, { version: "1.0.0" }, "info is kept unless the registration sends it");
    const replaced = await store.nodes.register({
      name: "n1", providers: ["lxc"], ssh_host: "10.0.0.2", ssh_port_range: [3000, 3010], capacity: { max_workspaces: 5 }, info: { version: "1.1.0" },
    });
    assert.deepEqual(replaced.info, { version: "1.1.0" });
    const other = await store.nodes.register({ name: "a-node", providers: ["docker"], ssh_host: "h", ssh_port_range: [1, 2], capacity: { max_workspaces: 1 } });
    assert.deepEqual((await store.nodes.list()).map((n) => n.node_id), [other.node_id, first.node_id], "listed by name");
    assert.equal(await store.nodes.get("node_missing"), undefined);
    await rejectsWith(
      store.nodes.register({ name: "bad", providers: [], ssh_host: "h", ssh_port_range: [2299, 2222], capacity: { max_workspaces: 1 } }),
      "invalid_request",
      "inverted port range",
    );
  });

  add("nodes-heartbeat", "nodes: heartbeat and setStatus", async ({ store, clock, node }) => {
    const id = await node("n1");
    await store.nodes.setStatus(id, "offline");
    clock.advance(10_000);
    const beat = await store.nodes.heartbeat(id, { info: { workspaces: 3, providers: { lxc: { ok: true } } } });
    assert.equal(beat.status, "online");
    assert.equal(beat.last_heartbeat, clock.now().toISOString());
    assert.deepEqual(beat.info, { workspaces: 3, providers: { lxc: { ok: true } } });
    const explicit = await store.nodes.heartbeat(id, { at: "2030-01-01T00:00:05Z", status: "offline" });
    assert.equal(explicit.last_heartbeat, "2030-01-01T00:00:05.000Z", "timestamps are normalised");
    assert.equal(explicit.status, "offline", "an explicit status wins");
    assert.deepEqual(explicit.info, { workspaces: 3, providers: { lxc: { ok: true } } }, "info is kept when not sent");
    assert.equal((await store.nodes.heartbeat(id)).status, "online");
    assert.equal((await store.nodes.setStatus(id, "offline")).status, "offline");
    assert.equal((await store.nodes.get(id))!.status, "offline");
    await rejectsWith(store.nodes.heartbeat("node_missing"), "not_found", "heartbeat of an unknown node");
    await rejectsWith(store.nodes.setStatus("node_missing", "online"), "not_found", "status of an unknown node");
  });

  // --- commands -------------------------------------------------------------------

  add("commands-claim", "commands: enqueue then claim delivers once within the window, oldest first, up to the limit", async ({ store, clock, node }) => {
    const n1 = await node("n1");
    const n2 = await node("n2");
    const a = await store.commands.enqueue({ node_id: n1, workspace_id: "ws_any", type: "provision", payload: { image: "base" } });
    assert.ok(isId("command", a.command_id), `command id ${a.command_id} has the cmd_ prefix`);
    assert.deepEqual(a, {
      command_id: a.command_id, node_id: n1, workspace_id: "ws_any", type: "provision", payload: { image: "base" }, status: "queued",
      attempts: 0, created_at: clock.now().toISOString(), delivered_at: null, completed_at: null, result: null, error: null,
    });
    clock.advance(1);
    const b = await store.commands.enqueue({ node_id: n1, type: "reconcile" });
    clock.advance(1);
    const c = await store.commands.enqueue({ node_id: n1, type: "stop" });
    await store.commands.enqueue({ node_id: n2, type: "stop" });

    const first = await store.commands.claim(n1, { limit: 2, redeliverAfterMs: 30_000 });
    assert.deepEqual(first.map((x) => x.command_id), [a.command_id, b.command_id]);
    assert.equal(first[0]!.status, "delivered");
    assert.equal(first[0]!.attempts, 1);
    assert.equal(first[0]!.delivered_at, clock.now().toISOString());
    assert.equal(first[1]!.workspace_id, null);
    assert.deepEqual(first[1]!.payload, {});
    const second = await store.commands.claim(n1, { limit: 10, redeliverAfterMs: 30_000 });
    assert.deepEqual(second.map((x) => x.command_id), [c.command_id], "delivered commands are not handed out again inside the window");
    assert.deepEqual(await store.commands.claim(n1, { limit: 10, redeliverAfterMs: 30_000 }), []);
    assert.deepEqual((await store.commands.listPending(n1)).map((x) => x.command_id), [a.command_id, b.command_id, c.command_id]);
    assert.equal((await store.commands.listPending(n2)).length, 1, "other nodes' commands are separate");
    await rejectsWith(store.commands.enqueue({ node_id: "node_missing", type: "stop" }), "not_found", "unknown node");
  });

  add("commands-redelivery", "commands: unacknowledged commands are redelivered after the timeout, with the same id", async ({ store, clock, node }) => {
    const n1 = await node("n1");
    const cmd = await store.commands.enqueue({ node_id: n1, type: "provision" });
    const [delivered] = await store.commands.claim(n1, { limit: 10, redeliverAfterMs: 30_000 });
    assert.equal(delivered!.command_id, cmd.command_id);
    clock.advance(29_999);
    assert.deepEqual(await store.commands.claim(n1, { limit: 10, redeliverAfterMs: 30_000 }), [], "not yet due");
    clock.advance(1);
    const again = await store.commands.claim(n1, { limit: 10, redeliverAfterMs: 30_000 });
    assert.equal(again.length, 1);
    assert.equal(again[0]!.command_id, cmd.command_id, "same id, so the agent can de-duplicate");
    assert.equal(again[0]!.attempts, 2);
    assert.equal(again[0]!.delivered_at, clock.now().toISOString());

    // The agent finished it the first time and reports twice: the first outcome stands.
    const done = await store.commands.complete(n1, cmd.command_id, { ok: true, result: { host_key: "k" } });
    assert.equal(done.status, "succeeded");
    assert.deepEqual(done.result, { host_key: "k" });
    assert.equal(done.completed_at, clock.now().toISOString());
    clock.advance(5);
    const dup = await store.commands.complete(n1, cmd.command_id, { ok: false, error: { code: "internal_error", message: "late" } });
    assert.deepEqual(dup, done, "a duplicate result changes nothing");
    clock.advance(60_000);
    assert.deepEqual(await store.commands.claim(n1, { limit: 10, redeliverAfterMs: 30_000 }), [], "completed commands are never redelivered");
    assert.deepEqual(await store.commands.listPending(n1), []);
    assert.deepEqual(await store.commands.get(cmd.command_id), done);
  });

  add("commands-ownership", "commands: failures are recorded; a node cannot complete another node's command", async ({ store, node }) => {
    const n1 = await node("n1");
    const n2 = await node("n2");
    const cmd = await store.commands.enqueue({ node_id: n1, type: "provision" });
    await store.commands.claim(n1, { limit: 1, redeliverAfterMs: 1000 });
    await rejectsWith(store.commands.complete(n2, cmd.command_id, { ok: true }), "forbidden", "another node's command");
    assert.equal((await store.commands.get(cmd.command_id))!.status, "delivered", "unchanged after the forbidden attempt");
    await rejectsWith(store.commands.complete(n1, "cmd_missing", { ok: true }), "not_found", "unknown command");
    const failed = await store.commands.complete(n1, cmd.command_id, { ok: false, error: { code: "provision_failed", message: "no image", details: { image: "x" }, phase: "container_created" } });
    assert.equal(failed.status, "failed");
    assert.deepEqual(failed.error, { code: "provision_failed", message: "no image", details: { image: "x" }, phase: "container_created" });
    assert.equal(failed.result, null);
    assert.equal(await store.commands.get("cmd_missing"), undefined);
  });

  add("commands-secrets", "commands: secrets reach the claimer but are not kept after completion", async ({ store, clock, node }) => {
    const n1 = await node("n1");
    const cmd = await store.commands.enqueue({ node_id: n1, type: "provision", payload: { repo: "r" }, secrets: { clone_token: "ghp_secret" } });
    assert.deepEqual(cmd.secrets, { clone_token: "ghp_secret" });
    const [claimed] = await store.commands.claim(n1, { limit: 1, redeliverAfterMs: 10 });
    assert.deepEqual(claimed!.secrets, { clone_token: "ghp_secret" });
    assert.deepEqual(claimed!.payload, { repo: "r" }, "secrets are not mixed into the payload");
    clock.advance(10);
    const [redelivered] = await store.commands.claim(n1, { limit: 1, redeliverAfterMs: 10 });
    assert.deepEqual(redelivered!.secrets, { clone_token: "ghp_secret" }, "redelivery carries them too");
    const done = await store.commands.complete(n1, cmd.command_id, { ok: true });
    assert.equal(done.secrets, undefined);
    assert.equal((await store.commands.get(cmd.command_id))!.secrets, undefined);
  });

  // --- ports ----------------------------------------------------------------------

  add("ssh-ports-concurrent", "ports: 50 concurrent SSH allocations on one node get 50 distinct ports, then the pool is exhausted", async ({ store, user, node, workspace }) => {
    const alice = await user("alice");
    const range: [number, number] = [2222, 2271];
    const n1 = await node("n1", range);
    const workspaces = [];
    for (let i = 0; i < 51; i++) workspaces.push(await workspace(alice, `ws-${i}`, { node_id: n1 }));
    const ports = await Promise.all(workspaces.slice(0, 50).map((w) => store.ports.allocateSsh(n1, w.workspace_id, range)));
    assert.equal(new Set(ports).size, 50, "no port handed out twice");
    assert.deepEqual([...ports].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => 2222 + i), "the whole range is used");
    await rejectsWith(store.ports.allocateSsh(n1, workspaces[50]!.workspace_id, range), "port_pool_exhausted", "51st allocation");
  });

  add("ssh-ports-release", "ports: SSH ports are per node, stable per workspace, and reused after release", async ({ store, user, node, workspace }) => {
    const alice = await user("alice");
    const n1 = await node("n1");
    const n2 = await node("n2");
    const range: [number, number] = [2222, 2224];
    const a = await workspace(alice, "a");
    const b = await workspace(alice, "b");
    const c = await workspace(alice, "c");
    assert.equal(await store.ports.allocateSsh(n1, a.workspace_id, range), 2222);
    assert.equal(await store.ports.allocateSsh(n1, a.workspace_id, range), 2222, "asking again returns the same port");
    assert.equal(await store.ports.allocateSsh(n1, b.workspace_id, range), 2223);
    assert.equal(await store.ports.allocateSsh(n2, c.workspace_id, range), 2222, "another node has its own pool");
    await store.ports.releaseSsh(a.workspace_id);
    await store.ports.releaseSsh(a.workspace_id);
    assert.equal(await store.ports.allocateSsh(n1, c.workspace_id, range), 2222, "moving to n1 takes the lowest free port");
    assert.equal(await store.ports.allocateSsh(n2, a.workspace_id, range), 2222, "c's old port on n2 was released by the move");
    await rejectsWith(store.ports.allocateSsh(n1, "ws_missing", range), "workspace_not_found", "unknown workspace");
    await rejectsWith(store.ports.allocateSsh("node_missing", a.workspace_id, range), "not_found", "unknown node");
    await rejectsWith(store.ports.allocateSsh(n1, a.workspace_id, [0, 10]), "invalid_request", "invalid range");
  });

  add("local-ports", "ports: local ports start at 23000, are per user, stable per (workspace, service), and reused after release", async ({ store, user, workspace }) => {
    const alice = await user("alice");
    const bob = await user("bob");
    const a1 = await workspace(alice, "a1");
    const a2 = await workspace(alice, "a2");
    const b1 = await workspace(bob, "b1");
    assert.equal(await store.ports.allocateLocal(alice, a1.workspace_id, "web"), LOCAL_PORT_BASE);
    assert.equal(await store.ports.allocateLocal(alice, a1.workspace_id, "db"), LOCAL_PORT_BASE + 1);
    assert.equal(await store.ports.allocateLocal(alice, a1.workspace_id, "web"), LOCAL_PORT_BASE, "stable");
    assert.equal(await store.ports.allocateLocal(alice, a2.workspace_id, "web"), LOCAL_PORT_BASE + 2, "unique across the user's workspaces");
    assert.equal(await store.ports.allocateLocal(bob, b1.workspace_id, "web"), LOCAL_PORT_BASE, "each user has their own range");
    await store.ports.releaseLocal(a1.workspace_id);
    assert.equal(await store.ports.allocateLocal(alice, a2.workspace_id, "db"), LOCAL_PORT_BASE, "released ports are reused");
    assert.equal(await store.ports.allocateLocal(alice, a2.workspace_id, "web"), LOCAL_PORT_BASE + 2, "others keep theirs");
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => store.ports.allocateLocal(bob, b1.workspace_id, `svc-${i}`)));
    assert.equal(new Set([...many, LOCAL_PORT_BASE]).size, 21, "concurrent local allocations are distinct");
    await rejectsWith(store.ports.allocateLocal("usr_missing", a1.workspace_id, "web"), "user_not_found", "unknown user");
    await rejectsWith(store.ports.allocateLocal(alice, "ws_missing", "web"), "workspace_not_found", "unknown workspace");
  });

  return cases;
}

/** Runs every case as a subtest: `runStoreConformance(t, ({ now }) => new MemoryStore({ now }))`. */
export async function runStoreConformance(t: SubtestRunner, makeStore: StoreFactory): Promise<void> {
  for (const c of storeConformanceCases(makeStore)) {
    await t.test(c.name, async (st) => {
      await c.run();
      // The node:assert checks inside run() are invisible to the runner; count the case.
      st.pass(c.name);
    });
  }
}
