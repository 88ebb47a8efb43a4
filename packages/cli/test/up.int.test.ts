// nexus up / down in-process: the machine-facing parts (engine probes, base image, starting
// the background server) are replaced by recorders; the server they "start" is the real
// startServer with its in-process agent on the FakeProvider, writing this user's local
// token file. Everything else is the real journey.
import t, { type Test } from "tap";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { isNexusError, type WorkspaceDetail } from "@nexus/core";
import { Capture, tempTree } from "@nexus/test-utils";
import { makeContext, type CommandContext } from "../src/io.js";
import { nexusDown, nexusUp, snapshotDir, type EngineName, type UpDeps } from "../src/commands/up.js";
import { runCli } from "./helpers.js";
import { fakeServer, freePort, git, sandbox, type Sandbox } from "./setup-harness.js";

interface Recorder {
  deps: UpDeps;
  builds: EngineName[];
  starts: Array<{ port: number; provider: EngineName }>;
}

function recorder(t: Test, s: Sandbox, options: { engines?: EngineName[]; image?: boolean; root?: boolean } = {}): Recorder {
  const engines = options.engines ?? ["docker"];
  let image = options.image ?? false;
  const rec: Recorder = {
    builds: [],
    starts: [],
    deps: {
      async probeEngine(engine) {
        return engines.includes(engine) ? { ok: true, detail: `${engine}: answering on /run/${engine}.sock` } : { ok: false, detail: `${engine}: no socket` };
      },
      async hasBaseImage() {
        return image;
      },
      async buildBaseImage(_ctx, engine) {
        rec.builds.push(engine);
        image = true;
      },
      async startServer(_ctx, { port, provider }) {
        rec.starts.push({ port, provider });
        const server = await fakeServer(t, s, { nexusHome: s.nexusHome, port });
        return { pid: process.pid, url: server.url, log: join(s.nexusHome, "server", "server.log"), pid_file: join(s.nexusHome, "server", "server.pid"), started: true };
      },
      isRoot: () => options.root ?? true,
    },
  };
  return rec;
}

function context(s: Sandbox, cwd: string, json = false): { ctx: CommandContext; stdout: Capture; stderr: Capture } {
  const stdout = new Capture();
  const stderr = new Capture();
  const ctx = makeContext({ cwd, env: s.env, stdout, stderr }, { json, quiet: false, verbose: false, color: false });
  return { ctx, stdout, stderr };
}

/** A project directory that is not a git repository (like examples/hello inside nexus's own checkout). */
function project(t: Test): string {
  const tree = tempTree({ hello: { ".nexus": { "config.yaml": "version: 1\nname: hello\n" }, "server.js": "// hello\n", node_modules: { "big.js": "x\n" } } });
  t.teardown(tree.cleanup);
  return join(tree.dir, "hello");
}

