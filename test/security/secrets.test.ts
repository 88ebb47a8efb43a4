// Where secrets must never be (SPEC §5, §6; ARCHITECTURE "Errors"): the server and agent
// logs (pino at trace), the SQLite file and its WAL, error bodies, the agent's data dir,
// and what the agent writes into a container. A real server (startServer, SQLite on
// disk) and the real agent runtime on the FakeProvider, a token-protected git server,
// users registered through the GitHub emulator. The database holds token hashes only.
import t, { type Test } from "tap";
import { createHash, randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { mkdirSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { createClient, isNexusError, type NexusClient, type WorkspaceDetail } from "@nexus/core";
import { createLogCapture, generateTestKeyPair } from "@nexus/testkit";
import { startGithubEmulator } from "@nexus/github/testing";
import { startServer } from "@nexus/server";
import { tempTree } from "@nexus/test-utils";
import { agentHarness } from "../../packages/core/test/agent/helpers/harness.js";
import { startGitHttpServer } from "../../packages/core/test/agent/helpers/git-http.js";
import { makeRepo } from "../../packages/core/test/agent/helpers/repo.js";

const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");

/** Every file under `dir` (relative path) whose bytes contain `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (path: string) => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
    else if (stat.isFile() && readFileSync(path).includes(needle)) hits.push(path.slice(dir.length + 1));
  };
  walk(dir);
  return hits;
}

/** `count` consecutive loopback ports that answer like an sshd (the fake runs none). */
async function bannerPorts(t: Test, count: number): Promise<[number, number]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = 30_000 + Math.floor(Math.random() * 20_000);
    const servers: Server[] = [];
    try {
      for (let port = base; port < base + count; port++) {
        const server = createServer((socket) => socket.end("SSH-2.0-OpenSSH_9.2p1 fake\r\n"));
        servers.push(server);
        server.listen(port, "127.0.0.1");
        await once(server, "listening");
      }
      t.teardown(() => servers.forEach((server) => server.close()));
      return [base, base + count - 1];
    } catch {
      servers.forEach((server) => server.close());
    }
  }
  throw new Error("no free port range for SSH banners");
}

