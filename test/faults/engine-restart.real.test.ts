// The container engine restarts under a running nexus: incusd is stopped (SIGTERM: it
// exits without stopping instances) and started again, once, for a few seconds. While it
// is down the agent's heartbeat reports the provider unhealthy, a create fails with
// provider_unavailable, and the API keeps answering; afterwards the running workspaces
// are still running (SSH port, services healthy, health checks reported again) and new
// operations work. The engine is restored in teardown whatever happens: other suites share it.
import t from "tap";
import { execFile, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, readdirSync } from "node:fs";
import { connect } from "node:net";
import { DatabaseSync } from "node:sqlite";
import { promisify } from "node:util";
import type { WorkspaceDetail } from "@nexus/core";
import { makeRepo } from "../../packages/core/test/agent/helpers/repo.js";
import { startCluster, until, type Cluster } from "./helpers/cluster.js";

const run = promisify(execFile);
const INCUS_SOCKET = "/var/lib/incus/unix.socket";
const INCUSD_LOG = "/var/log/nexus-incusd.log";
/** Waits while the engine is down are bounded so the outage stays short (other suites share the engine). */
const OUTAGE_WAIT_MS = 12_000;

const SERVICE_CONFIG = {
  services: {
    web: { command: "exec python3 -m http.server 8080 --bind 127.0.0.1", port: 8080, health_check: { type: "http", path: "/", interval: "1s" } },
  },
};

/** The Incus daemon's pid and argv (not its `incusd forkstart …` helpers). */
function findIncusd(): { pid: number; argv: string[] } | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter((a) => a !== "");
    } catch {
      continue;
    }
    if (argv[0]?.endsWith("/incusd") && (argv[1] === undefined || argv[1].startsWith("-"))) return { pid: Number(entry), argv };
  }
  return undefined;
}

async function incusAnswers(): Promise<boolean> {
  return run("curl", ["-fsS", "--max-time", "3", "--unix-socket", INCUS_SOCKET, "http://localhost/1.0"]).then(
    () => true,
    () => false,
  );
}

/** Starts incusd the way scripts/engines/setup.sh does (its own session, log appended) and waits until it is ready. */
async function startIncusd(argv: string[]): Promise<void> {
  const log = openSync(INCUSD_LOG, "a");
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ["ignore", log, log] });
  child.unref();
  closeSync(log);
  await run("incus", ["admin", "waitready", "--timeout=60"]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The banner of the SSH server behind a node port. */
function sshBanner(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, timeout: 5_000 });
    socket.once("data", (data) => {
      resolve(data.toString("utf8").split("\r\n")[0] ?? "");
      socket.destroy();
    });
    socket.once("timeout", () => socket.destroy(new Error("no banner")));
    socket.once("error", reject);
  });
}

/** The provider health the agent last reported in its heartbeat (kept in the node's row). */
function reportedProviderHealth(cluster: Cluster, nodeId: string): { ok: boolean; reason?: string } | undefined {
  const db = new DatabaseSync(cluster.dbFile, { readOnly: true, timeout: 10_000 });
  try {
    const row = db.prepare("SELECT info FROM nodes WHERE node_id = ?").get(nodeId) as { info: string } | undefined;
    const info = row ? (JSON.parse(row.info) as { providers?: { ok: boolean; reason?: string }[] }) : undefined;
    return info?.providers?.[0];
  } finally {
    db.close();
  }
}

const found = findIncusd();
const daemon = found && (await incusAnswers()) ? found : undefined;

