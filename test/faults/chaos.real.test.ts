// Chaos: the server and the agent run as separate processes; workspaces are created
// (half from a bare repository, half with an HTTP service) while both processes are
// SIGKILLed at seeded-random moments and started again; then the running ones are
// stopped or deleted under more kills. Afterwards every workspace has settled (as asked,
// or error with a reason), SSH port bookkeeping is exact, no container is left without a
// workspace row, and the database passes `PRAGMA integrity_check` after every crash.
// NEXUS_CHAOS_LONG=1: 20 creates and more kills, on Incus and Docker.
// NEXUS_CHAOS_SEED=N replays a schedule.
import t from "tap";
import { isNexusError, type CreateWorkspaceBody, type WorkspaceDetail } from "@nexus/core";
import { makeRepo } from "../../packages/core/test/agent/helpers/repo.js";
import {
  integrityCheck,
  listContainers,
  portProblems,
  readAllocations,
  seededRandom,
  sleep,
  startCluster,
  until,
  type Cluster,
  type ProviderName,
} from "./helpers/cluster.js";

const LONG = process.env.NEXUS_CHAOS_LONG === "1";
const SEED = process.env.NEXUS_CHAOS_SEED ? Number(process.env.NEXUS_CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31);
const CREATES = LONG ? 20 : 6;
const KILLS = LONG ? 8 : 3;
/** Kills while the running workspaces are being stopped and deleted. */
const LIFECYCLE_KILLS = LONG ? 4 : 2;
const LIFECYCLE_SPAN_MS = LONG ? 10_000 : 4_000;
/** Creates are fired over this span; kills fall in it and a little after. */
const SPAN_MS = LONG ? 30_000 : 8_000;
/**
 * After the last fault every workspace settles within this. A create whose delivery the
 * killed agent never wrote down is delivered again after the server's redelivery delay
 * (2 min), then runs (a create here takes seconds): 2 min + the create + slack.
 */
const SETTLE_BOUND_MS = 5 * 60_000;
/** How long a create request is retried (same Idempotency-Key) while the server is down. */
const CREATE_RETRY_MS = 120_000;

const SERVICE_CONFIG = {
  services: {
    web: { command: "exec python3 -m http.server 8080 --bind 127.0.0.1", port: 8080, health_check: { type: "http", path: "/", interval: "1s" } },
  },
};

interface Planned {
  index: number;
  at: number;
  withService: boolean;
}

interface Fault {
  at: number;
  target: "agent" | "server";
  downMs: number;
}

type Action = "stop" | "delete" | "none";

function faultPlan(random: () => number, count: number, spanMs: number): Fault[] {
  return Array.from({ length: count }, (_, k) => ({
    at: 500 + Math.round(random() * spanMs),
    // The first two kills hit one process each; the rest are a coin toss.
    target: (k === 0 ? "agent" : k === 1 ? "server" : random() < 0.5 ? "agent" : "server") as Fault["target"],
    downMs: Math.round(random() * 3_000),
  })).sort((a, b) => a.at - b.at);
}

function plan(seed: number) {
  const random = seededRandom(seed);
  const creates: Planned[] = Array.from({ length: CREATES }, (_, index) => ({ index, at: Math.round(random() * SPAN_MS), withService: index % 2 === 1 }));
  const faults = faultPlan(random, KILLS, SPAN_MS + 4_000);
  // Drawn up front so the whole schedule follows from the seed.
  const actions = Array.from({ length: CREATES + 1 }, () => {
    const roll = random();
    return { action: (roll < 0.5 ? "stop" : roll < 0.75 ? "delete" : "none") as Action, at: Math.round(random() * LIFECYCLE_SPAN_MS) };
  });
  const lifecycleFaults = faultPlan(random, LIFECYCLE_KILLS, LIFECYCLE_SPAN_MS + 2_000);
  return { creates, faults, actions, lifecycleFaults };
}

