// The in-workspace supervisor, run on the host exactly as it runs in a container (the
// generated module under `node`), against tiny local services on free ports.
import t, { type Test } from "tap";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { HEALTH_CHECK_DEFAULTS, type HealthCheck } from "@nexus/core";
import { MAX_ARGUMENT_BYTES } from "../../src/agent/container.js";
import { supervisorScript } from "../../src/agent/supervisor/script.js";
import type { SupervisedService, SupervisorResult, SupervisorStatus, WorkspaceFile } from "../../src/agent/supervisor/types.js";

const run = promisify(execFile);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const fast = { interval: 100, timeout: 1_000, retries: 20, start_period: 0 };

function service(name: string, command: string, health: Partial<HealthCheck> & { type: HealthCheck["type"] }, more: Partial<SupervisedService> = {}): SupervisedService {
  return { name, command, depends_on: [], env: {}, restart: "on-failure", health_check: { ...HEALTH_CHECK_DEFAULTS, ...fast, ...health } as HealthCheck, ...more };
}

/** `node -e` programs: a TCP listener, an HTTP server, each recording SIGTERM in a shared file. */
function nodeService(kind: "tcp" | "http", port: number, name: string, stopLog: string): string {
  const server = kind === "tcp" ? "require('net').createServer((s) => s.end())" : "require('http').createServer((q, r) => r.end('ok'))";
  const program = `const s = ${server}.listen(${port}, '127.0.0.1'); process.on('SIGTERM', () => { require('fs').appendFileSync(${JSON.stringify(stopLog)}, '${name}\\n'); process.exit(0); });`;
  return `exec ${JSON.stringify(process.execPath)} -e ${JSON.stringify(program)}`;
}

interface Harness {
  dir: string;
  stateDir: string;
  logDir: string;
  cli(...args: string[]): Promise<SupervisorResult>;
  status(): SupervisorStatus;
}

function harness(t: Test, services: SupervisedService[], more: Partial<WorkspaceFile> = {}): Harness {
  const dir = mkdtempSync(join(tmpdir(), "nexus-supervisor-"));
  const stateDir = join(dir, "state");
  const logDir = join(dir, "log");
  const repoDir = join(dir, "repo");
  for (const d of [stateDir, logDir, repoDir]) mkdirSync(d);
  const workspaceFile = join(stateDir, "workspace.json");
  const workspace: WorkspaceFile = {
    version: 1,
    repo_dir: repoDir,
    user: { name: "tester", uid: process.getuid!(), gid: process.getgid!(), home: dir },
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", PROJECT_VAR: "from-project" },
    lifecycle: {},
    services,
    stop_timeout_ms: 2_000,
    backoff: { initial_ms: 100, max_ms: 400 },
    log_max_bytes: 1024 * 1024,
    hook_timeout_ms: {},
    ...more,
  };
  writeFileSync(workspaceFile, JSON.stringify(workspace));
  const script = join(dir, "supervisor.mjs");
  writeFileSync(script, supervisorScript({ workspaceFile, stateDir, logDir }));
  const cli = async (...args: string[]) => {
    const { stdout } = await run(process.execPath, [script, ...args], { timeout: 60_000 }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? "" }));
    const last = stdout.trim().split("\n").pop() ?? "";
    return JSON.parse(last) as SupervisorResult;
  };
  t.teardown(async () => {
    await cli("stop");
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, stateDir, logDir, cli, status: () => JSON.parse(readFileSync(join(stateDir, "status.json"), "utf8")) as SupervisorStatus };
}

