// nexus doctor in-process: a fake nexus server, the GitHub emulator, and Incus / Docker
// stand-ins answering on unix sockets; PATH holds exactly the tools each case needs.
import t, { type Test } from "tap";
import { once } from "node:events";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import ssh2 from "ssh2";
import { generateEd25519Pair } from "@nexus/github";
import { tempTree } from "@nexus/test-utils";
import { startGithubEmulator } from "@nexus/github/testing";
import { runCli } from "./helpers.js";
import { startFakeServer } from "./workspace-fake-server.js";

async function socketServer(t: Test, path: string, routes: Record<string, unknown>): Promise<Server> {
  const server = createServer((req, res) => {
    const body = routes[req.url ?? ""];
    if (body === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": typeof body === "string" ? "text/plain" : "application/json" });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  });
  server.listen(path);
  await once(server, "listening");
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return server;
}

async function harness(t: Test, options: { tools?: string[]; include?: boolean; editor?: boolean } = {}) {
  const tree = tempTree({ home: { ".ssh": {} }, bin: {}, run: {} });
  t.teardown(tree.cleanup);
  const home = join(tree.dir, "home");
  const bin = join(tree.dir, "bin");
  for (const tool of options.tools ?? ["git", "ssh"]) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
  if (options.editor !== false) writeFileSync(join(bin, "code"), "#!/bin/sh\necho 1.95.3\n", { mode: 0o755 });
  const key = generateEd25519Pair();
  writeFileSync(join(home, ".ssh", "id_ed25519"), key.private, { mode: 0o600 });
  writeFileSync(join(home, ".ssh", "id_ed25519.pub"), `${key.public}\n`);
  const nexusHome = join(home, ".nexus");
  if (options.include !== false) writeFileSync(join(home, ".ssh", "config"), `Include ${join(nexusHome, "ssh", "config")}\n\nHost *\n  ServerAliveInterval 30\n`);

  const gh = await startGithubEmulator();
  t.teardown(() => gh.close());
  gh.addUser("octocat");
  const server = await startFakeServer();
  t.teardown(() => server.close());
  const run = join(tree.dir, "run");
  mkdirSync(run, { recursive: true });
  await socketServer(t, join(run, "incus.socket"), { "/1.0": { type: "sync", metadata: { environment: { server: "incus", server_version: "6.0.4" } } } });
  await socketServer(t, join(run, "docker.sock"), { "/_ping": "OK", "/version": { Version: "20.10.24", ApiVersion: "1.41" } });
  const env: Record<string, string | undefined> = {
    HOME: home,
    NEXUS_HOME: nexusHome,
    PATH: bin,
    NEXUS_SERVER: server.url,
    NEXUS_TOKEN: server.options.token,
    NEXUS_GITHUB_API_URL: gh.apiUrl,
    NEXUS_GITHUB_TOKEN: gh.issueToken("octocat"),
    INCUS_SOCKET: join(run, "incus.socket"),
    DOCKER_HOST: `unix://${join(run, "docker.sock")}`,
  };
  return { env, server, home, run };
}

interface Check {
  name: string;
  status: string;
  required: boolean;
  detail: string;
  fix?: string;
}

function checks(stdout: string): Record<string, Check> {
  const doc = JSON.parse(stdout) as { checks: Check[] };
  return Object.fromEntries(doc.checks.map((c) => [c.name, c]));
}

t.test("everything in place: every check passes, exit 0, one JSON document", async (t) => {
  const { env } = await harness(t);
  const human = await runCli(["doctor"], { env });
  t.equal(human.code, 0, human.stdout + human.stderr);
  t.match(human.stdout, /✓ git\s+git version/);
  t.match(human.stdout, /✓ ssh\s+OpenSSH/);
  t.match(human.stdout, /✓ server\s+http:\/\/127\.0\.0\.1:\d+ — version 0\.1\.0, 1\/1 node online/);
  t.match(human.stdout, /✓ auth\s+signed in to the server as octo/);
  t.match(human.stdout, /✓ github\s+octocat on /);
  t.match(human.stdout, /✓ ssh key\s+.*id_ed25519 \(SHA256:/);
  t.match(human.stdout, /✓ providers\s+✓ lxc: incus 6\.0\.4 on .*incus\.socket; ✓ docker: Engine 20\.10\.24 \(API 1\.41\)/);
  t.match(human.stdout, /✓ editors\s+code 1\.95\.3/);
  t.match(human.stdout, /✓ ssh config/);
  t.match(human.stdout, /nexus is ready/);

  const json = await runCli(["doctor", "--json"], { env });
  t.equal(json.code, 0);
  const doc = JSON.parse(json.stdout);
  t.equal(doc.ok, true);
  t.same(doc.checks.map((c: Check) => c.status), Array(9).fill("ok"));
});

t.test("server unreachable: exit 7, the fix names `nexus server start`, auth is skipped", async (t) => {
  const { env, server } = await harness(t);
  await server.close();
  const r = await runCli(["doctor"], { env });
  t.equal(r.code, 7);
  t.match(r.stdout, /✗ server\s+cannot reach the nexus server/);
  t.match(r.stdout, /fix: Start the local server with `nexus server start --with-agent`/);
  t.match(r.stdout, /- auth\s+skipped/);
  t.match(r.stdout, /1 required check failed: server/);
  const j = await runCli(["doctor", "--json"], { env });
  t.equal(j.code, 7);
  t.equal(checks(j.stdout).auth!.status, "skip");
});

t.test("a token the server refuses: exit 3 with `nexus auth github`", async (t) => {
  const { env } = await harness(t);
  const r = await runCli(["doctor", "--json"], { env: { ...env, NEXUS_TOKEN: "nxs_wrong" } });
  t.equal(r.code, 3);
  const auth = checks(r.stdout).auth!;
  t.equal(auth.status, "fail");
  t.match(auth.fix, /nexus auth github/);
});

t.test("no container engine answers with a local server: exit 8 and how to start one", async (t) => {
  const { env, run } = await harness(t);
  const r = await runCli(["doctor"], { env: { ...env, INCUS_SOCKET: join(run, "none.socket"), DOCKER_HOST: `unix://${join(run, "none.sock")}` } });
  t.equal(r.code, 8);
  t.match(r.stdout, /✗ providers\s+✗ lxc: .*none\.socket does not answer \(ENOENT\); ✗ docker: .*none\.sock does not answer/);
  t.match(r.stdout, /fix: Start Incus/);
});

t.test("git missing: the first failing category decides the exit status", async (t) => {
  const { env } = await harness(t, { tools: ["ssh"] });
  const r = await runCli(["doctor", "--json"], { env: { ...env, NEXUS_TOKEN: "nxs_wrong" } });
  t.equal(r.code, 2, "git (invalid_config) comes before auth");
  const all = checks(r.stdout);
  t.equal(all.git!.status, "fail");
  t.match(all.git!.detail, /git is not on PATH/);
  t.match(all.git!.fix, /apt-get install git/);
  t.equal(all.auth!.status, "fail");
});

t.test("optional checks only warn: no editor, no Include line, no GitHub login with a local server", async (t) => {
  const { env, home } = await harness(t, { include: false, editor: false });
  const r = await runCli(["doctor"], { env: { ...env, NEXUS_GITHUB_TOKEN: undefined } });
  t.equal(r.code, 0, r.stdout);
  t.match(r.stdout, /! editors\s+no supported editor on PATH/);
  t.match(r.stdout, /! ssh config\s+.*does not include/);
  t.match(r.stdout, `Include ${join(home, ".nexus", "ssh", "config")}`);
  t.match(r.stdout, /! github\s+not logged in to GitHub/);
  t.match(r.stdout, /nexus is ready/);
});

t.test("no SSH key: exit 3 with `nexus ssh setup`", async (t) => {
  const { env, home } = await harness(t);
  const r = await runCli(["doctor", "--json"], { env: { ...env, HOME: join(home, "elsewhere") } });
  t.equal(r.code, 3);
  t.match(checks(r.stdout)["ssh key"]!.fix, /nexus ssh setup/);
});
