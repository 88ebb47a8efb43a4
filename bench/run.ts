// npm run bench [-- --runs 20 --quick --engines lxc,docker --only create,ssh,api,concurrent,peer,rss]
//
// The one benchmark: SPEC §12's targets measured on this machine against nexus as it ships —
// `nexus-server` and one `nexus-agent` per engine as their own processes, built from the
// current sources — plus the Dev Containers CLI as the peer. One table (each row with its
// target and PASS/FAIL) and bench/results.json. Every container carries
// `nexus.test-run=<run id>` and is removed at the end, also after a failure or Ctrl-C.
// docs/benchmarks.md describes the method.
import { randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CREATE_PHASES, type CreatePhase } from "@nexus/core";
import { openLoop, type OpenLoopResult } from "./lib/api-load.js";
import { buildPrograms } from "./lib/build.js";
import { measurePeer, PEER_IMAGE, type PeerResult } from "./lib/peer.js";
import { measureSsh, type SshResult } from "./lib/ssh.js";
import { ENGINES, startStack, sweep, type EngineName, type Repo, type Stack } from "./lib/stack.js";
import { concurrentCreates, createAndWait, deleteAll, type ConcurrentResult, type CreateSample } from "./lib/workspaces.js";
import { percentile, renderTable, summarize, type Summary } from "./stats.js";

const SECTIONS = ["create", "ssh", "api", "concurrent", "peer", "rss"] as const;
type Section = (typeof SECTIONS)[number];

const { values: flags } = parseArgs({
  options: {
    runs: { type: "string" },
    quick: { type: "boolean", default: false },
    engines: { type: "string", default: ENGINES.join(",") },
    only: { type: "string", default: SECTIONS.join(",") },
    concurrency: { type: "string" },
    "concurrent-engine": { type: "string", default: "lxc" },
    "api-rate": { type: "string", default: "200" },
    "api-seconds": { type: "string" },
    "peer-runs": { type: "string" },
    "log-level": { type: "string", default: "info" },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});

if (flags.help) {
  process.stdout.write(`Usage: npm run bench -- [options]

  --runs N                 measured creates per row (default 20; --quick 2); SSH runs scale with it
  --quick                  a smoke run: 2 runs, 5 concurrent creates, 3 s of API load, 1 peer run
  --engines lxc,docker     engines to measure (default both)
  --only LIST              sections: ${SECTIONS.join(",")} (default all)
  --concurrency N          concurrent creates (default 20; --quick 5)
  --concurrent-engine E    engine for the concurrent creates (default lxc)
  --api-rate N             GET /workspaces/{id} per second (default 200)
  --api-seconds N          seconds of API load (default 10; --quick 3)
  --peer-runs N            devcontainer up runs (default 10; --quick 1)
  --log-level LEVEL        server and agent log level (default info; debug shows provider sub-steps)
`);
  process.exit(0);
}

const quick = flags.quick;
const runs = Number(flags.runs ?? (quick ? 2 : 20));
const concurrency = Number(flags.concurrency ?? (quick ? 5 : 20));
const apiRate = Number(flags["api-rate"]);
const apiSeconds = Number(flags["api-seconds"] ?? (quick ? 3 : 10));
const peerRuns = Number(flags["peer-runs"] ?? (quick ? 1 : 10));
const engines = flags.engines.split(",").filter(Boolean) as EngineName[];
const only = new Set(flags.only.split(",").filter(Boolean) as Section[]);
const concurrentEngine = flags["concurrent-engine"] as EngineName;
for (const e of [...engines, concurrentEngine]) if (!ENGINES.includes(e)) throw new Error(`unknown engine ${e} (lxc, docker)`);
for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s} (${SECTIONS.join(", ")})`);
for (const [name, n] of Object.entries({ runs, concurrency, apiRate, apiSeconds, peerRuns })) if (!(Number.isInteger(n) && n > 0)) throw new Error(`--${name} must be a positive integer`);

/** SPEC §12. */
const TARGETS = {
  createBareP50: 2_000,
  createServiceP50: 4_000,
  sshFresh: 300,
  sshShared: 20,
  apiP99: 10,
  agentRssMb: 80,
  serverRssMb: 120,
} as const;

const BARE_REPO = { "README.md": "# bare\n\nA repository with no services.\n" };
const WEB_CONFIG = `# One HTTP service, checked over HTTP.
name: web
services:
  web:
    command: exec python3 -m http.server 8080 --bind 127.0.0.1
    port: 8080
    health_check: { type: http, path: / }
