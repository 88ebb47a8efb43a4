// What only the SQLite store has: a file, migrations, several connections.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Worker } from "node:worker_threads";
import t from "tap";
import { hashToken, isNexusError } from "@nexus/core";
import { MIGRATIONS, openSqliteStore, runMigrations, type SqliteStore } from "../../src/store/index.js";

const repo = { owner: "acme", name: "web", branch: "main", url: "https://github.com/acme/web.git", is_fork: false };

async function seed(store: SqliteStore) {
  const user = await store.users.create({ username: "alice", github_id: 7 });
  const node = await store.nodes.register({ name: "n1", providers: ["lxc"], ssh_host: "10.0.0.1", ssh_port_range: [2222, 2299], capacity: { max_workspaces: 10 } });
  const { workspace } = await store.workspaces.create({ workspace_name: "web", owner_id: user.user_id, provider: "lxc", repo, node_id: node.node_id, config: { a: [1, 2] } });
  return { user, node, workspace };
}

function fileBytes(file: string): string {
  return [file, `${file}-wal`, `${file}-shm`].filter(existsSync).map((f) => readFileSync(f).toString("latin1")).join("");
}

t.test("migrations run once, are recorded in schema_version, and only pending ones apply", async (t) => {
  const file = join(t.testdir(), "nexus.db");
  (await openSqliteStore({ file }).close());
  const store = openSqliteStore({ file });
  const rows = store.db.prepare("SELECT version, name FROM schema_version ORDER BY version").all();
  t.same(rows.map((r) => ({ ...r })), MIGRATIONS.map((m) => ({ version: m.version, name: m.name })), "each migration recorded once");
  t.same(runMigrations(store.db), [], "running them again applies nothing");
  const extra = { version: MIGRATIONS.at(-1)!.version + 1, name: "add-notes", sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL) STRICT;" };
  t.same(runMigrations(store.db, [...MIGRATIONS, extra]), [extra.version], "only the new one is applied");
  t.same(runMigrations(store.db, [...MIGRATIONS, extra]), []);
  t.equal((store.db.prepare("SELECT COUNT(*) AS n FROM schema_version").get() as { n: number }).n, MIGRATIONS.length + 1);
  await store.close();
});

