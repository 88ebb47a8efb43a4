// `ssh nexus-<ws> echo OK` with the real OpenSSH client through the SSH configuration nexus
// writes (@nexus/editors: pinned host key, StrictHostKeyChecking yes, ControlMaster auto):
// once as a fresh connection each time (connection sharing off for that command), once
// over the shared connection the first command leaves behind (ControlPersist).
import { spawn, spawnSync } from "node:child_process";
import type { WorkspaceDetail } from "@nexus/core";
import { createSshConfig, hostAlias, sshEntryFromWorkspace } from "@nexus/editors";
import { summarize, type Summary } from "../stats.js";

export interface SshResult {
  fresh: Summary & { samples_ms: number[] };
  shared: Summary & { samples_ms: number[] };
}

function timeSsh(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn("ssh", args, { stdio: ["ignore", "pipe", "pipe"], timeout: 15_000 });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
    child.once("error", reject);
    child.once("close", (code) => {
      const ms = performance.now() - started;
      if (code === 0 && out.trim() === "OK") resolve(ms);
      else reject(new Error(`ssh ${args.join(" ")} exited ${code}: ${err.trim() || out.trim()}`));
    });
  });
}

export async function measureSsh(detail: WorkspaceDetail, nexusHome: string, keyFile: string, runs: { fresh: number; shared: number }): Promise<SshResult> {
  const config = createSshConfig({ nexusHome, connectionSharing: true });
  await config.writeWorkspaceEntry(sshEntryFromWorkspace(detail, { identityFile: keyFile }));
  const host = hostAlias(detail.workspace_name);
  const base = ["-F", config.paths.config, "-o", "BatchMode=yes"];
  const fresh = ["-o", "ControlMaster=no", "-o", "ControlPath=none", "-o", "ClearAllForwardings=yes"];
  try {
    await timeSsh([...base, ...fresh, host, "echo", "OK"]); // warm-up: page cache, the container's sshd
    const freshSamples: number[] = [];
    for (let i = 0; i < runs.fresh; i++) freshSamples.push(await timeSsh([...base, ...fresh, host, "echo", "OK"]));
    // The shared connection, as the first command through the config leaves it (ControlPersist):
    // started on its own here, since a master that outlives its command keeps its pipes open.
    const master = spawnSync("ssh", [...base, "-M", "-f", "-N", host], { stdio: "ignore", timeout: 15_000 });
    const check = spawnSync("ssh", [...base, "-O", "check", host], { encoding: "utf8", timeout: 5_000 });
    if (master.status !== 0 || check.status !== 0) throw new Error(`no shared SSH connection to ${host}: ${check.stderr.trim()}`);
    const sharedSamples: number[] = [];
    for (let i = 0; i < runs.shared; i++) sharedSamples.push(await timeSsh([...base, host, "echo", "OK"]));
    const rounded = (s: number[]) => s.map((v) => Math.round(v * 10) / 10);
    return {
      fresh: { ...summarize(freshSamples), samples_ms: rounded(freshSamples) },
      shared: { ...summarize(sharedSamples), samples_ms: rounded(sharedSamples) },
    };
  } finally {
    spawnSync("ssh", [...base, "-O", "exit", host], { stdio: "ignore", timeout: 5_000 });
  }
}