`;
const WEB_REPO = { "README.md": "# web\n", "index.html": "<h1>hello from the bench</h1>\n", ".nexus/config.yaml": WEB_CONFIG };

interface Row {
  measure: string;
  runs: number | string;
  p50: string;
  p95: string;
  target: string;
  pass: boolean | null;
  note: string;
}

const runId = `bench-${randomUUID()}`;
const rows: Row[] = [];
const details: Record<string, unknown> = {};
const loads: Record<string, number[]> = { start: loadavg().map((l) => Math.round(l * 100) / 100) };
const ms = (n: number | null | undefined) => (n === null || n === undefined || Number.isNaN(n) ? "—" : `${Math.round(n)} ms`);
const ms1 = (n: number) => `${(Math.round(n * 10) / 10).toFixed(1)} ms`;
const progress = (text: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

/**
 * VmRSS and its anonymous and file-backed parts (MB) from /proc/<pid>/status, and the
 * proportional set size from smaps_rollup (file pages shared with other processes, such as the
 * node binary's, divided among them).
 */
function memoryMb(pid: number | undefined): { VmRSS: number; RssAnon: number; RssFile: number; Pss: number } {
  const read = (file: string) => (pid === undefined ? "" : readFileSync(`/proc/${pid}/${file}`, "utf8"));
  const field = (text: string, name: string) => {
    const line = text.split("\n").find((l) => l.startsWith(`${name}:`));
    return line ? Math.round((Number(line.split(/\s+/)[1]) / 1024) * 10) / 10 : Number.NaN;
  };
  const status = read("status");
  return { VmRSS: field(status, "VmRSS"), RssAnon: field(status, "RssAnon"), RssFile: field(status, "RssFile"), Pss: field(read("smaps_rollup"), "Pss") };
}

/** The median VmRSS of three readings a second apart, after `settleMs` of quiet (the breakdown goes to results.json). */
async function idleRss(stack: Stack, settleMs: number, label: string): Promise<Record<string, number>> {
  await new Promise((r) => setTimeout(r, settleMs));
  const readings: Record<string, ReturnType<typeof memoryMb>[]> = {};
  const processes = { server: stack.server, ...Object.fromEntries(Object.entries(stack.agents).map(([e, a]) => [`agent-${e}`, a])) };
  for (let i = 0; i < 3; i++) {
    for (const [name, proc] of Object.entries(processes)) (readings[name] ??= []).push(memoryMb(proc?.child.pid));
    if (i < 2) await new Promise((r) => setTimeout(r, 1_000));
  }
  const median = Object.fromEntries(Object.entries(readings).map(([name, values]) => [name, [...values].sort((a, b) => a.VmRSS - b.VmRSS)[1]!]));
  details[`rss_breakdown_mb_${label}`] = median;
  return Object.fromEntries(Object.entries(median).map(([name, m]) => [name, m.VmRSS]));
}

function phaseMedians(samples: CreateSample[]): Partial<Record<CreatePhase, number>> {
  const out: Partial<Record<CreatePhase, number>> = {};
  for (const phase of CREATE_PHASES) {
    const values = samples.map((s) => s.phases[phase]).filter((v): v is number => typeof v === "number");
    if (values.length) out[phase] = percentile(values, 50);
  }
  return out;
}

async function createSeries(stack: Stack, engine: EngineName, repo: Repo, label: string, target: number, keepLast: boolean): Promise<CreateSample | undefined> {
  const samples: CreateSample[] = [];
  const failures: string[] = [];
  let kept: CreateSample | undefined;
  // Run 0 warms up: the agent's mirror of the repository, the engine's caches.
  for (let i = 0; i <= runs; i++) {
    progress(`${label} ${engine}: ${i === 0 ? "warm-up" : `run ${i}/${runs}`}`);
    let sample: CreateSample | undefined;
    try {
      sample = await createAndWait(stack.user, engine, repo, `${engine}-${repo.name}-${i}`);
      if (i > 0) samples.push(sample);
    } catch (error) {
      failures.push((error as Error).message);
    }
    if (sample && keepLast && i === runs) kept = sample;
    else if (sample) await deleteAll(stack.user, [sample.id]);
  }
  const summary = samples.length ? summarize(samples.map((s) => s.ms)) : undefined;
  const phases = phaseMedians(samples);
  details[`create_${repo.name}_${engine}`] = { ...summary, failures, samples_ms: samples.map((s) => Math.round(s.ms)), phase_p50_ms: phases };
  rows.push({
    measure: `create → running, ${label} (${engine})`,
    runs: samples.length,
    p50: ms(summary?.p50_ms),
    p95: ms(summary?.p95_ms),
    target: `p50 ≤ ${target} ms`,
    pass: summary !== undefined && failures.length === 0 && summary.p50_ms <= target,
    note: failures.length ? `${failures.length} failed: ${failures[0]}` : "",
  });
  return kept;
}

function sshRows(engine: EngineName, result: SshResult): void {
  details[`ssh_${engine}`] = result;
  rows.push({ measure: `ssh nexus-<ws> echo OK, fresh connection (${engine})`, runs: result.fresh.runs, p50: ms1(result.fresh.p50_ms), p95: ms1(result.fresh.p95_ms), target: `≤ ${TARGETS.sshFresh} ms`, pass: result.fresh.p50_ms <= TARGETS.sshFresh, note: "OpenSSH, ControlMaster off" });
  rows.push({ measure: `ssh nexus-<ws> echo OK, shared connection (${engine})`, runs: result.shared.runs, p50: ms1(result.shared.p50_ms), p95: ms1(result.shared.p95_ms), target: `≤ ${TARGETS.sshShared} ms`, pass: result.shared.p50_ms <= TARGETS.sshShared, note: "ControlMaster established" });
}

function apiRow(result: OpenLoopResult): void {
  details.api = { rate_per_second: apiRate, seconds: apiSeconds, ...result };
  rows.push({
    measure: `API GET /workspaces/{id} at ${apiRate} req/s`,
    runs: result.requests,
    p50: ms1(result.p50_ms),
    p95: `p99 ${ms1(result.p99_ms)}`,
    target: `p99 ≤ ${TARGETS.apiP99} ms`,
    pass: result.errors === 0 && result.p99_ms <= TARGETS.apiP99,
    note: `${result.achieved_per_second} req/s, ${result.errors} errors, server-side p99 ≤ ${result.server_p99_at_most_ms} ms`,
  });
}

function concurrentRow(engine: EngineName, result: ConcurrentResult): void {
  details.concurrent = { engine, ...result, ids: undefined };
  const ok = result.running === result.count && result.failures.length === 0 && result.collisions.length === 0;
  rows.push({
    measure: `${result.count} concurrent creates (${engine})`,
    runs: result.count,
    p50: ms(percentile(result.per_workspace_ms, 50)),
    p95: `all ${ms(result.all_running_ms)}`,
    target: `all running, 0 failures, no port collision`,
    pass: ok,
    note: `${result.running}/${result.count} running, ${result.failures.length} failures, ${result.collisions.length} collisions${result.failures[0] ? `: ${result.failures[0]}` : ""}${result.collisions[0] ? `: ${result.collisions[0]}` : ""}`,
  });
}

function peerRows(result: PeerResult, nexusDocker: Summary | undefined): void {
  details.peer = { ...result, image: PEER_IMAGE, nexus_docker_bare_p50_ms: nexusDocker?.p50_ms };
  const ratio = nexusDocker ? Math.round((nexusDocker.p50_ms / result.p50_ms) * 100) / 100 : undefined;
  rows.push({
    measure: "peer: devcontainer up, same repo, image, engine",
    runs: result.runs,
    p50: ms(result.p50_ms),
    p95: ms(result.p95_ms),
    target: "—",
    pass: null,
    note: `${result.version}; nexus (docker, bare) / peer p50 = ${ratio === undefined ? "—" : `${ratio}×`}`,
  });
}

function rssRows(start: Record<string, number> | undefined, end: Record<string, number>): void {
  details.rss_mb = { after_start: start, after_workload: end };
  const parts = details.rss_breakdown_mb_after_workload as Record<string, ReturnType<typeof memoryMb>> | undefined;
  const breakdown = (name: string) => {
    const m = parts?.[name];
    return m ? ` (anon ${m.RssAnon} + file ${m.RssFile}; PSS ${m.Pss})` : "";
  };
  for (const [name, value] of Object.entries(end)) {
    const isServer = name === "server";
    const target = isServer ? TARGETS.serverRssMb : TARGETS.agentRssMb;
    const worst = Math.max(value, start?.[name] ?? 0);
    rows.push({
      measure: `idle RSS, ${isServer ? "nexus-server" : `nexus-agent (${name.slice("agent-".length)})`}`,
      runs: "—",
      p50: `${value} MB`,
      p95: "—",
      target: `≤ ${target} MB`,
      pass: worst <= target,
      note: `VmRSS after the workload${breakdown(name)}${start ? `; ${start[name]} MB after start` : ""}`,
    });
  }
}

function render(): string {
  const result = (pass: boolean | null) => (pass === null ? "—" : pass ? "PASS" : "FAIL");
  // Long notes (a failure's message) are cut here; results.json keeps them whole.
  const note = (text: string) => (text.length > 110 ? `${text.slice(0, 109)}…` : text);
  return renderTable(["measure", "runs", "p50", "p95", "target", "result", "notes"], rows.map((r) => [r.measure, r.runs, r.p50, r.p95, r.target, result(r.pass), note(r.note)]));
}

function renderPhases(): string {
  const creates = Object.entries(details).filter(([key]) => key.startsWith("create_")) as [string, { phase_p50_ms?: Partial<Record<CreatePhase, number>>; p50_ms?: number }][];
  if (!creates.length) return "";
  return renderTable(
    ["p50 ms per phase", ...CREATE_PHASES, "total"],
    creates.map(([key, d]) => [key.slice("create_".length), ...CREATE_PHASES.map((p) => d.phase_p50_ms?.[p] ?? "—"), d.p50_ms ?? "—"]),
  );
}

let stack: Stack | undefined;
let cleaning: Promise<void> | undefined;
const cleanup = () => {
  cleaning ??= (async () => {
    progress("cleaning up");
    if (stack) await stack.close();
    else for (const engine of ENGINES) await sweep(engine, runId).catch(() => undefined);
  })();
  return cleaning;
};
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}

const startedAt = new Date();
try {
  progress(`run ${runId}: building nexus-server and nexus-agent from the sources`);
  const programs = await buildPrograms();
  stack = await startStack({ runId, programs, engines, logLevel: flags["log-level"] });
  progress(`server ${stack.url}; agents online: ${engines.join(", ")}`);
  const rssStart = only.has("rss") ? await idleRss(stack, 5_000, "after_start") : undefined;

  const bare = await stack.repo("bare", BARE_REPO);
  const web = await stack.repo("web", WEB_REPO);
  const keptBare: Partial<Record<EngineName, CreateSample>> = {};
  let keptWeb: CreateSample | undefined;
  const wantSsh = only.has("ssh");
  const wantApi = only.has("api");
  for (const engine of engines) {
    if (only.has("create")) {
      keptBare[engine] = await createSeries(stack, engine, bare, "bare repo", TARGETS.createBareP50, wantSsh);
      const web1 = await createSeries(stack, engine, web, "one HTTP service healthy", TARGETS.createServiceP50, wantApi && keptWeb === undefined);
      keptWeb ??= web1;
    } else if (wantSsh) {
      keptBare[engine] = await createAndWait(stack.user, engine, bare, `${engine}-bare-ssh`);
    }
  }
  loads.after_creates = loadavg().map((l) => Math.round(l * 100) / 100);

  if (wantSsh) {
    for (const engine of engines) {
      const kept = keptBare[engine];
      if (!kept) continue;
      progress(`ssh ${engine}`);
      sshRows(engine, await measureSsh(kept.detail, stack.nexusHome, stack.keyFile, { fresh: runs * 2, shared: runs * 5 }));
    }
  }
  if (wantApi) {
    keptWeb ??= await createAndWait(stack.user, engines[0]!, web, "api-web");
    progress(`API: ${apiRate} req/s for ${apiSeconds} s`);
    apiRow(await openLoop(
      { url: stack.url, token: JSON.parse(readFileSync(join(stack.nexusHome, "server", "local-token"), "utf8")).token as string, path: `/api/v1/workspaces/${keptWeb.id}`, rate: apiRate, seconds: apiSeconds, warmup: 400 },
      { route: "/api/v1/workspaces/:id", adminToken: stack.adminToken },
    ));
  }
  const kept = [...Object.values(keptBare), keptWeb].filter((s): s is CreateSample => s !== undefined);
  if (kept.length) await deleteAll(stack.user, kept.map((s) => s.id));

  if (only.has("concurrent")) {
    progress(`${concurrency} concurrent creates (${concurrentEngine})`);
    const result = await concurrentCreates(stack.user, concurrentEngine, bare, `many-${concurrentEngine}`, concurrency);
    loads.during_concurrent = loadavg().map((l) => Math.round(l * 100) / 100);
    concurrentRow(concurrentEngine, result);
    await deleteAll(stack.user, result.ids);
  }

  if (only.has("peer")) {
    progress(`peer: devcontainer up × ${peerRuns}`);
    const nexusDocker = details.create_bare_docker as Summary | undefined;
    peerRows(await measurePeer(bare.url, stack.root, runId, peerRuns), nexusDocker?.runs ? nexusDocker : undefined);
  }

  if (only.has("rss")) {
    progress("idle RSS");
    rssRows(rssStart, await idleRss(stack, 10_000, "after_workload"));
  }
} catch (error) {
  process.exitCode = 1;
  progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  if (stack) progress(`logs: ${stack.root} (kept only with NEXUS_BENCH_KEEP=1)`);
} finally {
  loads.end = loadavg().map((l) => Math.round(l * 100) / 100);
  await cleanup().catch((error: unknown) => {
    process.exitCode = 1;
    progress(`cleanup failed: ${(error as Error).message}`);
  });
}

const machine = { cpus: cpus().length, cpu_model: cpus()[0]?.model, memory_gib: Math.round(totalmem() / 2 ** 30), kernel: release(), node: process.version };
const header = `nexus benchmark ${startedAt.toISOString()} — ${machine.cpus} cores, ${machine.memory_gib} GiB, Linux ${machine.kernel}, Node ${machine.node}; load average (1/5/15 min) at start ${loads.start!.join(" / ")}, at end ${loads.end!.join(" / ")}`;
console.log(`${header}\n\n${render()}\n`);
const phases = renderPhases();
if (phases) console.log(`${phases}\n`);
const failed = rows.filter((r) => r.pass === false).length;
console.log(`${rows.filter((r) => r.pass).length} PASS, ${failed} FAIL`);
writeFileSync(
  join(import.meta.dirname, "results.json"),
  `${JSON.stringify({ at: startedAt.toISOString(), run_id: runId, machine, load_average: loads, options: { runs, quick, engines, sections: [...only], concurrency, concurrent_engine: concurrentEngine, api_rate: apiRate, api_seconds: apiSeconds, peer_runs: peerRuns }, targets: TARGETS, rows, details }, null, 2)}\n`,
);
if (failed) process.exitCode = 1;