async function until<T>(read: () => T | undefined, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test("the module fits in one exec argument (the agent installs it that way)", async (t) => {
  t.ok(Buffer.byteLength(supervisorScript()) < MAX_ARGUMENT_BYTES / 2, `${Buffer.byteLength(supervisorScript())} bytes`);
});

t.test("starts in dependency order, waits for health (tcp, http, process), stops in reverse order", async (t) => {
  const [dbPort, apiPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), "nexus-stoplog-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const stopLog = join(dir, "stops");
  const h = harness(t, [
    service("web", `echo "web sees $PROJECT_VAR $API_URL"; exec sleep 60`, { type: "process" }, { depends_on: ["api"], env: { API_URL: "http://localhost/api" } }),
    service("api", nodeService("http", apiPort, "api", stopLog), { type: "http", port: apiPort, path: "/" }, { depends_on: ["db"] }),
    service("db", nodeService("tcp", dbPort, "db", stopLog), { type: "tcp", port: dbPort }),
  ]);
  const started = await h.cli("start");
  t.equal(started.ok, true, "the daemon started");
  const healthy = await h.cli("wait", "30000");
  t.equal(healthy.ok, true, JSON.stringify(healthy));
  const services = healthy.status!.services;
  for (const name of ["db", "api", "web"]) {
    t.equal(services[name]!.status, "running", `${name} running`);
    t.equal(services[name]!.health, "healthy", `${name} healthy`);
    t.type(services[name]!.pid, "number");
  }
  t.ok(services.db!.healthy_at! <= services.api!.started_at!, "api started after db was healthy");
  t.ok(services.api!.healthy_at! <= services.web!.started_at!, "web started after api was healthy");
  const webLog = await until(() => {
    const text = readFileSync(join(h.logDir, "web.log"), "utf8");
    return text.includes("web sees") ? text : undefined;
  }, "web output");
  t.match(webLog, "web sees from-project http://localhost/api", "project env and service env reach the service");
  t.match(readFileSync(join(h.stateDir, "services.log"), "utf8"), "web | web sees from-project", "the combined log prefixes each line with its service");

  const again = await h.cli("start");
  t.equal(again.status?.pid, started.status?.pid, "start is a no-op while the daemon runs");

  const stopped = await h.cli("stop");
  t.equal(stopped.ok, true);
  for (const name of ["db", "api", "web"]) t.equal(stopped.status!.services[name]!.status, "stopped", `${name} stopped`);
  t.equal(stopped.status!.state, "stopped");
  t.same(readFileSync(stopLog, "utf8").trim().split("\n"), ["api", "db"], "api got SIGTERM (and exited) before db");
  t.notOk(existsSync(join(h.stateDir, "supervisor.pid")), "pid file removed");
});

t.test("exec health checks and a service that never becomes healthy", async (t) => {
  const closedPort = await freePort();
  const h = harness(t, [
    service("worker", "sleep 0.3; touch ready; exec sleep 60", { type: "exec", command: "test -f ready" }),
    service("ghost", "exec sleep 60", { type: "tcp", port: closedPort, retries: 3, interval: 100 }),
    service("after-ghost", "exec sleep 60", { type: "process" }, { depends_on: ["ghost"] }),
  ]);
  t.equal((await h.cli("start")).ok, true);
  const result = await h.cli("wait", "30000");
  t.equal(result.ok, false);
  t.equal(result.reason, "service_failed");
  t.equal(result.service, "ghost", "the failure names the service");
  t.match(result.message, /not healthy after 0\.3 s/);
  t.match(result.message, /ECONNREFUSED/);
  const status = await until(() => {
    const s = h.status();
    return s.services.worker!.health === "healthy" ? s : undefined;
  }, "worker healthy");
  t.equal(status.services.ghost!.status, "unhealthy");
  t.equal(status.services["after-ghost"]!.status, "pending", "a dependent of an unhealthy service is not started");
});

t.test("health checks: start_period gives a slow starter its time; a probe that hangs fails by its timeout", async (t) => {
  // Healthy after ~1.2 s: fine with a 2 s start period; without one, 3 probes 100 ms apart are too few.
  const slow = (name: string, start_period: number) =>
    service(name, "sleep 1.2; touch ready; exec sleep 60", { type: "exec", command: "test -f ready", retries: 3, interval: 100, start_period });
  const cases: Array<[string, SupervisedService, (r: SupervisorResult) => void]> = [
    ["patient", slow("patient", 2_000), (r) => t.equal(r.ok, true, `healthy within its start period: ${JSON.stringify(r)}`)],
    ["hasty", slow("hasty", 0), (r) => {
      t.equal(r.ok, false, "hasty: not healthy in time");
      t.equal(r.service, "hasty");
      t.match(r.message, /not healthy after 0\.3 s/);
    }],
    ["hung", service("hung", "exec sleep 60", { type: "exec", command: "exec sleep 30", retries: 2, interval: 100, timeout: 200, start_period: 0 }), (r) => {
      t.equal(r.ok, false, "hung: not healthy");
      t.equal(r.service, "hung");
      t.match(r.message, /health command timed out after 0\.2 s/, "each probe is cut at its timeout");
    }],
  ];
  for (const [, spec, check] of cases) {
    const h = harness(t, [spec]);
    t.equal((await h.cli("start")).ok, true);
    check(await h.cli("wait", "30000"));
  }
});

t.test("stop: a service that ignores SIGTERM is SIGKILLed after stop_timeout", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "nexus-stubborn-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const termLog = join(dir, "term");
  const program = `process.on('SIGTERM', () => require('fs').appendFileSync(${JSON.stringify(termLog)}, 'ignored\\n')); setInterval(() => {}, 1000);`;
  const h = harness(t, [service("stubborn", `exec ${JSON.stringify(process.execPath)} -e ${JSON.stringify(program)}`, { type: "process" })], { stop_timeout_ms: 1_000 });
  t.equal((await h.cli("start")).ok, true);
  const healthy = await h.cli("wait", "30000");
  t.equal(healthy.ok, true, JSON.stringify(healthy));
  const pid = healthy.status!.services.stubborn!.pid!;
  t.doesNotThrow(() => process.kill(pid, 0), "running");
  const stopped = await h.cli("stop");
  t.equal(stopped.ok, true, JSON.stringify(stopped));
  t.equal(stopped.status!.services.stubborn!.status, "stopped");
  t.equal(readFileSync(termLog, "utf8"), "ignored\n", "it got SIGTERM first, once, and ignored it");
  t.throws(() => process.kill(pid, 0), { code: "ESRCH" }, "then it was killed");
});

