// Chaos: the server and the agent run as separate processes; workspaces are created
// (half from a bare repository, half with an HTTP service) while both processes are
// SIGKILLed at seeded-random moments and started again. Afterwards every workspace has
// settled (running, or error with a reason), SSH port bookkeeping is exact, no container
// is left without a workspace row, and the database passes `PRAGMA integrity_check`
// after every crash. NEXUS_CHAOS_LONG=1: 20 creates and more kills, on Incus and Docker.
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

function plan(seed: number): { creates: Planned[]; faults: Fault[] } {
  const random = seededRandom(seed);
  const creates = Array.from({ length: CREATES }, (_, index) => ({ index, at: Math.round(random() * SPAN_MS), withService: index % 2 === 1 }));
  const faults = Array.from({ length: KILLS }, (_, k) => ({
    at: 500 + Math.round(random() * (SPAN_MS + 4_000)),
    // The first two kills hit one process each; the rest are a coin toss.
    target: (k === 0 ? "agent" : k === 1 ? "server" : random() < 0.5 ? "agent" : "server") as Fault["target"],
    downMs: Math.round(random() * 3_000),
  })).sort((a, b) => a.at - b.at);
  return { creates, faults };
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
    const { creates, faults } = plan(SEED);
    t.comment(`seed ${SEED} (replay with NEXUS_CHAOS_SEED=${SEED}); faults: ${faults.map((f) => `${f.target}@${f.at}ms down ${f.downMs}ms`).join(", ")}`);

    const ids = new Map<number, string>();
    const integrity: string[] = [];
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

    const faulting = (async () => {
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
    })();

    await Promise.all([creating, faulting]);
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