async function settle(client: NexusClient, id: string): Promise<WorkspaceDetail> {
  const end = Date.now() + 60_000;
  for (;;) {
    const detail = await client.getWorkspace(id);
    if (detail.status === "running" || detail.status === "error") return detail;
    if (Date.now() > end) throw new Error(`workspace ${id} is still ${detail.status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test("tokens and keys stay out of logs, the database, error bodies, the agent's disk and the container", async (t) => {
  const tree = tempTree({});
  t.teardown(tree.cleanup);
  const dataDir = join(tree.dir, "server");
  const cloneToken = `clone-canary-${randomUUID()}`;
  const wrongCloneToken = `wrong-canary-${randomUUID()}`;
  const urlPassword = `ghp_urlcanary${randomUUID().replaceAll("-", "")}`;
  mkdirSync(join(tree.dir, "served"), { recursive: true });
  const repo = await makeRepo(tree.dir, "octo", "shop", { "README.md": "# shop\n" });
  const git = await startGitHttpServer(join(tree.dir, "served"), cloneToken);
  t.teardown(() => git.close());
  const github = await startGithubEmulator();
  t.teardown(() => github.close());
  const serverLogs = createLogCapture();
  const server = await startServer({
    port: 0,
    dataDir,
    githubApiUrl: github.apiUrl,
    allowedRepoHosts: [git.host],
    services: { allowHttpRepos: true },
    log: serverLogs.log,
    rateLimit: false,
  });
  t.teardown(() => server.close());
  const admin = createClient({ server: server.url, token: server.adminToken });
  const { token: joinToken } = await admin.createNodeToken({ description: "security", ttl_seconds: 600 });

  const agent = await agentHarness(t);
  const sshPorts = await bannerPorts(t, 4);
  await agent.start({ server: server.url, joinToken, allowHttpRepos: true, allowedRepoHosts: [git.host], allowLocalRepos: false, sshPorts });
  const identity = JSON.parse(readFileSync(join(agent.dataDir, "agent.json"), "utf8")) as { node_token: string };
  const nodeToken = identity.node_token;

  const register = async (login: string) => {
    const account = github.addUser(login);
    const githubToken = github.issueToken(login);
    const key = generateTestKeyPair(`${login}@laptop`);
    const registered = await createClient({ server: server.url, token: githubToken }).registerGithub({ github_username: login, github_id: account.id, ssh_pubkey: key.publicKey });
    return { githubToken, apiToken: registered.api_token, privateKey: key.privateKeyPem, client: createClient({ server: server.url, token: registered.api_token }) };
  };
  const alice = await register("alice");
  const bob = await register("bob");

  const errorBodies: string[] = [];
  const expectError = async (what: string, work: () => Promise<unknown>) => {
    const error = await work().then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(isNexusError(error), `${what} fails`);
    if (isNexusError(error)) errorBodies.push(JSON.stringify({ ...error.toJSON(), what }));
  };

  await t.test("a workspace cloned with a clone_token reaches running", async (t) => {
    const created = await alice.client.createWorkspace({ workspace_name: "shop", repo: { owner: "octo", name: "shop", url: `${git.url}/octo/shop.git` }, clone_token: cloneToken });
    const detail = await settle(alice.client, created.workspace_id);
    t.equal(detail.status, "running", JSON.stringify(detail.error ?? {}));
    t.ok(git.authorized > 0, "the git server saw the token");
    t.equal(repo.commit.length, 40);
  });

  await t.test("failures that handle secrets say why without repeating them", async (t) => {
    const wrong = await alice.client.createWorkspace({ workspace_name: "wrong-token", repo: { owner: "octo", name: "shop", url: `${git.url}/octo/shop.git` }, clone_token: wrongCloneToken });
    const failed = await settle(alice.client, wrong.workspace_id);
    t.equal(failed.status, "error");
    t.equal(failed.error?.code, "clone_failed");
    errorBodies.push(JSON.stringify(failed));
    await expectError("credentials in the URL", () =>
      alice.client.createWorkspace({ repo: { owner: "octo", name: "shop", url: `https://alice:${urlPassword}@github.com/octo/shop.git` } }),
    );
    await expectError("credentials in an scp-style URL", () => alice.client.createWorkspace({ repo: { owner: "octo", name: "shop", url: `alice:${urlPassword}@github.com:octo/shop.git` } }));
    const newline = await alice.client.createWorkspace({ workspace_name: "newline", repo: { owner: "octo", name: "shop", url: `${git.url}/octo/shop.git` }, clone_token: `${cloneToken}\nx` });
    const refused = await settle(alice.client, newline.workspace_id);
    t.equal(refused.status, "error", "a clone token with a control character is refused by the agent");
    errorBodies.push(JSON.stringify(refused));
    await expectError("bob reading alice's workspace with alice's token in the path", () => bob.client.getWorkspace(alice.apiToken.replace("nxs_", "ws_")));
    await expectError("a revoked token", async () => {
      const temp = await register("carol");
      await temp.client.revokeToken();
      return temp.client.me();
    });
    await expectError("a user's token on an admin route", () => createClient({ server: server.url, token: alice.apiToken }).listNodes());
    await expectError("a node token on a user route", () => createClient({ server: server.url, token: nodeToken }).listWorkspaces());
    await expectError("a join token on a user route", () => createClient({ server: server.url, token: joinToken }).listWorkspaces());
    await expectError("an unknown token of every kind", () => createClient({ server: server.url, token: `nxs_${cloneToken}` }).me());
    t.ok(errorBodies.length >= 8);
  });

  await t.test("the agent wrote no secret into the container", async (t) => {
    t.ok(agent.writes.some((w) => w.path.endsWith(".bundle")), `files written into containers: ${agent.writes.map((w) => w.path).join(", ")}`);
    for (const secret of [cloneToken, wrongCloneToken, alice.apiToken, alice.githubToken, nodeToken, joinToken]) {
      t.same(agent.writes.filter((w) => w.data.includes(secret)).map((w) => w.path), [], "no file written into a container holds a token");
    }
    const calls = JSON.stringify(agent.kit.control.calls);
    t.match(calls, "nexus-clone", "the provider calls were recorded");
    for (const secret of [cloneToken, wrongCloneToken, nodeToken, joinToken]) t.notMatch(calls, secret, "no provider call (exec argv, spec) carries a token");
  });

  // Everything settled: read what is on disk and in the logs while the server still runs (WAL not yet checkpointed).
  const secrets: Record<string, string> = {
    "the clone token": cloneToken,
    "a wrong clone token": wrongCloneToken,
    "a password in a URL": urlPassword,
    "alice's API token": alice.apiToken,
    "alice's GitHub token": alice.githubToken,
    "bob's API token": bob.apiToken,
    "bob's GitHub token": bob.githubToken,
    "the node token": nodeToken,
    "the join token": joinToken,
    "the admin token": server.adminToken,
    "alice's private key": alice.privateKey.split("\n")[1]!,
  };

  await t.test("the database and its WAL hold none of them; the token table holds SHA-256 hashes", async (t) => {
    const files = readdirSync(dataDir).filter((f) => f.startsWith("nexus.db"));
    t.ok(files.includes("nexus.db"), `database files: ${files.join(", ")}`);
    for (const [what, secret] of Object.entries(secrets)) {
      t.same(files.filter((f) => readFileSync(join(dataDir, f)).includes(secret)), [], `${what} is not in ${files.join(" / ")}`);
    }
    for (const file of files) t.notMatch(readFileSync(join(dataDir, file)).toString("latin1"), /nx[snj]_[A-Za-z0-9_-]{20,}|PRIVATE KEY/, `${file}: no raw nexus token or private key`);
    const db = new DatabaseSync(join(dataDir, "nexus.db"), { readOnly: true });
    t.teardown(() => db.close());
    const rows = db.prepare("SELECT hash, kind FROM api_tokens").all() as { hash: string; kind: string }[];
    t.ok(rows.length >= 5, `${rows.length} tokens`);
    for (const row of rows) t.match(row.hash, /^[0-9a-f]{64}$/, `a ${row.kind} token is stored as a SHA-256 hash`);
    const hashes = new Set(rows.map((r) => r.hash));
    for (const [what, secret] of Object.entries({ "alice's API token": alice.apiToken, "bob's API token": bob.apiToken, "the node token": nodeToken, "the join token": joinToken })) {
      t.ok(hashes.has(sha256(secret)), `${what} is there as sha256(token)`);
    }
  });

  await t.test("error bodies repeat none of them", async (t) => {
    const text = errorBodies.join("\n");
    for (const [what, secret] of Object.entries(secrets)) t.notMatch(text, secret, `${what} is not in an error body`);
  });

  await t.test("server and agent logs (trace level) hold none of them", async (t) => {
    const logs = { server: serverLogs.text(), agent: agent.capture.text() };
    t.ok(logs.server.length > 1000 && logs.agent.length > 1000, "both logged plenty");
    for (const [who, text] of Object.entries(logs)) {
      for (const [what, secret] of Object.entries(secrets)) t.notMatch(text, secret, `${what} is not in the ${who} log`);
      t.notMatch(text, /PRIVATE KEY/, `no private key in the ${who} log`);
    }
  });

  await t.test("the agent's data dir: only agent.json holds the node token (0600); no other secret anywhere", async (t) => {
    t.same(filesContaining(agent.dataDir, nodeToken), ["agent.json"], "the node identity is the only copy of the node token");
    t.equal(statSync(join(agent.dataDir, "agent.json")).mode & 0o777, 0o600, "agent.json is 0600");
    for (const [what, secret] of Object.entries(secrets)) {
      if (secret === nodeToken) continue;
      t.same(filesContaining(agent.dataDir, secret), [], `${what} is not on the node's disk`);
    }
    t.ok(readdirSync(join(agent.dataDir, "mirrors")).length > 0, "the mirror cache exists (and was searched)");
  });

  await t.test("the server's data dir: the admin token only in admin-token (0600)", async (t) => {
    t.same(filesContaining(dataDir, server.adminToken), ["admin-token"]);
    t.equal(statSync(join(dataDir, "admin-token")).mode & 0o777, 0o600);
    for (const [what, secret] of Object.entries(secrets)) {
      if (secret === server.adminToken) continue;
      t.same(filesContaining(dataDir, secret), [], `${what} is not in the server's data dir`);
    }
  });
});
