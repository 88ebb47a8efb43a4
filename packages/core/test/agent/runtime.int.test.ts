// The agent runtime against the fake server and the FakeProvider: registration and its
// reuse, heartbeats, the create pipeline's phases, failures with their phase, redelivered
// commands, the other commands, and recovery after a restart.
import t, { type Test } from "tap";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AGENT_LABELS, LABELS, REPO_LABELS, type NodeEvent } from "@nexus/core";
import { agentHarness, createCommand, healthyStatus, ids, type AgentHarness } from "./helpers/harness.js";
import { makeRepo, type TestRepo } from "./helpers/repo.js";

async function localRepo(t: Test, config?: string): Promise<TestRepo> {
  const root = mkdtempSync(join(tmpdir(), "nexus-agent-repo-"));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  return makeRepo(root, "octo", "demo", { "README.md": "# demo\n", ...(config ? { ".nexus/config.yaml": config } : {}) });
}

function phases(events: NodeEvent[], workspace: string) {
  return events.filter((e): e is Extract<NodeEvent, { type: "phase" }> => e.type === "phase" && e.workspace_id === workspace);
}

async function resultOf(h: AgentHarness, id: string) {
  return h.server.until(() => h.server.results.find((r) => r.commandId === id), `the result of ${id}`);
}

t.test("registers with the join token, keeps the identity in agent.json (0600) and reuses it", async (t) => {
  const h = await agentHarness(t);
  const first = await h.start();
  t.match(first.nodeId, /^node_/);
  t.equal(h.server.registrations.length, 1);
  t.match(h.server.registrations[0], { name: "node-a", providers: ["fake"], ssh_host: "127.0.0.1", ssh_port_range: { start: 2222, end: 2299 }, capacity: { max_workspaces: 78 } });
  const file = join(h.dataDir, "agent.json");
  t.equal(statSync(file).mode & 0o777, 0o600, "agent.json is private");
  t.equal(JSON.parse(readFileSync(file, "utf8")).node_id, first.nodeId);
  await h.server.until(() => h.server.heartbeats.length > 0, "a heartbeat");
  t.match(h.server.heartbeats[0], { providers: [{ name: "fake", ok: true, version: "fake-1" }], workspaces: 0 });
  await first.stop();

  const second = await h.start({ joinToken: undefined });
  t.equal(second.nodeId, first.nodeId, "a restart is the same node");
  t.equal(h.server.registrations.length, 1, "no second registration");
});

t.test("registers again when the server has forgotten the node", async (t) => {
  const h = await agentHarness(t);
  const runtime = await h.start();
  const before = runtime.nodeId;
  h.server.forgetNodes();
  await h.server.until(() => h.server.registrations.length === 2, "a new registration");
  await h.server.until(() => runtime.nodeId !== before, "the new node id");
  t.not(runtime.nodeId, before);
});

