// Steady load: workspaces with an HTTP service keep running while the API is polled at a
// fixed rate. No request fails; the resident memory of the server and the agent (two
// processes, VmRSS sampled) does not grow beyond a bound from an early window of the run
// to a late one; every service's health keeps being reported (last_check advances, health
// stays healthy). Short by default; NEXUS_LOAD_LONG=1: 20 workspaces for 10 minutes.
import t from "tap";
import { isNexusError } from "@nexus/core";
import { makeRepo } from "../../packages/core/test/agent/helpers/repo.js";
import { engineLog, rssBytes, sleep, startCluster, until, type Cluster } from "../faults/helpers/cluster.js";

const LONG = process.env.NEXUS_LOAD_LONG === "1";
const WORKSPACES = LONG ? 20 : 4;
const STEADY_MS = LONG ? 10 * 60_000 : 60_000;
/** The same traffic before measuring: JIT, caches, the heap and the first health reports settle. */
const WARMUP_MS = LONG ? 30_000 : 20_000;
const SAMPLE_EVERY_MS = 2_000;
/**
 * Median RSS of the last quarter of the measured window against the first quarter. Ten
 * minutes span several full garbage collections, so growth there means a leak (measured:
 * +5 MB server, +3 MB agent). One minute mostly sees V8's heap grow toward its first full
 * collection (measured: +14 to +18 MB for the server), hence the wider short-run bound.
 */
const RSS_GROWTH_BOUND = (LONG ? 20 : 32) * 1024 * 1024;
/**
 * Request rates, each under the server's per-token limit (600/min): the user's token
 * reads workspaces, the admin token reads nodes and metrics, /health goes unauthenticated.
 */
const USER_PER_SECOND = 6;
const ADMIN_PER_SECOND = 1;
const HEALTH_PER_SECOND = 4;

const SERVICE_CONFIG = {
  services: {
    web: { command: "exec python3 -m http.server 8080 --bind 127.0.0.1", port: 8080, health_check: { type: "http", path: "/", interval: "2s" } },
  },
};

const MB = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Calls `fn` `perSecond` times a second (open loop) until `until`; returns the failures. */
async function steady(perSecond: number, end: number, fn: (i: number) => Promise<unknown>): Promise<{ sent: number; errors: string[] }> {
  const errors: string[] = [];
  const inFlight: Promise<void>[] = [];
  const start = Date.now();
  let i = 0;
  for (; ; i++) {
    const at = start + (i * 1000) / perSecond;
    if (at >= end) break;
    await sleep(Math.max(0, at - Date.now()));
    inFlight.push(
      fn(i).then(
        () => undefined,
        (error: unknown) => void errors.push(isNexusError(error) ? `${error.code}: ${error.message}` : String(error)),
      ),
    );
  }
  await Promise.all(inFlight);
  return { sent: i, errors };
}

