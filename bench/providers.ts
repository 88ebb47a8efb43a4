// npm run bench:providers [-- --runs 10 --provider lxc,docker]
// provision → sshd reachable (SSH banner on the node port), p50/p95 per provider,
// printed as a table and written to bench/results-providers.json.
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createNexus, silentLogger, type Handle, type ProviderInstance } from "@nexus/core";
import { lxc, waitForSshBanner } from "@nexus/provider-lxc";
import { docker } from "@nexus/provider-docker";
import { createPortAllocator, generateTestKeyPair, testWorkspaceSpec } from "@nexus/testkit";
import { renderTable, summarize, type Summary } from "./stats.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "10" }, provider: { type: "string", default: "lxc,docker" } } });
const runs = Number(values.runs);
const providers = String(values.provider).split(",").filter(Boolean);
const runId = randomUUID();
const registry = createNexus({ providers: [lxc(), docker()] });
const ctx = { log: silentLogger, env: process.env, dataDir: "/tmp/nexus-bench" };
const op = () => ({ signal: AbortSignal.timeout(60_000), log: silentLogger });
const key = generateTestKeyPair("nexus-bench");
const nextPort = createPortAllocator();

async function measure(provider: ProviderInstance, name: string, i: number): Promise<number> {
  const spec = testWorkspaceSpec({ suffix: `bench-${name}-${i}-${runId.slice(0, 6)}`, sshPort: await nextPort(), authorizedKeys: [key.publicKey], testRun: runId });
  const started = performance.now();
  let handle: Handle | undefined;
  try {
    handle = await provider.provision(spec, op());
    await waitForSshBanner({ host: "127.0.0.1", port: spec.sshPort, timeoutMs: 30_000 });
    return performance.now() - started;
  } finally {
    if (handle) await provider.destroy(handle, op()).catch(() => undefined);
  }
}

const results: Record<string, Summary & { version?: string; samples_ms: number[] }> = {};
for (const name of providers) {
  const provider = await registry.instance("provider", name, ctx);
  const health = await provider.health(op());
  if (!health.ok) {
    console.error(`${name}: skipped — ${health.reason}`);
    continue;
  }
  await measure(provider, name, 0); // warm-up: image caches, network setup
  const samples: number[] = [];
  for (let i = 1; i <= runs; i++) {
    samples.push(await measure(provider, name, i));
    process.stderr.write(`\r${name}: ${i}/${runs}`);
  }
  process.stderr.write("\n");
  results[name] = { ...summarize(samples), version: health.version, samples_ms: samples.map((s) => Math.round(s)) };
}
await registry.dispose();

console.log(renderTable(["provider", "runs", "p50 ms", "p95 ms", "min ms", "max ms", "target p50"], Object.entries(results).map(([n, r]) => [n, r.runs, r.p50_ms, r.p95_ms, r.min_ms, r.max_ms, "≤ 2000"])));
const file = join(import.meta.dirname, "results-providers.json");
writeFileSync(file, `${JSON.stringify({ measure: "provision → SSH banner", at: new Date().toISOString(), results }, null, 2)}\n`);
console.log(`\nwritten to ${file}`);