/** Kills and restarts the processes on schedule; returns integrity_check's answer after each server kill. */
async function runFaults(cluster: Cluster, faults: readonly Fault[], started: number): Promise<string[]> {
  const integrity: string[] = [];
  for (const fault of faults) {
    await sleep(Math.max(0, started + fault.at - Date.now()));
    if (fault.target === "agent") {
      await cluster.killAgent("SIGKILL");
      await sleep(fault.downMs);
      await cluster.startAgent();
    } else {
      await cluster.kill("SIGKILL");
      // The file as the crash left it (SQLite recovers the WAL on open).
      integrity.push(integrityCheck(cluster.dbFile));
      await sleep(fault.downMs);
      await cluster.start();
    }
  }
  return integrity;
}

/**
 * Stop or delete, retried while the server is down. A retry after a request the dead
 * server had already applied meets the state it moved to: that counts as done.
 */
async function actWithRetries(cluster: Cluster, id: string, action: "stop" | "delete"): Promise<void> {
  const end = Date.now() + CREATE_RETRY_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      if (action === "stop") await cluster.user.stop(id, {}, { timeoutMs: 15_000 });
      else await cluster.user.delete(id, { force: true }, { timeoutMs: 15_000 });
      return;
    } catch (error) {
      const alreadyDone = attempt > 1 && isNexusError(error) && (error.code === "invalid_transition" || error.code === "workspace_not_found");
      if (alreadyDone) return;
      if (!retryable(error) || Date.now() > end) throw error;
      await sleep(250);
    }
  }
}

const retryable = (error: unknown) => isNexusError(error) && (error.code === "server_unreachable" || error.code === "timeout");

async function createWithRetries(cluster: Cluster, body: CreateWorkspaceBody, key: string): Promise<{ id: string; attempts: number }> {
  const end = Date.now() + CREATE_RETRY_MS;
  for (let attempts = 1; ; attempts++) {
    try {
      const accepted = await cluster.user.createWorkspace(body, { idempotencyKey: key, timeoutMs: 15_000 });
      return { id: accepted.workspace_id, attempts };
    } catch (error) {
      if (!retryable(error) || Date.now() > end) throw error;
      await sleep(250);
    }
  }
}

async function listAll(cluster: Cluster): Promise<WorkspaceDetail[]> {
  const { workspaces } = await cluster.user.listWorkspaces({ limit: 100 }, { timeoutMs: 10_000 });
  return Promise.all(workspaces.map((w) => cluster.user.getWorkspace(w.workspace_id, { timeoutMs: 10_000 })));
}

