// The peer: the Dev Containers CLI (`devcontainer up`), installed into bench/.peer (never a
// project dependency), bringing up the same repository on the same Docker engine from the
// same base image. Each run gets a new container (a fresh id label), removed afterwards
// outside the timing; every container carries the run's `nexus.test-run` label.
import { execFile, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { LABELS } from "@nexus/core";
import { summarize, type Summary } from "../stats.js";
import { ROOT } from "./build.js";

const run = promisify(execFile);
const PEER_DIR = join(ROOT, "bench", ".peer");
const PEER_PACKAGE = "@devcontainers/cli";
/** Run with this Node (not whichever `node` is first on PATH). */
const DEVCONTAINER = join(PEER_DIR, "node_modules", "@devcontainers", "cli", "devcontainer.js");
export const PEER_IMAGE = "nexus/debian-12:latest";

export interface PeerResult extends Summary {
  version: string;
  samples_ms: number[];
}

/** Installs the Dev Containers CLI into bench/.peer on first use (npm registry). */
export async function ensurePeer(): Promise<string> {
  if (!existsSync(DEVCONTAINER)) {
    mkdirSync(PEER_DIR, { recursive: true });
    await run("npm", ["install", "--prefix", PEER_DIR, "--no-audit", "--no-fund", "--no-save", PEER_PACKAGE], { timeout: 300_000 });
  }
  return (await run(process.execPath, [DEVCONTAINER, "--version"])).stdout.trim();
}

function up(workspace: string, labels: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const args = ["up", "--workspace-folder", workspace, "--log-format", "json", ...labels.flatMap((l) => ["--id-label", l])];
    const started = performance.now();
    const child = spawn(process.execPath, [DEVCONTAINER, ...args], { stdio: ["ignore", "pipe", "pipe"], timeout: 180_000 });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.stderr.resume();
    child.once("error", reject);
    child.once("close", (code) => {
      const ms = performance.now() - started;
      const outcome = out.trim().split("\n").reverse().find((l) => l.includes('"outcome"'));
      if (code === 0 && outcome?.includes('"success"')) resolve(ms);
      else reject(new Error(`devcontainer up exited ${code}: ${outcome ?? out.slice(-500)}`));
    });
  });
}

async function removeContainers(label: string): Promise<void> {
  const { stdout } = await run("docker", ["ps", "-aq", "--filter", `label=${label}`]);
  const ids = stdout.split("\n").filter(Boolean);
  if (ids.length) await run("docker", ["rm", "-f", "-v", ...ids]);
}

/** `devcontainer up` on a copy of the repository (plus .devcontainer/devcontainer.json), `runs` times after one warm-up. */
export async function measurePeer(repoDir: string, workDir: string, runId: string, runs: number): Promise<PeerResult> {
  const version = await ensurePeer();
  const workspace = join(workDir, "peer-repo");
  cpSync(repoDir, workspace, { recursive: true });
  mkdirSync(join(workspace, ".devcontainer"), { recursive: true });
  writeFileSync(join(workspace, ".devcontainer", "devcontainer.json"), `${JSON.stringify({ name: "nexus-bench-peer", image: PEER_IMAGE }, null, 2)}\n`);
  const samples: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const label = `nexus.bench-peer=${runId}-${i}`;
    try {
      const ms = await up(workspace, [`${LABELS.testRun}=${runId}`, label]);
      if (i > 0) samples.push(ms); // run 0 warms the CLI's caches and the engine
    } finally {
      await removeContainers(label);
    }
  }
  return { ...summarize(samples), version: `${PEER_PACKAGE} ${version}`, samples_ms: samples.map(Math.round) };
}
