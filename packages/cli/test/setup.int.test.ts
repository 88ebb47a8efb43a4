// nexus workspace setup-from-repo: one journey (GitHub login → SSH key → workspace →
// connect) against the real server with its in-process agent on the FakeProvider and the
// GitHub emulator; steps already done are skipped and say so; --json is one document.
import t from "tap";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { runCli } from "./helpers.js";
import { fakeServer, sandbox } from "./setup-harness.js";

t.test("first run does every step; a second run skips to connect; --json is one document", async (t) => {
  const s = await sandbox(t);
  // Another machine's server: its local token goes elsewhere, the CLI registers with GitHub.
  const server = await fakeServer(t, s, { nexusHome: join(s.root, "server-home") });
  const env = { ...s.env, NEXUS_GITHUB_TOKEN: s.token };

  const first = await runCli(["workspace", "setup-from-repo", "acme/shop", "--server", server.url, "--editor", "none"], { env, cwd: s.work });
  t.equal(first.code, 0, first.stderr);
  const out = first.stdout;
  const headers = [...out.matchAll(/^\[(\d)\/4\] (.+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
  t.same(headers, ["1 GitHub login", "2 SSH key", "3 Workspace", "4 Connect"], "a numbered header per step, in order");
  t.match(out, /already logged in to GitHub as octocat \(token from NEXUS_GITHUB_TOKEN\) — skipped/);
  t.match(out, new RegExp(`id_ed25519\\.pub on GitHub \\(created\\) and registered with ${server.url.replace(/\./g, "\\.")} as octocat`));
  t.match(out, /forked acme\/shop to octocat\/shop/);
  t.match(out, /workspace shop created and running/);
  t.match(out, /SSH to nexus-shop checked; connect with ssh nexus-shop/);
  t.match(out, /✔ ready in [\d.]+m?s: workspace shop is running; connect with: ssh nexus-shop/);
  t.equal(s.gh.keysOf("octocat").length, 1, "the generated key is on GitHub");
  t.equal(parse(readFileSync(join(s.nexusHome, "config.yaml"), "utf8")).server, server.url, "the server is remembered");
  t.same(s.sshRuns().at(-1)?.slice(-3), ["nexus-shop", "echo", "OK"], "connect checked SSH");

  const again = await runCli(["--json", "workspace", "setup-from-repo", "acme/shop", "--editor", "none"], { env, cwd: s.work });
  t.equal(again.code, 0, again.stderr);
  const doc = JSON.parse(again.stdout);
  t.equal(doc.server, server.url, "the remembered server");
  t.same(
    doc.steps.map((step: { name: string; status: string }) => `${step.name}:${step.status}`),
    ["github_login:skipped", "ssh_key:skipped", "workspace:skipped", "connect:done"],
  );
  t.match(doc.steps[1].detail, /already registered with/);
  t.match(doc.workspace, { workspace_name: "shop", status: "running", action: "reused" });
  t.match(doc.connect, { workspace: "shop", ssh: { host: "nexus-shop" }, editor: { name: null, launched: false } });
  t.type(doc.total_ms, "number");
  const list = JSON.parse((await runCli(["--json", "workspace", "list"], { env: { ...env, NEXUS_SERVER: server.url } })).stdout);
  t.equal(list.total, 1, "no second workspace");
});

t.test("a stopped workspace for the repository is started, not created again", async (t) => {
  const s = await sandbox(t);
  const server = await fakeServer(t, s, { nexusHome: join(s.root, "server-home") });
  const env = { ...s.env, NEXUS_GITHUB_TOKEN: s.token, NEXUS_SERVER: server.url };
  t.equal((await runCli(["workspace", "setup-from-repo", "acme/shop", "--editor", "none"], { env, cwd: s.work })).code, 0);
  t.equal((await runCli(["workspace", "stop", "shop"], { env })).code, 0);

  const r = await runCli(["--json", "workspace", "setup-from-repo", "acme/shop", "--editor", "none"], { env, cwd: s.work });
  t.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  t.equal(doc.steps[2].status, "done");
  t.match(doc.workspace, { workspace_name: "shop", status: "running", action: "started" });
  const list = JSON.parse((await runCli(["--json", "workspace", "list"], { env })).stdout);
  t.equal(list.total, 1, "still one workspace");
});

t.test("without a GitHub login: stops at step 1 with exit 3 and the command to run", async (t) => {
  const s = await sandbox(t);
  const server = await fakeServer(t, s, { nexusHome: join(s.root, "server-home") });
  const r = await runCli(["workspace", "setup-from-repo", "acme/shop", "--server", server.url], { env: s.env, cwd: s.work });
  t.equal(r.code, 3);
  t.match(r.stdout, /^\[1\/4\] GitHub login$/m);
  t.notMatch(r.stdout, /\[2\/4\]/);
  t.match(r.stderr, /auth_required/);
  t.match(r.stderr, /nexus auth github/);
});

t.test("no server anywhere: a usage error naming --server and nexus up", async (t) => {
  const s = await sandbox(t);
  const r = await runCli(["workspace", "setup-from-repo", "acme/shop"], { env: s.env, cwd: s.work });
  t.equal(r.code, 2);
  t.match(r.stderr, /--server URL/);
  t.match(r.stderr, /nexus up/);
});

t.test("a local directory is refused for a server that is not this machine's", async (t) => {
  const s = await sandbox(t);
  const server = await fakeServer(t, s, { nexusHome: join(s.root, "server-home") });
  const r = await runCli(["workspace", "setup-from-repo", join(s.root, "seed"), "--server", server.url], { env: { ...s.env, NEXUS_GITHUB_TOKEN: s.token }, cwd: s.work });
  t.equal(r.code, 2);
  t.match(r.stderr, /is not this machine's single-machine server/);
  t.match(r.stderr, /nexus up/);
});