t.test(`steady load: ${WORKSPACES} workspaces with a service, the API polled for ${STEADY_MS / 1000} s`, async (t) => {
  const cluster: Cluster = await startCluster(t, "lxc", [25200, 25239]);
  const repo = await makeRepo(cluster.root, "load", "svc", { "README.md": "# load\n" });
  const ids = await Promise.all(
    Array.from({ length: WORKSPACES }, async (_, i) => {
      const accepted = await cluster.user.createWorkspace({ workspace_name: `load-${i}`, provider: "lxc", repo: { owner: "load", name: "svc", url: repo.dir }, config: SERVICE_CONFIG });
      return accepted.workspace_id;
    }),
  );
  // Polled gently: these reads count against the same per-token limit as the measured ones.
  const ready = await until(async () => {
    await sleep(1_000);
    const { workspaces } = await cluster.user.listWorkspaces();
    const failed = workspaces.filter((w) => w.status === "error");
    if (failed.length > 0) return { failed: await Promise.all(failed.map((w) => cluster.user.getWorkspace(w.workspace_id))) };
    if (workspaces.length < WORKSPACES || workspaces.some((w) => w.status !== "running")) return undefined;
    const details = await Promise.all(ids.map((id) => cluster.user.getWorkspace(id)));
    return details.every((d) => d.services.web?.health === "healthy") && { failed: [] };
  }, "every workspace running with its service healthy", 10 * 60_000);
  if (ready.failed.length > 0) {
    for (const d of ready.failed) t.comment(await engineLog("lxc", d.workspace_id));
    t.fail(`workspaces failed to start: ${ready.failed.map((d) => `${d.workspace_name}: ${d.error?.code} ${d.error?.message}`).join("; ")}`);
    return;
  }
  t.pass(`${WORKSPACES} workspaces running, services healthy`);

  const serverPid = cluster.proc!.pid;
  const agentPid = cluster.agent!.pid;
  const trafficStarted = Date.now();
  const started = trafficStarted + WARMUP_MS;
  const end = started + STEADY_MS;
  const rss: { server: number; agent: number }[] = [];
  const checks = new Map<string, { lastChecks: Set<string>; unhealthy: number }>(ids.map((id) => [id, { lastChecks: new Set(), unhealthy: 0 }]));

  const sampling = (async () => {
    await sleep(WARMUP_MS);
    while (Date.now() < end) {
      rss.push({ server: rssBytes(serverPid), agent: rssBytes(agentPid) });
      await sleep(SAMPLE_EVERY_MS);
    }
  })();
  // Health reports, read through the services route every few seconds (part of the user's rate).
  const userCalls = steady(USER_PER_SECOND, end, async (i) => {
    const id = ids[Math.floor(i / 4) % ids.length]!;
    switch (i % 4) {
      case 0:
        return cluster.user.listWorkspaces();
      case 1: {
        const { services } = await cluster.user.getServices(id);
        const web = services.find((s) => s.name === "web");
        const seen = checks.get(id)!;
        if (web?.last_check && Date.now() >= started) seen.lastChecks.add(web.last_check);
        if (web?.health !== "healthy") seen.unhealthy++;
        return;
      }
      default:
        return cluster.user.getWorkspace(id);
    }
  });
  const adminCalls = steady(ADMIN_PER_SECOND, end, (i) => (i % 2 === 0 ? cluster.admin.listNodes() : cluster.admin.metrics()));
  const healthCalls = steady(HEALTH_PER_SECOND, end, () => fetch(`${cluster.url}/health`).then((r) => (r.ok ? r.text() : Promise.reject(new Error(`/health ${r.status}`)))));
  const [user, admin, health] = await Promise.all([userCalls, adminCalls, healthCalls, sampling]);

  await t.test("no request failed", async (t) => {
    t.comment(`requests: ${user.sent} as the user, ${admin.sent} as admin, ${health.sent} to /health`);
    t.same(user.errors.slice(0, 10), [], `user requests (${user.errors.length} failed)`);
    t.same(admin.errors.slice(0, 10), [], `admin requests (${admin.errors.length} failed)`);
    t.same(health.errors.slice(0, 10), [], `/health (${health.errors.length} failed)`);
  });

  await t.test(`resident memory grows by less than ${MB(RSS_GROWTH_BOUND)} MB (median of the last quarter against the first)`, async (t) => {
    const quarter = Math.max(1, Math.floor(rss.length / 4));
    for (const role of ["server", "agent"] as const) {
      const early = median(rss.slice(0, quarter).map((s) => s[role]));
      const late = median(rss.slice(-quarter).map((s) => s[role]));
      t.comment(`${role}: ${MB(early)} MB early, ${MB(late)} MB late, peak ${MB(Math.max(...rss.map((s) => s[role])))} MB (${rss.length} samples)`);
      t.ok(late - early < RSS_GROWTH_BOUND, `${role} grew by ${MB(late - early)} MB`);
    }
  });

  await t.test("every service's health keeps being reported", async (t) => {
    for (const [id, seen] of checks) {
      const detail = await cluster.user.getWorkspace(id);
      const last = detail.services.web?.last_check ?? "";
      t.ok(seen.lastChecks.size >= 2, `${detail.workspace_name}: last_check advanced during the run (${seen.lastChecks.size} distinct values)`);
      t.ok(last > new Date(started).toISOString(), `${detail.workspace_name}: the latest check (${last}) is from the measured window`);
      t.equal(seen.unhealthy, 0, `${detail.workspace_name}: healthy in every read`);
    }
  });
});
