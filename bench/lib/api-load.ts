// Open-loop load at a fixed arrival rate: request i is due at start + i/rate whether or not
// earlier ones have answered, and its latency runs from that due time, so a stalled server
// cannot hide the requests queued behind it (no coordinated omission).
import { Pool } from "undici";
import { percentile } from "../stats.js";

export interface OpenLoopOptions {
  url: string;
  token: string;
  path: string;
  rate: number;
  seconds: number;
  /** Requests sent one after another first (JIT, statement caches, connections). */
  warmup: number;
}

export interface OpenLoopResult {
  requests: number;
  errors: number;
  achieved_per_second: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  /** The server's own handling time (its latency histogram): the bucket holding the 99th percentile. */
  server_p99_at_most_ms: number;
}

const round = (n: number) => Math.round(n * 100) / 100;

export async function openLoop(options: OpenLoopOptions, metrics: { route: string; adminToken: string }): Promise<OpenLoopResult> {
  const pool = new Pool(options.url, { connections: 16 });
  try {
    const headers = { authorization: `Bearer ${options.token}` };
    const get = async () => {
      const res = await pool.request({ method: "GET", path: options.path, headers });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
    };
    for (let i = 0; i < options.warmup; i++) await get();

    const total = Math.round(options.rate * options.seconds);
    const intervalMs = 1000 / options.rate;
    const latencies: number[] = [];
    let errors = 0;
    const started = performance.now();
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const scheduled = started + i * intervalMs;
      const wait = scheduled - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      inFlight.push(get().then(() => void latencies.push(performance.now() - scheduled), () => void errors++));
    }
    await Promise.all(inFlight);
    const elapsed = (performance.now() - started) / 1000;
    return {
      requests: total,
      errors,
      achieved_per_second: round(latencies.length / elapsed),
      p50_ms: round(percentile(latencies, 50)),
      p90_ms: round(percentile(latencies, 90)),
      p99_ms: round(percentile(latencies, 99)),
      max_ms: round(Math.max(...latencies)),
      server_p99_at_most_ms: await serverSideP99(pool, metrics.route, metrics.adminToken),
    };
  } finally {
    await pool.close();
  }
}

/** From /metrics: the upper bound of the histogram bucket that holds the 99th percentile of successful GETs. */
async function serverSideP99(pool: Pool, route: string, adminToken: string): Promise<number> {
  const res = await pool.request({ method: "GET", path: "/api/v1/metrics", headers: { authorization: `Bearer ${adminToken}` } });
  const text = await res.body.text();
  const prefix = `nexus_http_request_duration_seconds_bucket{method="GET",route="${route}",status="200",le="`;
  const buckets = text
    .split("\n")
    .filter((line) => line.startsWith(prefix))
    .map((line) => ({ le: line.slice(prefix.length, line.indexOf('"', prefix.length)), count: Number(line.split(" ").at(-1)) }));
  const total = buckets.find((b) => b.le === "+Inf")?.count ?? 0;
  const bucket = buckets.find((b) => b.le !== "+Inf" && b.count >= total * 0.99);
  return bucket ? Number(bucket.le) * 1000 : Number.POSITIVE_INFINITY;
}