t.test("restarts with exponential backoff, capped; never-restart services fail at once", async (t) => {
  const h = harness(t, [
    service("flaky", "echo crash >&2; exit 1", { type: "process", retries: 1000 }),
    service("oneshot", "exit 3", { type: "process" }, { restart: "never" }),
  ]);
  t.equal((await h.cli("start")).ok, true);
  const result = await h.cli("wait", "30000");
  t.equal(result.ok, false);
  t.equal(result.service, "oneshot");
  t.match(result.message, /exited with code 3/);
  t.equal(result.status!.services.oneshot!.status, "error");
  t.equal(result.status!.services.oneshot!.restarts, 0, "restart: never is not restarted");
  const flaky = await until(() => {
    const s = h.status().services.flaky!;
    return s.restarts >= 5 ? s : undefined;
  }, "five restarts");
  t.match(flaky.last_error, /exited with code 1; restarting in 0\.4 s/, "the delay doubles up to max_ms");
  const log = readFileSync(join(h.logDir, "flaky.log"), "utf8");
  t.ok(log.split("--- nexus: starting flaky").length - 1 >= 5, "each run is marked in the service log");
  t.match(log, "crash", "stderr is kept");
});

t.test("lifecycle hooks: setup once, pre_start, post_start after health, failures report output", async (t) => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "nexus-hooks-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const trace = join(dir, "trace");
  const h = harness(t, [service("svc", nodeService("tcp", port, "svc", join(dir, "stops")), { type: "tcp", port })], {
    lifecycle: { setup: `echo setup >> ${trace}`, pre_start: `echo "pre_start $PROJECT_VAR" >> ${trace}`, post_start: `echo post_start >> ${trace}` },
  });
  t.equal((await h.cli("prepare")).ok, true);
  t.equal((await h.cli("start")).ok, true);
  t.equal((await h.cli("wait", "30000", "--post-start")).ok, true);
  t.equal((await h.cli("down")).ok, true);
  const up = await h.cli("up", "30000");
  t.equal(up.ok, true, JSON.stringify(up));
  t.equal(up.status?.services.svc?.health, "healthy");
  t.equal((await h.cli("prepare")).ok, true);
  t.same(readFileSync(trace, "utf8").trim().split("\n"), [
    "setup", "pre_start from-project", "post_start", "pre_start from-project", "post_start", "pre_start from-project",
  ], "setup ran once; pre_start and post_start ran at every start");
  t.match(readFileSync(join(h.stateDir, "lifecycle.log"), "utf8"), /--- setup started/);

  writeFileSync(join(h.stateDir, "setup.done"), "");
  const failing = harness(t, [], { lifecycle: { setup: "echo building; echo 'no such tool' >&2; exit 7" } });
  const failed = await failing.cli("prepare");
  t.equal(failed.ok, false);
  t.equal(failed.stage, "setup");
  t.equal(failed.exit_code, 7);
  t.match(failed.output, /building\s+no such tool/);
  t.notOk(existsSync(join(failing.stateDir, "setup.done")), "a failed setup runs again next time");
});

t.test("service logs are capped and rotated", async (t) => {
  const h = harness(t, [service("chatty", "i=0; while [ $i -lt 300 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done; exec sleep 60", { type: "process" })], {
    log_max_bytes: 2_000,
  });
  t.equal((await h.cli("start")).ok, true);
  await until(() => (readFileSync(join(h.logDir, "chatty.log"), "utf8").includes("line-299") ? true : undefined), "all output");
  t.ok(existsSync(join(h.logDir, "chatty.log.1")), "an old generation is kept");
  t.ok(statSync(join(h.logDir, "chatty.log")).size <= 2_100, "the live log stays near the cap");
});
