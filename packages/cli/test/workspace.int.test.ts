// workspace create / list / status / services / logs / stop / start / delete, in-process
// against the fake server (wire-validated) with real git repositories in temp dirs.
import t, { type Test } from "tap";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tempTree, type FileTree } from "@nexus/test-utils";
import { CreateWorkspaceResponseSchema, WorkspaceDetailSchema } from "@nexus/core";
import { createSshConfig } from "@nexus/editors";
import { runCli } from "./helpers.js";
import { startFakeServer, type FakeServerOptions } from "./workspace-fake-server.js";

function gitRepo(tree: FileTree, dirName = "shop"): { dir: string; cleanup(): void } {
  const parent = tempTree({ [dirName]: tree });
  const dir = join(parent.dir, dirName);
  const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, stdio: "pipe" });
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init");
  return { dir, cleanup: parent.cleanup };
}

const CONFIG = `version: 1
name: shop
services:
  api:
    command: node api.js
    port: 4000
    health_check: { type: http, path: /health, interval: 2s }
  web:
    command: npm run dev
    port: 3000
    depends_on: [api]
`;

async function setup(t: Test, options: FakeServerOptions = {}) {
  const server = await startFakeServer({ singleMachine: true, ...options });
  t.teardown(() => server.close());
  const home = mkdtempSync(join(tmpdir(), "nexus-home-"));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const env = { NEXUS_SERVER: server.url, NEXUS_TOKEN: server.options.token, NEXUS_HOME: home, HOME: home };
  return { server, env, home };
}

t.test("create from a local directory: config sent as written, idempotency key, waits until running", async (t) => {
  const { server, env } = await setup(t);
  const repo = gitRepo({ ".nexus": { "config.yaml": CONFIG }, "api.js": "" });
  t.teardown(repo.cleanup);

  const r = await runCli(["workspace", "create", repo.dir, "--json"], { env });
  t.equal(r.code, 0, r.stderr);
  const detail = WorkspaceDetailSchema.parse(JSON.parse(r.stdout));
  t.equal(detail.status, "running");
  t.equal(detail.workspace_name, "shop");
  t.same(detail.phases.map((p) => p.name), ["scheduled", "container_created", "ssh_ready", "repo_cloned", "setup_done", "services_started", "services_healthy"]);

  const [create] = server.requestsTo("POST", "/api/v1/workspaces/create-from-repo");
  const body = create!.body as { repo: Record<string, unknown>; config: { services: Record<string, { health_check: { interval: string } }> }; clone_token?: string };
  t.match(body.repo, { owner: "local", name: "shop", branch: "main" });
  t.match(body.repo.url, /^file:\/\/\//);
  t.equal(body.config.services.api!.health_check.interval, "2s", "the config is sent as written, durations unparsed");
  t.notOk("clone_token" in body, "no clone token for a local repository");
  t.match(create!.headers["idempotency-key"], /^[0-9a-f-]{36}$/);
});

t.test("create (human output): config source, summary with the ssh command and services; stdout has no progress when not a TTY", async (t) => {
  const { env } = await setup(t);
  const repo = gitRepo({ ".nexus": { "config.yaml": CONFIG } });
  t.teardown(repo.cleanup);
  const r = await runCli(["workspace", "create", repo.dir, "--name", "shop-2"], { env });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /using .*\.nexus\/config\.yaml \(services: api → web\)/);
  t.match(r.stdout, /workspace shop-2 is running/);
  t.match(r.stdout, /ssh -p \d+ dev@127\.0\.0\.1/);
  t.match(r.stdout, /api\s+healthy\s+http:\/\/localhost:23000/);
  t.notMatch(r.stdout + r.stderr, /⠋|container created/, "no spinner or phase lines without a TTY");
});

t.test("create without a config: the detectors' guesses are shown and their config is sent", async (t) => {
  const { server, env } = await setup(t);
  const repo = gitRepo({
    "package.json": JSON.stringify({ name: "shop", scripts: { dev: "vite --port 4100" }, devDependencies: { vite: "^5.0.0" } }),
    "package-lock.json": "{}",
  });
  t.teardown(repo.cleanup);
  const r = await runCli(["workspace", "create", repo.dir], { env });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /no \.nexus\/config\.yaml: generated one/);
  t.match(r.stdout, /node:.*vite/i);
  const body = server.requestsTo("POST", "/api/v1/workspaces/create-from-repo")[0]!.body as { config: { services: Record<string, { port: number }> } };
  t.equal(body.config.services.web?.port, 4100);
});

t.test("create falls back to polling when the server has no event stream", async (t) => {
  const { server, env } = await setup(t, { events: false });
  const repo = gitRepo({ ".nexus": { "config.yaml": CONFIG } });
  t.teardown(repo.cleanup);
  const r = await runCli(["workspace", "create", repo.dir, "--json"], { env });
  t.equal(r.code, 0, r.stderr);
  t.equal(JSON.parse(r.stdout).status, "running");
  t.ok(server.requests.filter((q) => q.path === "/api/v1/workspaces/ws_0001shop").length > 1, "polled the workspace");
});

