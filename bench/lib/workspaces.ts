// Workspace timings through the public API, as a user's client sees them: from the create
// request leaving to the server answering `running` (SSH ready, repository cloned and, when
// the repository has services, every one healthy).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { isNexusError, type CreatePhase, type NexusClient, type WorkspaceDetail } from "@nexus/core";
import type { EngineName, Repo } from "./stack.js";

const run = promisify(execFile);

export interface CreateSample {
  ms: number;
  id: string;
  detail: WorkspaceDetail;
  phases: Partial<Record<CreatePhase, number>>;
}

export class CreateFailed extends Error {}

function describe(detail: WorkspaceDetail): string {
  return detail.error ? `${detail.error.code} in ${detail.error.phase ?? "?"}: ${detail.error.message}` : detail.status;
}

/**
 * Creates a workspace and waits until it runs, as the CLI does: on the workspace's event
 * stream (the server sends the current status first, then every change). Fails with the
 * server's reason on `error`.
 */
export async function createAndWait(user: NexusClient, engine: EngineName, repo: Repo, name: string, timeoutMs = 180_000): Promise<CreateSample> {
  const started = performance.now();
  const accepted = await user.createWorkspace({ workspace_name: name, provider: engine, repo: { owner: repo.owner, name: repo.name, url: repo.url } });
  const id = accepted.workspace_id;
  const ms = await untilRunning(user, id, name, started, timeoutMs);
  const detail = await user.getWorkspace(id);
  return { ms, id, detail, phases: Object.fromEntries(detail.phases.map((p) => [p.name, p.duration_ms])) };
}

/** Milliseconds from `started` until the workspace's event stream says `running`. */
async function untilRunning(user: NexusClient, id: string, name: string, started: number, timeoutMs: number): Promise<number> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), Math.max(0, timeoutMs - (performance.now() - started)));
  try {
    for (;;) {
      for await (const event of user.events(id, { signal: stop.signal })) {
        if (event.type !== "status") continue;
        if (event.status === "running") return performance.now() - started;
        if (event.status === "error" || event.status === "stopped") throw new CreateFailed(`${name}: ${describe(await user.getWorkspace(id))}`);
      }
      // The server ended the stream (a restart): open it again.
    }
  } catch (error) {
    if (stop.signal.aborted) throw new CreateFailed(`${name}: not running after ${timeoutMs} ms (${(await user.getWorkspace(id)).status})`);
    throw error;
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
}

async function gone(user: NexusClient, id: string): Promise<boolean> {
  try {
    await user.getWorkspace(id);
    return false;
  } catch (error) {
    if (isNexusError(error) && error.code === "workspace_not_found") return true;
    throw error;
  }
}

/** Force-deletes the workspaces and waits until the server has forgotten them (their containers are gone). */
export async function deleteAll(user: NexusClient, ids: readonly string[], timeoutMs = 180_000): Promise<void> {
  await Promise.all(ids.map((id) => user.delete(id, { force: true }).catch((error: unknown) => (isNexusError(error) && error.code === "workspace_not_found" ? undefined : Promise.reject(error)))));
  const end = Date.now() + timeoutMs;
  let left = [...ids];
  while (left.length) {
    const states = await Promise.all(left.map(async (id) => ((await gone(user, id)) ? undefined : id)));
    left = states.filter((id): id is string => id !== undefined);
    if (!left.length) return;
    if (Date.now() > end) throw new Error(`workspaces not deleted after ${timeoutMs} ms: ${left.join(", ")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface ConcurrentResult {
  count: number;
  running: number;
  failures: string[];
  /** From the first request to the last workspace seen running. */
  all_running_ms: number | null;
  per_workspace_ms: number[];
  ssh_ports: number[];
  /** Ports given to more than one workspace, plus ports whose sshd answered with another workspace's host key. */
  collisions: string[];
  ids: string[];
}

/** The host key the node port serves, read with ssh-keyscan. */
async function servedHostKey(host: string, port: number): Promise<string | undefined> {
  const { stdout } = await run("ssh-keyscan", ["-T", "10", "-t", "ed25519", "-p", String(port), host], { timeout: 20_000 }).catch(() => ({ stdout: "" }));
  const line = stdout.split("\n").find((l) => l.includes("ssh-ed25519"));
  return line?.split(/\s+/).slice(1, 3).join(" ");
}

/** `count` creates sent at once; each followed on its event stream until it runs or fails. */
export async function concurrentCreates(user: NexusClient, engine: EngineName, repo: Repo, prefix: string, count: number, timeoutMs = 300_000): Promise<ConcurrentResult> {
  const started = performance.now();
  const accepted = await Promise.allSettled(
    Array.from({ length: count }, (_, i) => user.createWorkspace({ workspace_name: `${prefix}-${i}`, provider: engine, repo: { owner: repo.owner, name: repo.name, url: repo.url } })),
  );
  const failures: string[] = [];
  const ids: string[] = [];
  for (const [i, a] of accepted.entries()) {
    if (a.status === "fulfilled") ids.push(a.value.workspace_id);
    else failures.push(`${prefix}-${i}: create refused: ${(a.reason as Error).message}`);
  }
  const doneAt = new Map<string, number>();
  await Promise.all(
    ids.map(async (id) => {
      try {
        doneAt.set(id, await untilRunning(user, id, id, started, timeoutMs));
      } catch (error) {
        failures.push((error as Error).message);
      }
    }),
  );

  const details = await Promise.all([...doneAt.keys()].map((id) => user.getWorkspace(id)));
  const ports = details.map((d) => d.ssh.port ?? -1);
  const collisions: string[] = [];
  const byPort = new Map<number, string[]>();
  for (const d of details) byPort.set(d.ssh.port ?? -1, [...(byPort.get(d.ssh.port ?? -1) ?? []), d.workspace_name]);
  for (const [port, names] of byPort) if (names.length > 1) collisions.push(`port ${port} given to ${names.join(", ")}`);
  // Each port must lead to its own workspace's sshd: the served host key is the one reported.
  for (const d of details) {
    const served = await servedHostKey(d.ssh.host ?? "127.0.0.1", d.ssh.port ?? 0);
    if (served !== d.ssh.host_key) collisions.push(`port ${d.ssh.port} of ${d.workspace_name} serves ${served ?? "no"} host key, not its own`);
  }
  const times = [...doneAt.values()];
  return {
    count,
    running: doneAt.size,
    failures,
    all_running_ms: doneAt.size === count ? Math.max(...times) : null,
    per_workspace_ms: times.map(Math.round).sort((a, b) => a - b),
    ssh_ports: ports.sort((a, b) => a - b),
    collisions,
    ids,
  };
}