t.test("incusd restarts under running workspaces", { skip: daemon ? false : "incusd is not running here" }, async (t) => {
  if (!daemon) return;
  // Restored whatever happens below.
  t.teardown(async () => {
    if (await incusAnswers()) return;
    if (!findIncusd()) await startIncusd(daemon.argv);
    else await run("incus", ["admin", "waitready", "--timeout=60"]);
  });

  const cluster = await startCluster(t, "lxc", [25240, 25249]);
  const nodeId = (await cluster.node())!.node_id;
  const repo = await makeRepo(cluster.root, "engine", "restart", { "README.md": "# restart\n" });
  const create = async (name: string, withService: boolean) =>
    (await cluster.user.createWorkspace({ workspace_name: name, provider: "lxc", repo: { owner: "engine", name: "restart", url: repo.dir }, ...(withService ? { config: SERVICE_CONFIG } : {}) })).workspace_id;
  const settled = (id: string, ms = 180_000) =>
    until(async () => {
      const detail = await cluster.user.getWorkspace(id);
      return detail.status === "running" || detail.status === "error" ? detail : undefined;
    }, `workspace ${id} to settle`, ms);

  const web = await create("engine-web", true);
  const bare = await create("engine-bare", false);
  const before: WorkspaceDetail[] = [await settled(web), await settled(bare)];
  t.same(before.map((w) => w.status), ["running", "running"], "two workspaces run before the restart");
  t.equal(before[0]!.services.web?.health, "healthy");

  // ---- the outage
  const outageStarted = Date.now();
  process.kill(daemon.pid, "SIGTERM");
  await until(async () => !alive(daemon.pid), "incusd to exit", 10_000).catch(() => process.kill(daemon.pid, "SIGKILL"));
  await until(async () => !alive(daemon.pid), "incusd to be gone", 5_000);
  let duringOutage: { health?: { ok: boolean; reason?: string }; create?: WorkspaceDetail; read?: WorkspaceDetail } = {};
  try {
    // The API does not need the engine.
    duringOutage.read = await cluster.user.getWorkspace(web);
    const doomed = await create("engine-during", false);
    // The next heartbeat (every 10 s) carries the provider's health.
    const [health, failed] = await Promise.all([
      until(async () => {
        const reported = reportedProviderHealth(cluster, nodeId);
        return reported && !reported.ok ? reported : undefined;
      }, "a heartbeat reporting the provider down", OUTAGE_WAIT_MS).catch(() => undefined),
      settled(doomed, OUTAGE_WAIT_MS).catch(() => undefined),
    ]);
    duringOutage = { ...duringOutage, ...(health ? { health } : {}), ...(failed ? { create: failed } : {}) };
  } finally {
    await startIncusd(daemon.argv);
  }
  const outageMs = Date.now() - outageStarted;
  t.comment(`incusd was down for ${outageMs} ms`);

  t.equal(duringOutage.read?.status, "running", "reads are served while the engine is down");
  t.equal(duringOutage.health?.ok, false, `the heartbeat reported the provider unhealthy: ${duringOutage.health?.reason}`);
  t.match(duringOutage.health?.reason, /incus|lxc|socket|connect/i, "with the reason");
  t.equal(duringOutage.create?.status, "error", "a create while the engine is down fails");
  t.equal(duringOutage.create?.error?.code, "provider_unavailable", `with provider_unavailable: ${duringOutage.create?.error?.message}`);

  // ---- afterwards
  await t.test("the running workspaces survived", async (t) => {
    for (const w of before) {
      const detail = await cluster.user.getWorkspace(w.workspace_id);
      t.equal(detail.status, "running", `${w.workspace_name} is running`);
      t.match(await sshBanner(w.ssh.port ?? 0), /^SSH-2\.0-/, `${w.workspace_name}'s SSH port answers`);
    }
  });

  await t.test("the agent reports the provider healthy and the service's health checks again", async (t) => {
    const healthy = await until(async () => reportedProviderHealth(cluster, nodeId)?.ok === true, "a heartbeat reporting the provider up", 30_000).catch(() => false);
    t.ok(healthy, "provider reported ok again");
    const restartedAt = new Date().toISOString();
    const detail = await until(async () => {
      const d = await cluster.user.getWorkspace(web);
      const check = d.services.web?.last_check;
      return check && check > restartedAt && d.services.web?.health === "healthy" ? d : undefined;
    }, "a health check newer than the restart", 90_000).catch(() => undefined);
    t.ok(detail, `web healthy, checked after the restart (last_check ${detail?.services.web?.last_check})`);
  });

  await t.test("operations resume: a new workspace runs, the failed one can be deleted", async (t) => {
    const after = await settled(await create("engine-after", true));
    t.equal(after.status, "running", `created after the restart${after.error ? `: ${after.error.message}` : ""}`);
    if (duringOutage.create) {
      await cluster.user.delete(duringOutage.create.workspace_id);
      await until(async () => !(await cluster.user.listWorkspaces()).workspaces.some((w) => w.workspace_id === duringOutage.create?.workspace_id), "the failed workspace to be deleted", 60_000);
      t.pass("the workspace that failed during the outage was deleted");
    }
    await cluster.user.stop(bare);
    await until(async () => (await cluster.user.getWorkspace(bare)).status === "stopped", "the bare workspace to stop", 120_000);
    await cluster.user.start(bare);
    t.equal((await settled(bare)).status, "running", "stop and start work");
  });
});
