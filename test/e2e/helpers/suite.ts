// The end-to-end walk, the same on every engine: a user registered through the GitHub
// emulator creates workspaces from a local repository and from a token-protected git
// server; SSH, services, logs, stop/start/delete, a service that never gets healthy, an
// agent killed mid-create, a server restart, and where the clone token must not be.
import t from "tap";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { CreateWorkspaceBody } from "@nexus/core";
import { makeRepo } from "../../../packages/core/test/agent/helpers/repo.js";
import { isGone, sshAsDev, startStack, until, waitForStatus, type ProviderName, type TestUser } from "./stack.js";

const CONFIG = `name: shop
env: { GREETING: hello-from-nexus }
lifecycle:
  setup: echo "setup ran as $(id -un)" > .setup-done
services:
  db:
    command: exec python3 -m http.server 5432 --bind 127.0.0.1
    port: 5432
    expose: false
    health_check: { type: tcp, interval: 1s }
  api:
    command: exec node api.js
    port: 4000
    depends_on: [db]
    health_check: { type: http, path: /health, interval: 1s }
  web:
    command: exec node web.js
    port: 3000
    depends_on: [api]
    health_check: { type: http, path: /, interval: 1s }
`;

const server = (name: string, port: number, path: string) =>
  `require("http").createServer((q, r) => { r.end(process.env.GREETING + " from ${name} " + q.url); }).listen(${port}, () => console.log("${name} listening on ${port}${path}"));\n`;

const BROKEN = { services: { broken: { command: "exec sleep 600", port: 6000, health_check: { type: "tcp", interval: "500ms", retries: 3 } } } };
const SLOW_SETUP = { lifecycle: { setup: "sleep 8" } };

function grepTree(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (path: string) => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
    else if (stat.isFile() && readFileSync(path).includes(needle)) hits.push(path);
  };
  walk(dir);
  return hits;
}