t.test("create --no-wait returns the accepted document at once", async (t) => {
  const { env } = await setup(t, { stepMs: 1000 });
  const repo = gitRepo({ ".nexus": { "config.yaml": CONFIG } });
  t.teardown(repo.cleanup);
  const r = await runCli(["workspace", "create", repo.dir, "--no-wait", "--json"], { env });
  t.equal(r.code, 0, r.stderr);
  const accepted = CreateWorkspaceResponseSchema.parse(JSON.parse(r.stdout));
  t.equal(accepted.status, "pending");
});

t.test("a failed phase exits with the workspace's error code, naming the phase and the next command", async (t) => {
  const { env } = await setup(t, { fail: { phase: "services_healthy", code: "service_failed", message: "api never became healthy (GET /health: connection refused)" } });
  const repo = gitRepo({ ".nexus": { "config.yaml": CONFIG } });
  t.teardown(repo.cleanup);
  const r = await runCli(["workspace", "create", repo.dir], { env });
  t.equal(r.code, 10);
  t.match(r.stderr, /\[service_failed\] workspace shop failed to create in phase services_healthy/);
  t.match(r.stderr, /connection refused/);
  t.match(r.stderr, /next: Run `nexus workspace logs shop api`/);
  const j = await runCli(["workspace", "create", repo.dir, "--name", "shop-3", "--json"], { env });
  t.equal(j.code, 10);
  const doc = JSON.parse(j.stdout);
  t.equal(doc.error, "service_failed");
  t.equal(doc.details.phase, "services_healthy");
});

t.test("a local directory on a server that is not single-machine is refused with a clear way forward", async (t) => {
  const { env } = await setup(t, { singleMachine: false });
  const repo = gitRepo({ "README.md": "x" });
  t.teardown(repo.cleanup);
  const r = await runCli(["workspace", "create", repo.dir], { env });
  t.equal(r.code, 2);
  t.match(r.stderr, /does not accept local directories/);
  t.match(r.stderr, /next: .*nexus up/);
});

t.test("create refuses a directory that is not a git repository, and a bad name, before calling the server", async (t) => {
  const { server, env } = await setup(t);
  const plain = tempTree({ "index.html": "<h1>hi</h1>" });
  t.teardown(plain.cleanup);
  const r = await runCli(["workspace", "create", plain.dir], { env });
  t.equal(r.code, 2);
  t.match(r.stderr, /is not a git repository/);
  t.match(r.stderr, /git .*init/);
  const bad = await runCli(["workspace", "create", plain.dir, "--name", "Bad_Name"], { env });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /workspace name "Bad_Name" is invalid/);
  t.equal(server.requestsTo("POST", "/api/v1/workspaces/create-from-repo").length, 0);
});

t.test("list: a table with name, status, provider, node, ssh port, services, age; --status filters; --json is one document", async (t) => {
  const { server, env } = await setup(t);
  server.seed("api", "running");
  server.seed("web", "stopped");
  const r = await runCli(["workspace", "list"], { env });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /NAME\s+STATUS\s+PROVIDER\s+NODE\s+SSH PORT\s+SERVICES\s+AGE/);
  t.match(r.stdout, /api\s+running\s+docker\s+node-1\s+\d+\s+1\s+3h/);
  const filtered = await runCli(["workspace", "list", "--status", "stopped", "--json"], { env });
  const doc = JSON.parse(filtered.stdout);
  t.same(doc.workspaces.map((w: { workspace_name: string }) => w.workspace_name), ["web"]);
  t.equal(doc.total, 1);
  const bad = await runCli(["workspace", "list", "--status", "sleeping"], { env });
  t.equal(bad.code, 2);
});

t.test("status: phases with durations, services with health and local URLs, repository, ssh", async (t) => {
  const { server, env } = await setup(t);
  server.seed("api", "running");
  const r = await runCli(["workspace", "status", "api"], { env });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /api\s+running/);
  t.match(r.stdout, /repository\s+octo\/api@main \(0123456789ab\)/);
  t.match(r.stdout, /ssh\s+ssh -p \d+ dev@127\.0\.0\.1/);
  t.match(r.stdout, /container created\s+100ms/);
  t.match(r.stdout, /api\s+running\s+healthy\s+http:\/\/localhost:23000/);
  const j = await runCli(["workspace", "status", "api", "--json"], { env });
  t.equal(WorkspaceDetailSchema.parse(JSON.parse(j.stdout)).workspace_name, "api");
  const missing = await runCli(["workspace", "status", "nope"], { env });
  t.equal(missing.code, 4);
  t.match(missing.stderr, /next: Run `nexus workspace list`/);
});