t.test("up <dir>: engine, image built, local server started, no GitHub, key registered locally, created, connected; again: only connects", async (t) => {
  const s = await sandbox(t);
  const rec = recorder(t, s, { engines: ["docker"] });
  const dir = project(t);
  const port = await freePort();

  const first = context(s, s.work);
  const result = await nexusUp(first.ctx, { repo: dir, editor: "none", port }, rec.deps);
  const out = first.stdout.text;
  const headers = [...out.matchAll(/^\[(\d)\/7\] (.+)$/gm)].map((m) => m[2]);
  t.same(headers, ["Container engine", "Base image", "Local server", "GitHub login", "SSH key", "Workspace", "Connect"]);
  t.match(out, /using Docker \(provider docker, Incus does not answer\)/, "says which engine, and why");
  t.match(out, /nexus\/debian-12 built and imported into Docker/);
  t.same(rec.builds, ["docker"]);
  t.same(rec.starts, [{ port, provider: "docker" }], "the server is started on the port asked for, with the chosen engine");
  t.match(out, new RegExp(`started a local nexus server at http://127\\.0\\.0\\.1:${port}`));
  t.match(out, /not needed for a local directory on this machine's server — skipped/);
  t.match(out, /id_ed25519\.pub .* generated and registered with the local server/);
  t.match(out, /is not the top of a git repository: its files are snapshotted in/);
  t.match(out, /workspace hello created and running/);
  t.match(out, /ready in .*: workspace hello is running; connect with: ssh nexus-hello/);

  const publicKey = readFileSync(join(s.home, ".ssh", "id_ed25519.pub"), "utf8").trim();
  t.equal(readFileSync(join(s.nexusHome, "server", "authorized_keys"), "utf8"), `${publicKey}\n`, "the key is the local user's");
  const snapshot = snapshotDir(s.nexusHome, dir);
  t.equal(result.snapshot, snapshot);
  t.ok(existsSync(join(snapshot, ".nexus", "config.yaml")), "the snapshot holds the project's files");
  t.notOk(existsSync(join(snapshot, "node_modules")), "but not node_modules");
  t.notOk(existsSync(join(dir, ".git")), "the project directory is left alone");
  t.match(result, { mode: "single-machine", engine: "docker", server: { started: true }, workspace: { workspace_name: "hello", status: "running", action: "created" } });
  t.equal(result.connect.repository.url, pathToFileURL(snapshot).href);

  const again = context(s, s.work, true);
  const second = await nexusUp(again.ctx, { repo: dir, editor: "none" }, rec.deps);
  t.same(JSON.parse(again.stdout.text), JSON.parse(JSON.stringify(second)), "--json: exactly one document");
  t.same(
    second.steps.map((step) => `${step.name}:${step.status}`),
    ["engine:done", "base_image:skipped", "server:skipped", "github_login:skipped", "ssh_key:skipped", "workspace:skipped", "connect:done"],
  );
  t.equal(rec.starts.length, 1, "the running local server is reused");
  t.match(second, { server: { started: false }, workspace: { action: "reused" } });
});

t.test("down stops the workspace of the current directory; up starts it again", async (t) => {
  const s = await sandbox(t);
  const rec = recorder(t, s);
  const dir = project(t);
  await nexusUp(context(s, s.work).ctx, { repo: dir, editor: "none", port: await freePort() }, rec.deps);

  const down = context(s, dir);
  const stopped = (await nexusDown(down.ctx)) as WorkspaceDetail;
  t.equal(stopped.status, "stopped");
  t.match(down.stdout.text, /workspace hello stopped/);
  t.match(down.stdout.text, /nexus server stop/);

  const again = context(s, dir);
  const up = await nexusUp(again.ctx, { editor: "none" }, rec.deps);
  t.match(up.workspace, { workspace_name: "hello", status: "running", action: "started" }, "`nexus up` in the directory itself");

  const named = await runCli(["down", "hello", "--json"], { env: s.env, cwd: s.work });
  t.equal(named.code, 0, named.stderr);
  t.equal(JSON.parse(named.stdout).status, "stopped");
  const elsewhere = await runCli(["down"], { env: s.env, cwd: s.work });
  t.equal(elsewhere.code, 4, "no workspace for an unrelated directory");
  t.match(elsewhere.stderr, /no workspace for/);
  t.match(elsewhere.stderr, /nexus down <workspace>/);
});

t.test("a git repository is used as it is, not snapshotted; Incus is preferred when it answers", async (t) => {
  const s = await sandbox(t);
  const rec = recorder(t, s, { engines: ["lxc", "docker"], image: true });
  const repo = join(s.root, "seed");
  const r = await nexusUp(context(s, repo).ctx, { editor: "none", port: await freePort() }, rec.deps);
  t.equal(r.snapshot, null);
  t.equal(r.engine, "lxc");
  t.same(rec.builds, [], "the image was there");
  t.equal(r.steps[1]?.status, "skipped");
  t.equal(r.connect.repository.url, pathToFileURL(repo).href);
  t.match(r.workspace, { workspace_name: "seed", action: "created" });
  t.equal(git(repo, "status", "--porcelain"), "", "the repository is untouched");
});

t.test("not root and no base image: a clear error naming `sudo nexus node image build`, and no server started", async (t) => {
  const s = await sandbox(t);
  const rec = recorder(t, s, { engines: ["docker"], root: false });
  const up = context(s, s.work);
  const error = await nexusUp(up.ctx, { repo: project(t), port: await freePort() }, rec.deps).catch((e: unknown) => e);
  t.ok(isNexusError(error) && error.code === "provision_failed", String(error));
  t.match((error as Error).message, /not in Docker yet, and building it needs root/);
  t.match(isNexusError(error) ? error.hint : "", /sudo nexus node image build --provider docker/);
  t.same(rec.starts, []);
});

t.test("no engine answers: provider_unavailable with what to run", async (t) => {
  const s = await sandbox(t);
  const rec = recorder(t, s, { engines: [] });
  const error = await nexusUp(context(s, s.work).ctx, { repo: project(t), port: await freePort() }, rec.deps).catch((e: unknown) => e);
  t.ok(isNexusError(error) && error.code === "provider_unavailable", String(error));
  t.match((error as Error).message, /lxc: no socket; docker: no socket/);
  t.match(isNexusError(error) ? error.hint : "", /scripts\/engines\/setup\.sh/);
  const forced = await nexusUp(context(s, s.work).ctx, { repo: project(t), provider: "docker", port: await freePort() }, rec.deps).catch((e: unknown) => e);
  t.match(isNexusError(forced) ? forced.hint : "", /drop --provider/);
});

t.test("a configured server that answers is used: no engine, image or local server; the GitHub journey runs on it", async (t) => {
  const s = await sandbox(t);
  const rec = recorder(t, s);
  const server = await fakeServer(t, s, { nexusHome: join(s.root, "server-home") });
  const env = { ...s.env, NEXUS_GITHUB_TOKEN: s.token };
  const stdout = new Capture();
  const ctx = makeContext({ cwd: s.work, env, stdout, stderr: new Capture() }, { json: false, quiet: false, verbose: false, color: false, server: server.url });
  const r = await nexusUp(ctx, { repo: "acme/shop", editor: "none" }, rec.deps);
  t.equal(r.mode, "server");
  t.same(r.steps.slice(0, 3).map((step) => step.status), ["skipped", "skipped", "skipped"]);
  t.match(stdout.text, new RegExp(`using the configured server ${server.url.replace(/\./g, "\\.")} — skipped`));
  t.same(rec.starts, []);
  t.match(r.workspace, { workspace_name: "shop", status: "running" });
  t.equal(r.connect.repository.owner, "octocat", "the user's fork");
});

t.test("a configured server on 127.0.0.1 that does not answer is started there", async (t) => {
  const s = await sandbox(t);
  const rec = recorder(t, s);
  const port = await freePort();
  const stderr = new Capture();
  const ctx = makeContext({ cwd: s.work, env: { ...s.env, NEXUS_SERVER: `http://127.0.0.1:${port}` }, stdout: new Capture(), stderr }, { json: false, quiet: false, verbose: false, color: false, server: `http://127.0.0.1:${port}` });
  const r = await nexusUp(ctx, { repo: project(t), editor: "none" }, rec.deps);
  t.same(rec.starts, [{ port, provider: "docker" }]);
  t.match(stderr.text, new RegExp(`nothing answers at the configured http://127\\.0\\.0\\.1:${port}: starting a local server there`));
  t.match(r, { mode: "single-machine", server: { url: `http://127.0.0.1:${port}`, started: true }, workspace: { status: "running" } });
  const list = await runCli(["workspace", "list", "--json"], { env: { ...s.env, NEXUS_SERVER: `http://127.0.0.1:${port}` } });
  t.equal(JSON.parse(list.stdout).workspaces[0]?.status, "running", "later commands reach it with the local token");
});