function chaos(provider: ProviderName, sshPorts: [number, number]): void {
  t.test(`chaos on ${provider}: ${CREATES} creates, ${KILLS} SIGKILLs of the agent and the server (seed ${SEED})`, async (t) => {
    const cluster = await startCluster(t, provider, sshPorts);
    const bare = await makeRepo(cluster.root, "chaos", "bare", { "README.md": "# bare\n" });
    const { creates, faults, actions, lifecycleFaults } = plan(SEED);
    const describe = (list: readonly Fault[]) => list.map((f) => `${f.target}@${f.at}ms down ${f.downMs}ms`).join(", ");
    t.comment(`seed ${SEED} (replay with NEXUS_CHAOS_SEED=${SEED}); faults while creating: ${describe(faults)}; while stopping and deleting: ${describe(lifecycleFaults)}`);

    const ids = new Map<number, string>();
    const started = Date.now();

    const creating = Promise.all(
      creates.map(async ({ index, at, withService }) => {
        await sleep(at);
        const body: CreateWorkspaceBody = {
          workspace_name: `chaos-${index}`,
          provider,
          repo: { owner: "chaos", name: "bare", url: bare.dir },
          ...(withService ? { config: SERVICE_CONFIG } : {}),
        };
        const { id } = await createWithRetries(cluster, body, `chaos-${SEED}-${index}`);
        ids.set(index, id);
      }),
    );

    const [, integrity] = await Promise.all([creating, runFaults(cluster, faults, started)]);
    t.comment(`chaos over after ${Date.now() - started} ms`);

    await t.test("every create was accepted exactly once (retries with the same Idempotency-Key)", async (t) => {
      t.equal(ids.size, CREATES, "every create was accepted");
      const listed = await until(async () => (await cluster.user.listWorkspaces({ limit: 100 })).workspaces, "the workspace list", 30_000);
      t.equal(listed.length, CREATES, "no duplicate workspaces");
      t.same(new Set(listed.map((w) => w.workspace_id)), new Set(ids.values()));
    });

    t.same(integrity, faults.filter((f) => f.target === "server").map(() => "ok"), "integrity_check ok after every server SIGKILL");

    let settled: WorkspaceDetail[] = [];
    await t.test(`every workspace settles (running, or error with a reason) within ${SETTLE_BOUND_MS / 1000} s of the last fault`, async (t) => {
      const since = Date.now();
      let last: WorkspaceDetail[] = [];
      try {
        settled = await until(async () => {
          last = await listAll(cluster);
          return last.length === CREATES && last.every((w) => w.status === "running" || w.status === "error") ? last : undefined;
        }, "every workspace to settle", SETTLE_BOUND_MS);
      } catch (error) {
        const stuck = last.filter((w) => w.status !== "running" && w.status !== "error");
        t.fail(`stuck: ${stuck.map((w) => `${w.workspace_name} ${w.status} (phases ${w.phases.map((p) => p.name).join(",")})`).join("; ")}`, { error });
        return;
      }
      t.comment(`settled ${Date.now() - since} ms after the last fault: ${settled.map((w) => `${w.workspace_name}=${w.status}${w.error ? ` (${w.error.code}: ${w.error.message})` : ""}`).join(", ")}`);
      for (const w of settled.filter((w) => w.status === "error")) {
        t.ok(w.error?.code && w.error.message, `${w.workspace_name} is in error with a reason: ${w.error?.code} ${w.error?.message}`);
      }
    });

    await t.test("a workspace created after the chaos runs, its service healthy", async (t) => {
      const { id } = await createWithRetries(cluster, { workspace_name: "chaos-after", provider, repo: { owner: "chaos", name: "bare", url: bare.dir }, config: SERVICE_CONFIG }, `chaos-${SEED}-after`);
      const detail = await until(async () => {
        const d = await cluster.user.getWorkspace(id);
        return d.status === "error" || (d.status === "running" && d.services.web?.health === "healthy") ? d : undefined;
      }, "the new workspace to run", 180_000);
      t.equal(detail.status, "running", `running${detail.error ? ` (not: ${detail.error.code} ${detail.error.message})` : ""}`);
      settled.push(detail);
    });

    await t.test("running workspaces with a service report it healthy", async (t) => {
      const withService = settled.filter((w) => w.status === "running" && Object.keys(w.services).length > 0);
      for (const w of withService) {
        const healthy = await until(async () => {
          const detail = await cluster.user.getWorkspace(w.workspace_id);
          return detail.services.web?.health === "healthy" ? detail : undefined;
        }, `${w.workspace_name}'s service to be healthy`, 90_000).catch(() => undefined);
        t.ok(healthy, `${w.workspace_name}: web healthy`);
      }
    });

    await t.test(`stops and deletes under ${LIFECYCLE_KILLS} more SIGKILLs: each ends as asked, or in error with a reason`, async (t) => {
      const chosen = settled.filter((w) => w.status === "running").map((w, i) => ({ w, ...actions[i]! }));
      t.comment(`actions: ${chosen.map(({ w, action, at }) => `${w.workspace_name} ${action}@${at}ms`).join(", ")}`);
      const lifecycleStarted = Date.now();
      const acting = Promise.all(
        chosen.map(async ({ w, action, at }) => {
          if (action === "none") return;
          await sleep(at);
          await actWithRetries(cluster, w.workspace_id, action);
        }),
      );
      const [, integrityAfter] = await Promise.all([acting, runFaults(cluster, lifecycleFaults, lifecycleStarted)]);
      t.same(integrityAfter, lifecycleFaults.filter((f) => f.target === "server").map(() => "ok"), "integrity_check ok after every server SIGKILL");

      const expected: Record<Action, readonly string[]> = { stop: ["stopped"], delete: ["gone"], none: ["running"] };
      const outcome = (list: readonly WorkspaceDetail[], id: string) => list.find((w) => w.workspace_id === id)?.status ?? "gone";
      let last: WorkspaceDetail[] = [];
      const final = await until(async () => {
        last = await listAll(cluster);
        const settledAll = last.every((w) => w.status === "running" || w.status === "stopped" || w.status === "error");
        return settledAll && chosen.every(({ w, action }) => [...expected[action], "error"].includes(outcome(last, w.workspace_id))) ? last : undefined;
      }, "every stop and delete to finish", SETTLE_BOUND_MS).catch(() => undefined);
      if (!final) {
        t.fail(`not settled: ${last.map((w) => `${w.workspace_name} ${w.status}`).join(", ")}`);
        return;
      }
      for (const { w, action } of chosen) {
        const detail = final.find((d) => d.workspace_id === w.workspace_id);
        const status = outcome(final, w.workspace_id);
        if (status === "error") t.ok(detail?.error?.code && detail.error.message, `${w.workspace_name} (${action}) is in error with a reason: ${detail?.error?.code} ${detail?.error?.message}`);
        else t.ok(expected[action].includes(status), `${w.workspace_name}: ${action} → ${status}`);
      }
      settled = final;
    });

    await t.test("SSH ports: one allocation per workspace that holds one, no duplicates", async (t) => {
      const db = readAllocations(cluster.dbFile);
      t.same(portProblems(db), []);
      const ports = settled.map((w) => w.ssh.port).filter((p): p is number => p !== null && p > 0);
      t.equal(new Set(ports).size, ports.length, "no two workspaces share a port");
    });

    await t.test("no orphan containers: every container of this run belongs to a workspace row; every running workspace has one", async (t) => {
      // Reconciliation on the agent's last start has been applied once the node reports in.
      const containers = await listContainers(provider);
      const rows = new Map(readAllocations(cluster.dbFile).workspaces.map((w) => [w.workspace_id, w.status]));
      const orphans = containers.filter((h) => !rows.has(h.workspaceId) || rows.get(h.workspaceId) === "deleted");
      t.same(orphans.map((h) => h.id), [], "no container without a workspace");
      const held = new Set(containers.map((h) => h.workspaceId));
      t.same(settled.filter((w) => w.status === "running" && !held.has(w.workspace_id)).map((w) => w.workspace_name), [], "no running workspace without a container");
    });

    await t.test("everything can be deleted afterwards: no container, no port, no row left", async (t) => {
      for (const w of settled) await cluster.user.delete(w.workspace_id, { force: true });
      await until(async () => (await cluster.user.listWorkspaces({ limit: 100 })).workspaces.length === 0, "every workspace to be deleted", 180_000);
      t.same((await listContainers(provider)).map((h) => h.id), [], "no container left on the engine");
      const db = readAllocations(cluster.dbFile);
      t.same(db.ports, [], "no SSH port allocation left");
      t.same(db.workspaces, [], "no workspace row left");
    });

    await t.test("the database passes integrity_check after a final SIGKILL", async (t) => {
      await cluster.killAgent("SIGTERM");
      await cluster.kill("SIGKILL");
      t.equal(integrityCheck(cluster.dbFile), "ok");
    });
  });
}

chaos("lxc", [25100, 25139]);
if (LONG) chaos("docker", [25140, 25179]);