export function endToEnd(provider: ProviderName, sshPorts: [number, number]): void {
  t.test(`nexus end to end on ${provider}`, async (t) => {
    const stack = await startStack(t, provider, sshPorts);
    const alice: TestUser = await stack.user("alice");
    const repo = await makeRepo(stack.root, "octo", "shop", {
      "README.md": "# shop\n",
      ".nexus/config.yaml": CONFIG,
      "web.js": server("web", 3000, "/"),
      "api.js": server("api", 4000, "/health"),
    });
    // makeRepo also keeps a bare copy under <root>/served, which the git server serves behind the token.
    const servedUrl = `${stack.git.url}/octo/shop.git`;
    const createTimes: number[] = [];

    const create = async (body: CreateWorkspaceBody) => {
      const started = Date.now();
      const accepted = await alice.client.createWorkspace({ provider, ...body }, { idempotencyKey: `${body.workspace_name}-${started}` });
      return { id: accepted.workspace_id, started };
    };

    let shop = "";
    await t.test("create from a local repository: running, every phase timed", async (t) => {
      const { id, started } = await create({ workspace_name: "shop", repo: { owner: "octo", name: "shop", url: repo.dir }, config: parse(CONFIG) });
      shop = id;
      const detail = await waitForStatus(alice, id, ["running"]);
      createTimes.push(Date.now() - started);
      t.comment(`${provider}: create → running with three services in ${Date.now() - started} ms`);
      t.equal(detail.health, "healthy");
      const names = detail.phases.map((p) => p.name);
      for (const phase of ["scheduled", "container_created", "ssh_ready", "repo_cloned", "setup_done", "services_started", "services_healthy"]) {
        t.ok(names.includes(phase as never), `phase ${phase} reported`);
      }
      for (const phase of detail.phases) t.type(phase.duration_ms, "number", `${phase.name} has a duration`);
      t.match(detail.ssh, { host: "127.0.0.1", user: "dev", host_key: /^ssh-ed25519 /, path: "/home/dev/shop" });
    });

    await t.test("OpenSSH as dev with the user's key, the host key pinned; the checkout and its remote", async (t) => {
      const detail = await alice.client.getWorkspace(shop);
      t.equal((await sshAsDev(alice, detail, ["git", "-C", "/home/dev/shop", "log", "-1", "--format=%H"], stack.root)).trim(), repo.commit);
      t.equal(detail.repository.commit, repo.commit, "the status reports the commit that was checked out");
      t.equal((await sshAsDev(alice, detail, ["git", "-C", "/home/dev/shop", "remote", "get-url", "origin"], stack.root)).trim(), repo.dir);
      t.equal((await sshAsDev(alice, detail, ["stat", "-c", "%U", "/home/dev/shop/README.md"], stack.root)).trim(), "dev", "the checkout belongs to dev");
      t.equal((await sshAsDev(alice, detail, ["cat", "/home/dev/shop/.setup-done"], stack.root)).trim(), "setup ran as dev", "setup ran once, as dev, in the repo");
      t.equal((await sshAsDev(alice, detail, ["curl", "-s", "http://127.0.0.1:3000/x"], stack.root)).trim(), "hello-from-nexus from web /x", "the service sees the project env");
    });

    await t.test("services are healthy and their logs can be read", async (t) => {
      const { services } = await alice.client.getServices(shop);
      t.same(services.map((s) => `${s.name}:${s.status}:${s.health}`).sort(), ["api:running:healthy", "db:running:healthy", "web:running:healthy"]);
      const web = await until(async () => {
        const text = await alice.client.logs(shop, { service: "web", tail: 50 });
        return text.includes("web listening") ? text : undefined;
      }, "web's log", 30_000);
      t.match(web, "web listening on 3000");
      t.match(await alice.client.logs(shop, { tail: 50 }), /api \| api listening on 4000/, "all services' logs, prefixed with their names");
    });

    let tokenWorkspace = "";
    await t.test("a repository behind a token: cloned with clone_token", async (t) => {
      const { id, started } = await create({ workspace_name: "shop-http", repo: { owner: "octo", name: "shop", url: servedUrl }, clone_token: stack.gitToken });
      tokenWorkspace = id;
      const detail = await waitForStatus(alice, id, ["running"]);
      createTimes.push(Date.now() - started);
      t.ok(stack.git.authorized > 0, "the git server saw the token");
      t.equal((await sshAsDev(alice, detail, ["git", "-C", "/home/dev/shop", "remote", "get-url", "origin"], stack.root)).trim(), servedUrl, "origin has no credentials");
      t.match((await alice.client.getServices(id)).services.map((s) => s.name).sort(), ["api", "db", "web"], "without a config in the request, the repository's own applies");
    });

    await t.test("a service that never becomes healthy: error naming the service and the phase", async (t) => {
      const { id } = await create({ workspace_name: "broken", repo: { owner: "octo", name: "shop", url: repo.dir }, config: BROKEN });
      const detail = await waitForStatus(alice, id, ["error"]);
      t.match(detail.error, { code: "service_failed", phase: "services_healthy", message: /broken/ });
      await alice.client.delete(id);
      await until(async () => isGone(alice, id), "the broken workspace to be deleted", 120_000);
    });

    await t.test("the server restarts: state intact, the agent reconnects", async (t) => {
      const before = await alice.client.listWorkspaces();
      await stack.restartServer();
      // The client's pooled connection to the old process is dead: the first call may fail.
      const after = await until(async () => alice.client.listWorkspaces(), "the restarted server to answer", 30_000);
      t.same(after.workspaces.map((w) => `${w.workspace_name}:${w.status}`).sort(), before.workspaces.map((w) => `${w.workspace_name}:${w.status}`).sort());
      t.equal((await alice.client.getWorkspace(shop)).status, "running");
      await until(async () => (await stack.admin.listNodes()).nodes.find((n) => n.status === "online"), "the node online again", 90_000);
    });

    await t.test("stop → start → delete walk the states; GET is 404 afterwards", async (t) => {
      await alice.client.stop(shop);
      const stopped = await waitForStatus(alice, shop, ["stopped"], 120_000);
      t.equal(stopped.status, "stopped");
      t.ok(Object.values(stopped.services).every((s) => s.status === "stopped"), "services stopped");
      await alice.client.start(shop);
      const started = await waitForStatus(alice, shop, ["running"], 180_000);
      t.equal(started.health, "healthy");
      t.equal((await sshAsDev(alice, started, ["curl", "-s", "http://127.0.0.1:3000/again"], stack.root)).trim(), "hello-from-nexus from web /again", "services run again after a start");
      await alice.client.delete(shop, { force: true });
      await until(async () => isGone(alice, shop), "the workspace to be gone", 120_000);
      t.pass("deleted");
    });

    await t.test("the agent is killed mid-create and restarted: the workspace ends running or in error with a reason", async (t) => {
      const { id } = await create({ workspace_name: "interrupted", repo: { owner: "octo", name: "shop", url: repo.dir }, config: SLOW_SETUP });
      await until(async () => (await alice.client.getWorkspace(id)).phases.some((p) => p.name === "setup_done"), "the setup phase", 120_000);
      const other = await alice.client.getWorkspace(tokenWorkspace);
      const pids = async () => (JSON.parse(await sshAsDev(alice, other, ["cat", "/var/lib/nexus/status.json"], stack.root)) as { pid: number; services: Record<string, { pid: number }> });
      const before = await pids();
      await stack.restartAgent("SIGKILL");
      const after = await pids();
      t.equal(after.pid, before.pid, "another workspace's supervisor survived the agent's death");
      t.same(Object.values(after.services).map((s) => s.pid), Object.values(before.services).map((s) => s.pid), "and so did its services");
      const detail = await waitForStatus(alice, id, ["running", "error"], 180_000);
      if (detail.status === "error") t.match(detail.error, { message: /restarted/ }, `error with a reason: ${detail.error?.message}`);
      else t.equal(detail.status, "running");
      await alice.client.delete(id, { force: true });
      await until(async () => isGone(alice, id), "the interrupted workspace to be deleted", 120_000);
    });

    await t.test("the clone token is nowhere: database, logs, the agent's disk, the container", async (t) => {
      const detail = await alice.client.getWorkspace(tokenWorkspace);
      const inContainer = await sshAsDev(
        alice,
        detail,
        ["sudo", "grep", "-rIl", "--exclude-dir=proc", "--exclude-dir=sys", "--exclude-dir=dev", "--", stack.gitToken, "/home", "/etc", "/tmp", "/var", "/opt", "/root", "/run"],
        stack.root,
      ).catch((error: { code?: number; stdout?: string }) => (error.code === 1 ? "" : Promise.reject(error)));
      t.equal(inContainer, "", "not in the container's files");
      t.same(grepTree(stack.serverDir, stack.gitToken), [], "not in the server's database (or its WAL)");
      t.same(grepTree(stack.agentDir, stack.gitToken), [], "not on the node's disk (identity, journal, mirrors)");
      t.notMatch(readFileSync(stack.serverLogFile, "utf8"), stack.gitToken, "not in the server's logs");
      t.notMatch(readFileSync(stack.agentLogFile, "utf8"), stack.gitToken, "not in the agent's logs");
      await alice.client.delete(tokenWorkspace, { force: true });
      await until(async () => isGone(alice, tokenWorkspace), "the workspace to be deleted", 120_000);
    });

    await t.test("create → running without services", async (t) => {
      const minimal = await makeRepo(stack.root, "octo", "minimal", { "README.md": "# minimal\n" });
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const { id, started } = await create({ workspace_name: `minimal-${i}`, repo: { owner: "octo", name: "minimal", url: minimal.dir } });
        const detail = await waitForStatus(alice, id, ["running"]);
        times.push(Date.now() - started);
        t.comment(`phases: ${detail.phases.map((p) => `${p.name} ${p.duration_ms} ms`).join(", ")}`);
        await alice.client.delete(id, { force: true });
        await until(async () => isGone(alice, id), "the workspace to be deleted", 120_000);
      }
      const sorted = [...times].sort((a, b) => a - b);
      t.comment(`${provider}: create → running without services: ${times.join(", ")} ms (median ${sorted[1]} ms); with services: ${createTimes.join(", ")} ms`);
      t.equal(times.length, 3);
    });
  });
}
