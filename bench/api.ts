// npm run bench:api [-- --rate 200 --seconds 10]
// GET /api/v1/workspaces/{id} against a server on loopback with a SQLite store (WAL, on
// disk) and one running workspace with services and phases, at a fixed arrival rate. The
// server runs in a child process (this script again, as its server half), so the load
// generator never shares an event loop with it; latency runs from each request's scheduled
// start (open loop), so a stalled server cannot hide the requests queued behind it.
// Prints p50/p99 and writes bench/results-api.json. Target: p99 ≤ 10 ms. (`npm run bench`
// measures the same against the real server with a real workspace.)
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { createLogger, createServices } from "@nexus/core";
import { buildServer, openSqliteStore } from "@nexus/server";
import { openLoop } from "./lib/api-load.js";
import { renderTable } from "./stats.js";

const TARGET_P99_MS = 10;
const ROLE = "NEXUS_BENCH_API_ROLE";

interface Target {
  url: string;
  token: string;
  workspaceId: string;
}

/** The server half: a production-configured server with one running workspace; prints its Target. */
async function serve(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "nexus-bench-api-"));
  // Logged as in production (JSON lines at info), into a file rather than the terminal.
  const log = createLogger({ level: "info" }, pino.destination({ dest: join(dir, "server.log"), sync: false }) as unknown as NodeJS.WritableStream);
  const store = openSqliteStore({ file: join(dir, "nexus.db") });
  const services = createServices({ store, log, adminToken: "bench-admin" });
  // The per-token limit (600/min by default) would turn this load into 429s; it stays on, raised.
  const app = buildServer({ services, closeStore: true, rateLimit: { max: 1_000_000, windowMs: 60_000 } });
  const url = await app.listen({ port: 0, host: "127.0.0.1" });

  const { user, apiToken } = await services.users.ensureLocalUser();
  const node = await services.nodes.register({ name: "bench-node", providers: ["lxc"], ssh_host: "127.0.0.1", ssh_port_range: { start: 2222, end: 2299 }, capacity: { max_workspaces: 10 }, version: "1.0.0" });
  const config = { version: 1, services: { db: { command: "postgres", port: 5432, expose: false }, api: { command: "npm start", port: 4000, depends_on: ["db"] }, web: { command: "npm run dev", port: 3000, depends_on: ["api"] } } };
  const { response } = await services.workspaces.createFromRepo(user, { repo: { owner: "octocat", name: "hello-world", branch: "main" }, config });
  const id = response.workspace_id;
  const [create] = await services.nodes.poll(node.node_id, 0);
  await services.nodes.complete(node.node_id, create!.id, {
    ok: true,
    type: "create",
    data: { handle: { provider: "lxc", id: "nexus-bench", workspaceId: id, labels: {} }, host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBench" },
  });
  const now = new Date().toISOString();
  const phases = ["container_created", "ssh_ready", "repo_cloned", "setup_done", "services_started", "services_healthy"] as const;
  await services.nodes.applyEvents(node.node_id, [
    ...phases.map((name) => ({ type: "phase" as const, workspace_id: id, name, state: "completed" as const, started_at: now, duration_ms: 100, at: now })),
    ...["db", "api", "web"].map((name) => ({ type: "service" as const, workspace_id: id, name, status: "running" as const, health: "healthy" as const, last_check: now, last_error: null, at: now })),
  ]);
  process.stdout.write(`${JSON.stringify({ url, token: apiToken, workspaceId: id } satisfies Target)}\n`);
  process.once("SIGTERM", () => {
    void app.close().then(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  });
}

async function drive(): Promise<void> {
  const { values } = parseArgs({ options: { rate: { type: "string", default: "200" }, seconds: { type: "string", default: "10" }, warmup: { type: "string", default: "400" } } });
  const rate = Number(values.rate);
  const server = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1, 2)], { env: { ...process.env, [ROLE]: "server" }, stdio: ["ignore", "pipe", "inherit"] });
  const [line] = (await once(createInterface({ input: server.stdout! }), "line")) as [string];
  const target = JSON.parse(line) as Target;
  let load;
  try {
    load = await openLoop(
      { url: target.url, token: target.token, path: `/api/v1/workspaces/${target.workspaceId}`, rate, seconds: Number(values.seconds), warmup: Number(values.warmup) },
      { route: "/api/v1/workspaces/:id", adminToken: "bench-admin" },
    );
  } finally {
    server.kill("SIGTERM");
    await once(server, "exit");
  }

  const result = {
    measure: "GET /api/v1/workspaces/{id} (SQLite, loopback, open loop, server in its own process)",
    at: new Date().toISOString(),
    rate_per_second: rate,
    ...load,
    target_p99_ms: TARGET_P99_MS,
    met: load.p99_ms <= TARGET_P99_MS && load.errors === 0,
  };
  console.log(
    renderTable(
      ["measure", "requests", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"],
      [["GET workspace", load.requests, load.errors, load.achieved_per_second, load.p50_ms, load.p90_ms, load.p99_ms, load.max_ms]],
    ),
  );
  console.log(`server-side p99 ≤ ${load.server_p99_at_most_ms} ms (its own histogram)`);
  console.log(`p99 target ${TARGET_P99_MS} ms: ${result.met ? "met" : "NOT met"}`);
  writeFileSync(join(import.meta.dirname, "results-api.json"), `${JSON.stringify(result, null, 2)}\n`);
  process.exitCode = result.met ? 0 : 1;
}

await (process.env[ROLE] === "server" ? serve() : drive());