t.test("a failing migration is rolled back entirely", async (t) => {
  const db = new DatabaseSync(":memory:");
  runMigrations(db);
  const broken = { version: 99, name: "broken", sql: "CREATE TABLE half (id INTEGER); INSERT INTO no_such_table VALUES (1);" };
  t.throws(() => runMigrations(db, [...MIGRATIONS, broken]));
  t.notOk(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'half'").get(), "its first statement was undone");
  t.notOk(db.prepare("SELECT 1 FROM schema_version WHERE version = 99").get(), "not recorded");
  db.close();
});

t.test("a database from a newer server is refused", async (t) => {
  const file = join(t.testdir(), "nexus.db");
  await openSqliteStore({ file }).close();
  const db = new DatabaseSync(file);
  db.prepare("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)").run(1000, "future", new Date().toISOString());
  db.close();
  let error: unknown;
  try {
    openSqliteStore({ file });
  } catch (e) {
    error = e;
  }
  t.ok(isNexusError(error) && error.code === "internal_error", "internal_error");
  t.match((error as Error).message, /newer/);
});

t.test("reopening the file keeps the state", async (t) => {
  const file = join(t.testdir(), "data", "nexus.db");
  const first = openSqliteStore({ file });
  const { user, node, workspace } = await seed(first);
  await first.users.addKey(user.user_id, { public_key: "ssh-ed25519 AAAA", fingerprint: "SHA256:x" });
  await first.tokens.create({ hash: hashToken("nxs_a"), kind: "api", user_id: user.user_id });
  const port = await first.ports.allocateSsh(node.node_id, workspace.workspace_id, [2222, 2299]);
  const local = await first.ports.allocateLocal(user.user_id, workspace.workspace_id, "web");
  await first.phases.record(workspace.workspace_id, { name: "scheduled", started_at: "2030-01-01T00:00:00.000Z", duration_ms: 4 });
  await first.services.upsert(workspace.workspace_id, { name: "web", depends_on: ["db"], local_port: local });
  const command = await first.commands.enqueue({ node_id: node.node_id, workspace_id: workspace.workspace_id, type: "provision", payload: { x: 1 } });
  await first.close();

  const second = openSqliteStore({ file });
  t.same(await second.users.getByGithubId(7), user);
  t.same((await second.users.listKeys(user.user_id)).map((k) => k.fingerprint), ["SHA256:x"]);
  t.ok(await second.tokens.findByHash(hashToken("nxs_a")));
  t.same(await second.workspaces.get(workspace.workspace_id), workspace);
  t.same(await second.nodes.get(node.node_id), node);
  t.same((await second.phases.list(workspace.workspace_id)).map((p) => p.name), ["scheduled"]);
  t.same((await second.services.list(workspace.workspace_id))[0]?.depends_on, ["db"]);
  t.same(await second.commands.listPending(node.node_id), [command]);
  t.equal(await second.ports.allocateSsh(node.node_id, workspace.workspace_id, [2222, 2299]), port, "the SSH port is still held");
  const other = (await second.workspaces.create({ workspace_name: "api", owner_id: user.user_id, provider: "lxc", repo })).workspace;
  t.not(await second.ports.allocateSsh(node.node_id, other.workspace_id, [2222, 2299]), port, "and not handed out again");
  t.equal(await second.ports.allocateLocal(user.user_id, workspace.workspace_id, "web"), local);
  await second.close();
});

t.test("command secrets are not persisted", async (t) => {
  const file = join(t.testdir(), "nexus.db");
  const first = openSqliteStore({ file });
  const { node } = await seed(first);
  const command = await first.commands.enqueue({ node_id: node.node_id, type: "provision", secrets: { clone_token: "ghp_not_on_disk_1234567890" } });
  t.same((await first.commands.claim(node.node_id, { limit: 1, redeliverAfterMs: 0 }))[0]?.secrets, { clone_token: "ghp_not_on_disk_1234567890" });
  t.notOk(fileBytes(file).includes("ghp_not_on_disk_1234567890"), "not in the database files while open");
  await first.close();
  t.notOk(fileBytes(file).includes("ghp_not_on_disk_1234567890"), "nor after close");
  const second = openSqliteStore({ file });
  const [redelivered] = await second.commands.claim(node.node_id, { limit: 1, redeliverAfterMs: 0 });
  t.equal(redelivered?.command_id, command.command_id);
  t.equal(redelivered?.secrets, undefined, "gone after a restart");
  await second.close();
});

t.test("raw tokens never reach the database file, only their hashes", async (t) => {
  const file = join(t.testdir(), "nexus.db");
  const store = openSqliteStore({ file });
  const { user, node } = await seed(store);
  const raws = ["nxs_RAW_api_token_value_0001", "nxn_RAW_node_token_value_0002", "nxj_RAW_join_token_value_0003"];
  await store.tokens.create({ hash: hashToken(raws[0]!), kind: "api", user_id: user.user_id });
  await store.tokens.create({ hash: hashToken(raws[1]!), kind: "node", node_id: node.node_id });
  await store.tokens.create({ hash: hashToken(raws[2]!), kind: "join" });
  const open = fileBytes(file);
  for (const raw of raws) {
    t.notOk(open.includes(raw), `${raw.slice(0, 4)} raw value absent while open`);
    t.ok(open.includes(hashToken(raw)), `${raw.slice(0, 4)} hash present`);
  }
  await store.close();
  const closed = fileBytes(file);
  for (const raw of raws) t.notOk(closed.includes(raw), `${raw.slice(0, 4)} raw value absent after close`);
  t.ok(closed.includes(hashToken(raws[0]!)), "hashes reached the main file");
});

t.test("the data directory is created 0700 and the database files are 0600", async (t) => {
  const dir = join(t.testdir(), "home", "nexus");
  const file = join(dir, "nexus.db");
  const store = openSqliteStore({ file });
  await seed(store);
  t.equal(statSync(dir).mode & 0o777, 0o700, "directory");
  t.equal(statSync(file).mode & 0o777, 0o600, "database file");
  t.ok(existsSync(`${file}-wal`), "WAL mode");
  t.equal(statSync(`${file}-wal`).mode & 0o777, 0o600, "WAL file");
  t.equal((store.db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode, "wal");
  t.equal((store.db.prepare("PRAGMA foreign_keys").get() as { foreign_keys: number }).foreign_keys, 1);
  t.ok((store.db.prepare("PRAGMA busy_timeout").get() as { timeout: number }).timeout > 0, "busy timeout set");
  await store.close();
});

t.test("PRAGMA integrity_check is ok after a mixed workload", async (t) => {
  const file = join(t.testdir(), "nexus.db");
  const store = openSqliteStore({ file });
  const { user, node } = await seed(store);
  for (let i = 0; i < 20; i++) {
    const { workspace } = await store.workspaces.create({ workspace_name: `w-${i}`, owner_id: user.user_id, provider: "lxc", repo, node_id: node.node_id });
    await store.ports.allocateSsh(node.node_id, workspace.workspace_id, [2222, 2299]);
    await store.ports.allocateLocal(user.user_id, workspace.workspace_id, "web");
    await store.services.upsert(workspace.workspace_id, { name: "web", status: "running" });
    if (i % 3 === 0) await store.workspaces.delete(workspace.workspace_id);
  }
  t.same(store.db.prepare("PRAGMA integrity_check").all().map((r) => ({ ...r })), [{ integrity_check: "ok" }]);
  t.same(store.db.prepare("PRAGMA foreign_key_check").all(), [], "no dangling references");
  await store.close();
});

t.test("two connections allocating SSH ports at the same time never share a port", async (t) => {
  const file = join(t.testdir(), "nexus.db");
  const store = openSqliteStore({ file });
  const { user, node } = await seed(store);
  const ids: string[] = [];
  for (let i = 0; i < 40; i++) {
    ids.push((await store.workspaces.create({ workspace_name: `c-${i}`, owner_id: user.user_id, provider: "lxc", repo })).workspace.workspace_id);
  }
  await store.close();
  const range: [number, number] = [2222, 2261];
  const run = (workspaceIds: string[]) =>
    new Promise<number[]>((resolve, reject) => {
      const worker = new Worker(new URL("./allocate-worker.ts", import.meta.url), { execArgv: ["--import=tsx", "--conditions=nexus-source"], workerData: { file, nodeId: node.node_id, workspaceIds, range } });
      worker.once("message", resolve);
      worker.once("error", reject);
    });
  const [a, b] = await Promise.all([run(ids.filter((_, i) => i % 2 === 0)), run(ids.filter((_, i) => i % 2 === 1))]);
  const all = [...a!, ...b!];
  t.equal(all.length, 40);
  t.equal(new Set(all).size, 40, "40 distinct ports");
  t.ok(all.every((p) => p >= range[0] && p <= range[1]), "all inside the range");
  const check = openSqliteStore({ file });
  t.equal((check.db.prepare("SELECT COUNT(*) AS n FROM port_allocations").get() as { n: number }).n, 40);
  await check.close();
});
