// startServer as the binary runs it: SQLite under the data directory (state survives a
// restart), the admin-token file, single-machine files, graceful shutdown, TLS.
import t, { type Test } from "tap";
import { execFileSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { Agent, request } from "undici";
import { createClient, createNodeClient } from "@nexus/core";
import { createLogCapture } from "@nexus/testkit";
import { startGithubEmulator } from "@nexus/github/testing";
import { localKeysPath, localTokenPath, startServer, type StartServerOptions } from "@nexus/server";
import { tempTree } from "@nexus/test-utils";
import { createdResult, sshPublicKey } from "./harness.js";

async function setup(t: Test) {
  const tree = tempTree();
  t.teardown(() => tree.cleanup());
  const github = await startGithubEmulator();
  t.teardown(() => github.close());
  const logs = createLogCapture();
  const base: StartServerOptions = {
    port: 0,
    dataDir: join(tree.dir, "data"),
    nexusHome: join(tree.dir, "home"),
    githubApiUrl: github.apiUrl,
    log: logs.log,
    services: { githubHost: "github.com" },
  };
  return { dir: tree.dir, github, logs, base };
}

t.test("the admin token is generated once into <data>/admin-token (0600) and kept", async (t) => {
  const { base } = await setup(t);
  const first = await startServer(base);
  const file = join(base.dataDir, "admin-token");
  t.equal(readFileSync(file, "utf8").trim(), first.adminToken);
  t.equal(statSync(file).mode & 0o777, 0o600);
  t.equal(statSync(base.dataDir).mode & 0o777, 0o700);
  t.equal(statSync(join(base.dataDir, "nexus.db")).mode & 0o777, 0o600);
  const nodes = await createClient({ server: first.url, token: first.adminToken }).listNodes();
  t.same(nodes, { nodes: [] });
  await first.close();
  const second = await startServer(base);
  t.equal(second.adminToken, first.adminToken);
  await second.close();
  const configured = await startServer({ ...base, adminToken: "from-env" });
  t.equal(configured.adminToken, "from-env");
  t.equal((await createClient({ server: configured.url, token: first.adminToken }).listNodes().catch((e: { code: string }) => e.code)), "auth_required");
  await configured.close();
});

t.test("restarting on the same SQLite file keeps users, tokens, nodes and workspaces", async (t) => {
  const { base, github } = await setup(t);
  const first = await startServer(base);
  const account = github.addUser("alice");
  const githubToken = github.issueToken("alice");
  const client = createClient({ server: first.url, token: githubToken });
  const registered = await client.registerGithub({ github_username: "alice", github_id: account.id, ssh_pubkey: sshPublicKey() });
  const alice = createClient({ server: first.url, token: registered.api_token });
  const admin = createClient({ server: first.url, token: first.adminToken });
  const join = await admin.createNodeToken({});
  const agent = createNodeClient({ server: first.url });
  const node = await agent.register(
    { name: "node-1", providers: ["lxc"], ssh_host: "10.1.2.3", ssh_port_range: { start: 2222, end: 2230 }, capacity: { max_workspaces: 5 }, version: "1.0.0" },
    { token: join.token },
  );
  const ws = await alice.createWorkspace({ repo: { owner: "octocat", name: "hello", branch: "main" }, config: { version: 1, services: { web: { command: "npm run dev", port: 3000 } } } });
  const { commands } = await agent.pollCommands(node.node_id, { wait: 0 }, { token: node.node_token });
  await agent.postResult(node.node_id, commands[0]!.id, createdResult(ws.workspace_id) as never, { token: node.node_token });
  const before = await alice.getWorkspace(ws.workspace_id);
  t.equal(before.status, "running");
  await first.close();

  const second = await startServer(base);
  t.teardown(() => second.close());
  const aliceAgain = createClient({ server: second.url, token: registered.api_token });
  const after = await aliceAgain.getWorkspace("hello");
  t.same(after, { ...before, ssh: after.ssh }, "the same workspace");
  t.same(after.ssh, before.ssh);
  t.equal((await aliceAgain.me()).keys.length, 1);
  const again = createNodeClient({ server: second.url });
  const beat = await again.heartbeat(node.node_id, { version: "1.0.0", providers: [], workspaces: 1 }, { token: node.node_token });
  t.equal(beat.status, "online", "the node token still works");
  const next = await aliceAgain.createWorkspace({ repo: { owner: "octocat", name: "hello", branch: "main" } });
  t.equal(next.workspace_name, "hello-main", "names taken before the restart stay taken");
  t.equal(next.ssh_port, 2223, "ports allocated before the restart stay allocated");
});

t.test("single-machine mode: a local user, its token file (0600) reused across restarts, local keys registered", async (t) => {
  const { base } = await setup(t);
  const options = { ...base, singleMachine: true };
  const first = await startServer(options);
  const file = localTokenPath(options.nexusHome!);
  const written = JSON.parse(readFileSync(file, "utf8"));
  t.same(Object.keys(written).sort(), ["token", "url", "user_id", "username"]);
  t.equal(written.url, first.url);
  t.equal(written.username, "local");
  t.match(written.token, /^nxs_/);
  t.equal(statSync(file).mode & 0o777, 0o600);
  const key = sshPublicKey("me@this-machine");
  mkdirSync(join(options.nexusHome!, "server"), { recursive: true });
  writeFileSync(localKeysPath(options.nexusHome!), `# the CLI's key\n${key}\nnot a key\n`);
  const local = createClient({ server: first.url, token: written.token });
  const ws = await local.createWorkspace({ repo: { owner: "local", name: "project", url: "/home/me/project" } });
  t.equal(ws.workspace_name, "project");
  t.same((await local.me()).keys.length, 1, "the valid key was registered");
  await first.close();

  const second = await startServer(options);
  t.teardown(() => second.close());
  const rewritten = JSON.parse(readFileSync(file, "utf8"));
  t.equal(rewritten.token, written.token, "the token is kept");
  t.equal(rewritten.user_id, written.user_id, "the same local user");
  t.equal((await createClient({ server: second.url, token: rewritten.token }).getWorkspace("project")).workspace_id, ws.workspace_id);
});

t.test("graceful shutdown lets a request in flight finish", async (t) => {
  const { base, github } = await setup(t);
  const server = await startServer(base);
  const { services } = server;
  const account = github.addUser("alice");
  const registered = await createClient({ server: server.url, token: github.issueToken("alice") }).registerGithub({
    github_username: "alice", github_id: account.id, ssh_pubkey: sshPublicKey(),
  });
  const { token } = await services.nodes.createJoinToken({ ttl_seconds: 600 });
  const node = await services.nodes.register({ name: "n1", providers: ["lxc"], ssh_host: "10.0.0.1", ssh_port_range: { start: 2222, end: 2222 }, capacity: { max_workspaces: 1 }, version: "1.0.0" });
  void token;
  const alice = createClient({ server: server.url, token: registered.api_token });
  const ws = await alice.createWorkspace({ repo: { owner: "octocat", name: "hello" } });
  const [create] = await services.nodes.poll(node.node_id, 0);
  await services.nodes.complete(node.node_id, create!.id, createdResult(ws.workspace_id) as never);

  const inFlight = alice.logs("hello");
  let logs;
  while (!(logs = (await services.store.commands.listPending(node.node_id)).find((c) => c.type === "logs"))) await new Promise((r) => setTimeout(r, 5));
  const closing = server.close();
  // The agent answers while the server is closing (directly: new HTTP requests get 503).
  await services.nodes.complete(node.node_id, logs.command_id, { ok: true, type: "logs", data: { text: "still here\n" } });
  t.equal(await inFlight, "still here\n", "the in-flight request got its answer");
  await closing;
  const refused = await request(`${server.url}/health`).catch((e: { code?: string; cause?: { code?: string } }) => e.code ?? e.cause?.code);
  t.equal(refused, "ECONNREFUSED", "closed");
});

t.test("TLS: serves HTTPS with the given certificate", async (t) => {
  const { base, dir } = await setup(t);
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
  const server = await startServer({ ...base, tls: { certFile, keyFile } });
  t.teardown(() => server.close());
  t.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const dispatcher = new Agent({ connect: { ca: readFileSync(certFile) } });
  const health = await createClient({ server: server.url, dispatcher }).health();
  t.equal(health.status, "ok");
});

t.test("rateLimit (nexus-server --rate-limit) sets the per-token limit; false turns it off", async (t) => {
  const { base } = await setup(t);
  const limited = await startServer({ ...base, rateLimit: { max: 2, windowMs: 60_000 } });
  t.teardown(() => limited.close());
  const admin = createClient({ server: limited.url, token: limited.adminToken });
  await admin.listNodes();
  await admin.listNodes();
  t.equal(await admin.listNodes().then(() => "ok", (e: { code: string }) => e.code), "rate_limited", "the third request in the window is refused");
  await limited.close();
  const open = await startServer({ ...base, rateLimit: false });
  t.teardown(() => open.close());
  const unlimited = createClient({ server: open.url, token: open.adminToken });
  const codes = await Promise.all(Array.from({ length: 650 }, () => unlimited.listNodes().then(() => "ok", (e: { code: string }) => e.code)));
  t.same([...new Set(codes)], ["ok"], "650 requests in a minute, none refused");
});