t.test("creates a workspace: every phase reported in order with its duration, then the result", async (t) => {
  const h = await agentHarness(t);
  const repo = await localRepo(t);
  await h.start();
  const { command, workspace } = ids();
  const config = {
    env: { NODE_ENV: "development" },
    lifecycle: { setup: "npm ci" },
    services: {
      db: { command: "postgres", port: 5432, health_check: { type: "tcp" } },
      web: { command: "npm run dev", port: 3000, depends_on: ["db"], health_check: { type: "http", path: "/health", interval: "1s" } },
    },
  };
  h.server.enqueue(await createCommand(h, { id: command, workspace, url: repo.dir, config }));
  const result = await resultOf(h, command);
  t.equal(result.body.ok, true, JSON.stringify(result.raw));
  if (!result.body.ok || result.body.type !== "create") return;
  const { handle, host_key } = result.body.data;
  t.equal(handle.workspaceId, workspace);
  t.match(host_key, /^ssh-ed25519 /);
  t.equal(handle.labels[AGENT_LABELS.node], "node-a", "the container carries the node's name");
  t.equal(handle.labels[LABELS.testRun], "agent-fast", "labels from the command reach the container");
  t.equal(handle.labels[REPO_LABELS.commit], repo.commit, "the checked-out commit");
  t.equal(handle.labels[REPO_LABELS.branch], "main", "the default branch");

  const reported = phases(h.server.events, workspace);
  const names = ["container_created", "ssh_ready", "repo_cloned", "setup_done", "services_started", "services_healthy"];
  t.same(reported.map((e) => `${e.name}:${e.state}`), names.flatMap((n) => [`${n}:started`, `${n}:completed`]), "phases start and end in order");
  for (const event of reported.filter((e) => e.state === "completed")) t.type(event.duration_ms, "number", `${event.name} is timed`);
  t.same(h.supervisorCalls.map((c) => c[0]), ["prepare", "start", "wait"], "setup, then services started, then waited for");
  const services = h.server.events.filter((e) => e.type === "service" && e.workspace_id === workspace);
  t.same(new Set(services.map((e) => e.type === "service" && `${e.name}:${e.health}`)), new Set(["db:healthy", "web:healthy"]), "service health is reported");

  const staged = h.workspaceFile();
  t.equal(staged.repo_dir, "/home/dev/demo");
  t.same(staged.services.map((s) => s.name), ["db", "web"]);
  t.match(staged.services[1], { depends_on: ["db"], health_check: { type: "http", port: 3000, path: "/health", interval: 1000 } });
  t.equal(staged.env.NODE_ENV, "development");
  t.match(h.cloneCalls[0]?.[4], /supervisorProgram/, "the supervisor is installed");
  t.same(h.cloneCalls[0]?.slice(7), ["/home/dev/demo", "main", repo.dir, ""], "checkout dir, branch, origin, no upstream");
  const bundle = h.writes.find((w) => w.path.endsWith(".bundle"));
  t.match(bundle?.data.toString("latin1"), /^# v2 git bundle\n/, "the branch travels as a git bundle");
});

t.test("a workspace without services or hooks skips the supervisor; its phases are still reported", async (t) => {
  const h = await agentHarness(t);
  const repo = await localRepo(t);
  await h.start();
  const { command, workspace } = ids();
  h.server.enqueue(await createCommand(h, { id: command, workspace, url: `file://${repo.bare}` }));
  t.equal((await resultOf(h, command)).body.ok, true);
  t.same(h.supervisorCalls, [], "no supervisor command");
  t.equal(phases(h.server.events, workspace).filter((e) => e.state === "completed").length, 6);
});

t.test("without a configuration in the command, the repository's .nexus/config.yaml applies", async (t) => {
  const h = await agentHarness(t);
  const repo = await localRepo(t, "services:\n  api:\n    command: node api.js\n    port: 4000\n    health_check: { type: http, path: /health }\n");
  await h.start();
  const { command, workspace } = ids();
  h.server.enqueue(await createCommand(h, { id: command, workspace, url: repo.dir }));
  t.equal((await resultOf(h, command)).body.ok, true);
  t.match(h.workspaceFile().services, [{ name: "api", command: "node api.js", health_check: { type: "http", port: 4000, path: "/health" } }]);
  t.same(h.supervisorCalls.map((c) => c[0]), ["start", "wait"]);
});

t.test("failures name their phase and carry the phase's code", async (t) => {
  const h = await agentHarness(t);
  const repo = await localRepo(t);
  await h.start();

  const provision = ids();
  h.kit.control.failNext("provision", new Error("the engine said no"));
  h.server.enqueue(await createCommand(h, { id: provision.command, workspace: provision.workspace, url: repo.dir }));
  const failed = (await resultOf(h, provision.command)).body;
  t.match(failed, { ok: false, type: "create", error: { code: "provision_failed", phase: "container_created" } });
  t.match(failed.ok === false && failed.error.message, /the engine said no/);
  const event = phases(h.server.events, provision.workspace).find((e) => e.state === "failed");
  t.match(event, { name: "container_created", error: { code: "provision_failed", phase: "container_created" } });

  const branch = ids();
  h.server.enqueue(await createCommand(h, { id: branch.command, workspace: branch.workspace, url: repo.dir, branch: "no-such-branch" }));
  t.match((await resultOf(h, branch.command)).body, { ok: false, error: { code: "clone_failed", phase: "repo_cloned", message: /no-such-branch/ } });

  const remote = ids();
  h.server.enqueue(await createCommand(h, { id: remote.command, workspace: remote.workspace, url: "https://evil.example.com/octo/demo.git" }));
  t.match((await resultOf(h, remote.command)).body, { ok: false, error: { code: "invalid_request", phase: "repo_cloned", message: /not allowed/ } });
  t.notOk(h.kit.control.container(remote.workspace), "nothing was provisioned for a refused URL");

  const unhealthy = ids();
  h.supervisor = (args, workspace) =>
    args[0] === "wait"
      ? { ok: false, stage: "services", reason: "service_failed", service: "web", message: 'service "web" not healthy after 3 s: connect to port 3000: ECONNREFUSED', output: "listening failed", status: null }
      : { ok: true, status: null, ...(workspace ? {} : {}) };
  h.server.enqueue(await createCommand(h, { id: unhealthy.command, workspace: unhealthy.workspace, url: repo.dir, config: { services: { web: { command: "node server.js", port: 3000 } } } }));
  const services = (await resultOf(h, unhealthy.command)).body;
  t.match(services, { ok: false, error: { code: "service_failed", phase: "services_healthy", message: /service "web" not healthy/ } });
  t.match(services.ok === false && services.error.details, { service: "web" });
});

t.test("a redelivered command runs once", async (t) => {
  const h = await agentHarness(t);
  const repo = await localRepo(t);
  await h.start();
  const { command, workspace } = ids();
  const create = await createCommand(h, { id: command, workspace, url: repo.dir });
  h.server.enqueue(create);
  h.server.enqueue(create);
  await resultOf(h, command);
  h.server.enqueue(create);
  const stop = { id: `${command}s`, type: "stop", workspace_id: workspace, created_at: new Date().toISOString(), payload: {} } as const;
  h.server.enqueue(stop);
  await resultOf(h, stop.id);
  t.equal(h.kit.control.calls.filter((c) => c.op === "provision").length, 1, "provisioned once");
  t.equal(h.server.results.filter((r) => r.commandId === command).length, 1, "one result");
  const finished = () => (JSON.parse(readFileSync(join(h.dataDir, "commands.json"), "utf8")) as { finished: string[] }).finished;
  t.ok(await h.server.until(() => finished().includes(command), "the journal on disk"), "the finished id is remembered on disk");
});

t.test("the clone token is used for the fetch and appears in no log, file or container", async (t) => {
  const { startGitHttpServer } = await import("./helpers/git-http.js");
  const h = await agentHarness(t);
  const repo = await localRepo(t, "services:\n  web:\n    command: node web.js\n    port: 3000\n");
  const token = `canary-${Date.now()}-secret`;
  const git = await startGitHttpServer(join(repo.bare, "..", ".."), token);
  t.teardown(() => git.close());
  await h.start({ allowHttpRepos: true, allowedRepoHosts: [git.host] });
  const url = `${git.url}/octo/demo.git`;

  const ok = ids();
  h.server.enqueue(await createCommand(h, { id: ok.command, workspace: ok.workspace, url, cloneToken: token }));
  t.equal((await resultOf(h, ok.command)).body.ok, true);
  t.ok(git.authorized > 0, "git authenticated with the token");

  const again = ids();
  h.server.enqueue(await createCommand(h, { id: again.command, workspace: again.workspace, url, cloneToken: token }));
  t.equal((await resultOf(h, again.command)).body.ok, true, "the cached mirror is fetched with the token");

  const wrong = ids();
  h.server.enqueue(await createCommand(h, { id: wrong.command, workspace: wrong.workspace, url, cloneToken: "not-the-token" }));
  t.match((await resultOf(h, wrong.command)).body, { ok: false, error: { code: "clone_failed", phase: "repo_cloned" } });

  const { execFileSync } = await import("node:child_process");
  const grep = () => {
    try {
      return execFileSync("grep", ["-rl", "--", token, h.dataDir], { encoding: "utf8" });
    } catch {
      return "";
    }
  };
  t.equal(grep(), "", "not in the data dir (mirror config, journal, identity)");
  t.notMatch(h.capture.text(), token, "not in the logs");
  t.notOk(h.writes.some((w) => w.data.includes(token)), "not in any file written into a container");
  t.notOk(h.kit.control.calls.some((c) => c.argv?.some((a) => a.includes(token))), "not in any command run in a container");
  t.notOk(h.server.results.some((r) => JSON.stringify(r.raw).includes(token)), "not in results");
});

t.test("start, stop, delete, exec, logs and reconcile", async (t) => {
  const h = await agentHarness(t);
  const repo = await localRepo(t);
  await h.start();
  const { command, workspace } = ids();
  h.server.enqueue(await createCommand(h, { id: command, workspace, url: repo.dir, config: { services: { web: { command: "web", port: 3000 } } } }));
  const created = (await resultOf(h, command)).body;
  const handle = created.ok && created.type === "create" ? created.data.handle : undefined;
  const at = new Date().toISOString();
  const send = (suffix: string, type: string, payload: Record<string, unknown>) => {
    const id = `${command}${suffix}`;
    h.server.enqueue({ id, type, workspace_id: workspace, created_at: at, payload } as never);
    return resultOf(h, id);
  };

  t.match((await send("x", "exec", { handle, argv: ["echo", "hello"], user: "dev" })).body, { ok: true, type: "exec", data: { exit_code: 0, stdout: "hello\n" } });
  const container = h.kit.control.container(workspace)!;
  h.kit.control.writeFile(container.id, "/var/log/nexus/web.log", "one\ntwo\nthree\n");
  h.kit.control.onExec(({ argv, readFile }) =>
    argv[0] === "tail" ? { exitCode: 0, stdout: (readFile(argv[4]!) ?? "").split("\n").slice(-(Number(argv[2]) + 1)).join("\n"), stderr: "" } : undefined,
  );
  t.match((await send("l", "logs", { service: "web", tail: 2 })).body, { ok: true, data: { text: "two\nthree\n" } });

  t.match((await send("s", "stop", { handle })).body, { ok: true, type: "stop" });
  t.equal(h.kit.control.container(workspace)?.state, "stopped");
  t.same(h.supervisorCalls.at(-1), ["down"], "services are stopped by the supervisor first");
  t.match((await send("l2", "logs", { service: "web", tail: 2 })).body, { ok: false, error: { code: "invalid_transition" } });
  t.match((await send("r", "start", {})).body, { ok: true, type: "start" }, "the handle is found by its labels");
  t.equal(h.kit.control.container(workspace)?.state, "running");
  t.same(h.supervisorCalls.at(-1), ["up"]);

  h.kit.control.addUnmanaged("somebody-else");
  const reconcile = `${command}rc`;
  h.server.enqueue({ id: reconcile, type: "reconcile", workspace_id: null, created_at: at, payload: { workspace_ids: [workspace] } });
  const observed = (await resultOf(h, reconcile)).body;
  t.match(observed, { ok: true, type: "reconcile", data: { workspaces: [{ workspace_id: workspace, state: "running" }] } });
  t.equal(observed.ok && observed.type === "reconcile" && observed.data.workspaces.length, 1, "only this node's containers");
  t.ok(h.server.events.some((e) => e.type === "observed" && e.workspaces.some((w) => w.workspace_id === workspace)), "and an observed event");

  t.match((await send("d", "delete", {})).body, { ok: true, type: "delete" });
  t.notOk(h.kit.control.container(workspace), "the container is gone");
  t.match((await send("d2", "delete", {})).body, { ok: true }, "deleting what is gone succeeds");
});

t.test("running workspaces are watched: service health changes and a container stopped behind nexus's back are reported", async (t) => {
  const h = await agentHarness(t);
  const repo = await localRepo(t);
  await h.start();
  const { command, workspace } = ids();
  h.server.enqueue(await createCommand(h, { id: command, workspace, url: repo.dir, config: { services: { web: { command: "web", port: 3000 } } } }));
  t.equal((await resultOf(h, command)).body.ok, true);
  const container = h.kit.control.container(workspace)!;
  const status = healthyStatus(h.workspaceFile());
  status.services.web = { ...status.services.web!, status: "unhealthy", health: "unhealthy", last_error: "GET / on port 3000 answered 500" };
  h.kit.control.writeFile(container.id, "/var/lib/nexus/status.json", JSON.stringify(status));
  const unhealthy = await h.server.until(() => h.server.events.find((e) => e.type === "service" && e.workspace_id === workspace && e.health === "unhealthy"), "an unhealthy report");
  t.match(unhealthy, { name: "web", status: "unhealthy", last_error: /answered 500/ });
  h.kit.control.setState(container.id, "stopped");
  const stopped = await h.server.until(() => h.server.events.find((e) => e.type === "workspace_status" && e.workspace_id === workspace), "a workspace status");
  t.match(stopped, { status: "stopped" });
});

t.test("after a restart: owed results are delivered, start/stop/delete run again, creates fail with a reason; the provider's view is reported", async (t) => {
  const h = await agentHarness(t);
  const repo = await localRepo(t);
  const first = await h.start();
  const { command, workspace } = ids();
  h.server.enqueue(await createCommand(h, { id: command, workspace, url: repo.dir }));
  const created = (await resultOf(h, command)).body;
  const handle = created.ok && created.type === "create" ? created.data.handle : undefined;
  await first.stop();

  const started = new Date().toISOString();
  const left = {
    version: 1,
    finished: [command],
    in_flight: [
      { id: "cmd_interrupted", type: "create", workspace_id: "ws_interrupted", started_at: started, phase: "repo_cloned" },
      { id: "cmd_rerun", type: "stop", workspace_id: workspace, started_at: started },
      { id: "cmd_owed", type: "start", workspace_id: workspace, started_at: started, result: { ok: true, type: "start", data: {} } },
    ],
  };
  writeFileSync(join(h.dataDir, "commands.json"), JSON.stringify(left));
  h.server.events.length = 0;
  await h.start();

  t.match((await resultOf(h, "cmd_interrupted")).body, { ok: false, error: { code: "clone_failed", phase: "repo_cloned", message: /restarted/ } });
  t.match((await resultOf(h, "cmd_owed")).body, { ok: true, type: "start" });
  t.match((await resultOf(h, "cmd_rerun")).body, { ok: true, type: "stop" });
  t.equal(h.kit.control.container(workspace)?.state, "stopped", "the interrupted stop ran again");
  const observed = await h.server.until(() => h.server.events.find((e) => e.type === "observed"), "an observed event");
  t.match(observed, { type: "observed", complete: true, workspaces: [{ workspace_id: workspace, handle: { id: handle?.id } }] });
  h.server.enqueue(await createCommand(h, { id: "cmd_interrupted", workspace: "ws_interrupted", url: repo.dir }));
  await new Promise((r) => setTimeout(r, 300));
  t.equal(h.server.results.filter((r) => r.commandId === "cmd_interrupted").length, 1, "its redelivery is not run");
});

t.test("stop() cancels a command that outlives the grace period and reports it failed", async (t) => {
  const h = await agentHarness(t);
  const repo = await localRepo(t);
  const runtime = await h.start({ stopGraceMs: 200 });
  h.kit.control.setLatency({ provision: 5_000 });
  const { command, workspace } = ids();
  h.server.enqueue(await createCommand(h, { id: command, workspace, url: repo.dir }));
  await h.server.until(() => phases(h.server.events, workspace).length > 0, "the create to start");
  await runtime.stop();
  const result = h.server.results.find((r) => r.commandId === command);
  t.match(result?.body, { ok: false, error: { phase: "container_created", message: /agent stopped/ } });
});