t.test("status --watch follows until the workspace is deleted", async (t) => {
  const { server, env } = await setup(t, { stepMs: 30 });
  server.seed("api", "running");
  const watching = runCli(["workspace", "status", "api", "--watch"], { env });
  await new Promise((r) => setTimeout(r, 50));
  const del = await runCli(["workspace", "delete", "api", "--force", "--no-wait"], { env });
  t.equal(del.code, 0, del.stderr);
  const r = await watching;
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /api\s+running/);
  t.match(r.stdout, /deleting/);
  t.match(r.stdout, /workspace api was deleted/);

  // --json --watch: nothing while watching, then exactly one document.
  server.seed("web", "running");
  const json = runCli(["workspace", "status", "web", "--watch", "--json"], { env });
  await new Promise((r) => setTimeout(r, 50));
  t.equal((await runCli(["workspace", "stop", "web"], { env })).code, 0);
  t.equal((await runCli(["workspace", "rm", "web", "--no-wait"], { env })).code, 0);
  const doc = await json;
  t.equal(doc.code, 0, doc.stderr);
  t.match(JSON.parse(doc.stdout), { workspace_name: "web", status: "deleted" });
});

t.test("services: a table; --json the services document", async (t) => {
  const { server, env } = await setup(t);
  server.seed("api", "running");
  const r = await runCli(["workspace", "services", "api"], { env });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /SERVICE\s+STATUS\s+HEALTH\s+PORT\s+LOCAL/);
  t.match(r.stdout, /api\s+running\s+healthy\s+4000\s+http:\/\/localhost:23000/);
  const j = await runCli(["workspace", "services", "api", "--json"], { env });
  t.equal(JSON.parse(j.stdout).services[0].name, "api");
});

t.test("logs: tail and service filter; --follow streams until the server ends; --json is one document", async (t) => {
  const { server, env } = await setup(t);
  server.seed("api", "running");
  const r = await runCli(["workspace", "logs", "api", "web", "--tail", "5"], { env });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, "web | ready\n");
  const query = server.requests.at(-1)!;
  t.equal(query.path, "/api/v1/workspaces/api/logs");
  const f = await runCli(["workspace", "logs", "api", "--follow"], { env });
  t.equal(f.code, 0, f.stderr);
  t.match(f.stdout, /listening on 4000\n.*ready\n.*GET \/health 200\n.*shutting down\n/s);
  const j = await runCli(["workspace", "logs", "api", "--json"], { env });
  t.match(JSON.parse(j.stdout), { workspace: "api", service: null, logs: /listening/ });
  const fj = await runCli(["workspace", "logs", "api", "--follow", "--json"], { env });
  t.match(JSON.parse(fj.stdout), { logs: /listening on 4000\n.*shutting down\n$/s }, "followed logs collected into one document");
});

t.test("stop, start and delete wait for the change; invalid transitions exit 5 with the right next step", async (t) => {
  const { server, env } = await setup(t);
  server.seed("api", "running");
  const stop = await runCli(["workspace", "stop", "api", "--json"], { env });
  t.equal(stop.code, 0, stop.stderr);
  t.equal(JSON.parse(stop.stdout).status, "stopped");
  const again = await runCli(["workspace", "stop", "api"], { env });
  t.equal(again.code, 5);
  t.match(again.stderr, /Only a running workspace can be stopped/);
  const start = await runCli(["workspace", "start", "api"], { env });
  t.equal(start.code, 0, start.stderr);
  t.match(start.stdout, /workspace api is running/);
  // A plain delete of a running workspace stops it first, then deletes it: one JSON document.
  const before = server.requests.length;
  const del = await runCli(["workspace", "rm", "api", "--json"], { env });
  t.equal(del.code, 0, del.stderr);
  t.match(JSON.parse(del.stdout), { workspace_name: "api", status: "deleted" });
  const calls = server.requests.slice(before).filter((r) => r.method !== "GET").map((r) => `${r.method} ${r.path}`);
  t.same(calls, ["POST /api/v1/workspaces/api/stop", "DELETE /api/v1/workspaces/api"], "stopped, then deleted without force");
  t.equal(server.workspaces.size, 0);
  // --force deletes a running one at once; given its id, the entry named after it goes too.
  const web = server.seed("web", "running");
  const ssh = createSshConfig({ nexusHome: env.NEXUS_HOME, env });
  await ssh.writeWorkspaceEntry({ workspace: "web", hostName: "127.0.0.1", port: 2299, hostKey: web.ssh!.host_key! });
  t.ok(ssh.readWorkspaceEntry("web"));
  const mark = server.requests.length;
  const forced = await runCli(["workspace", "delete", web.workspace_id, "--force", "--json"], { env });
  t.equal(forced.code, 0, forced.stderr);
  t.match(JSON.parse(forced.stdout), { workspace_name: "web", status: "deleted" });
  t.notOk(server.requests.slice(mark).some((r) => r.path.endsWith("/stop")), "no stop with --force");
  t.equal(ssh.readWorkspaceEntry("web"), undefined, "the SSH entry of the deleted workspace is gone");
  t.equal(server.workspaces.size, 0);
});

t.test("every workspace command refuses a malformed workspace reference before any request", async (t) => {
  const { server, env } = await setup(t);
  const r = await runCli(["workspace", "status", "../../etc"], { env });
  t.equal(r.code, 2);
  t.match(r.stderr, /is not a workspace name or id/);
  t.equal(server.requests.length, 0);
});
