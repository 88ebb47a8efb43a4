import { setTimeout as sleep } from "node:timers/promises";
import {
  LABELS,
  NexusError,
  isNexusError,
  type ExecOptions,
  type ExecResult,
  type Handle,
  type Logger,
  type Observed,
  type Op,
  type ProviderHealth,
  type ProviderInstance,
  type WorkspaceSpec,
  type WriteFileOptions,
} from "@nexus/core";
import { OPENSSH_PUBLIC_KEY, generateTestKeyPair } from "../ssh-key.js";
import { FAKE_USERS, isManaged, type ContainerRecord, type FakeCall, type FakeEngine, type FakeOperation, type FakeProviderControl } from "./control.js";
import { FakeFileSystem } from "./fs.js";
import { runArgv, type FakeUser } from "./shell.js";

/** A FakeProvider instance: the full ProviderInstance contract plus the engine's control. */
export interface FakeProviderInstance extends ProviderInstance {
  readonly control: FakeProviderControl;
  logs(handle: Handle, op: Op): AsyncIterable<string>;
  snapshot(handle: Handle, op: Op): Promise<{ id: string }>;
}

const WORKSPACE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const LABEL_KEY = /^[a-z0-9.-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** An aborted signal as the catalog error the caller expects (its reason, when that already is one). */
function cancelled(signal: AbortSignal, what: string): NexusError {
  const reason: unknown = signal.reason;
  if (isNexusError(reason)) return reason;
  const timedOut = reason instanceof DOMException && reason.name === "TimeoutError";
  return new NexusError("timeout", `fake: ${what} ${timedOut ? "timed out" : "was cancelled"}`, { cause: reason, details: { provider: "fake" } });
}

async function wait(ms: number, signal: AbortSignal, what: string): Promise<void> {
  if (signal.aborted) throw cancelled(signal, what);
  if (ms <= 0) return;
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    throw cancelled(signal, what);
  }
}

/** Waits for another caller's work, but gives up (without cancelling it) when our own signal aborts. */
async function raceAbort<T>(work: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) throw cancelled(signal, what);
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(cancelled(signal, what));
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

function invalid(message: string, details: Record<string, unknown> = {}): NexusError {
  return new NexusError("invalid_request", `fake: ${message}`, { details: { provider: "fake", ...details } });
}

function validateSpec(spec: WorkspaceSpec): void {
  if (typeof spec !== "object" || spec === null) throw invalid("spec is not an object");
  if (typeof spec.workspaceId !== "string" || !/^[A-Za-z0-9_.-]{1,128}$/.test(spec.workspaceId)) throw invalid("invalid workspaceId", { workspaceId: spec.workspaceId });
  if (typeof spec.name !== "string" || !WORKSPACE_NAME.test(spec.name)) throw invalid("invalid workspace name", { name: spec.name });
  if (!Number.isInteger(spec.sshPort) || spec.sshPort < 1 || spec.sshPort > 65535) throw invalid("invalid sshPort", { sshPort: spec.sshPort });
  if (!Array.isArray(spec.authorizedKeys) || !spec.authorizedKeys.every((k) => typeof k === "string" && OPENSSH_PUBLIC_KEY.test(k))) {
    throw invalid("authorizedKeys must be OpenSSH public key lines");
  }
  for (const [key, value] of Object.entries(spec.labels ?? {})) {
    if (!LABEL_KEY.test(key) || typeof value !== "string") throw invalid(`invalid label ${JSON.stringify(key)}`);
  }
}

export class FakeInstance implements FakeProviderInstance {
  readonly control: FakeProviderControl;
  readonly #engine: FakeEngine;
  readonly #log: Logger;
  #disposed = false;

  constructor(engine: FakeEngine, log: Logger) {
    this.#engine = engine;
    this.control = engine;
    this.#log = log;
  }

  /** Everything a call does before acting: record it, honour dispose, abort, down, injected failures, latency. */
  async #enter(op: FakeOperation, signal: AbortSignal, call: Omit<FakeCall, "op">, latency = true): Promise<void> {
    this.#engine.record({ op, ...call });
    if (this.#disposed) throw new NexusError("provider_unavailable", "fake: the provider instance was disposed");
    if (signal.aborted) throw cancelled(signal, op);
    if (this.#engine.down) throw new NexusError("provider_unavailable", `fake: ${this.#engine.downReason}`, { details: { provider: "fake" } });
    const failure = this.#engine.takeFailure(op);
    if (failure) throw failure;
    if (latency) await wait(this.#engine.latencyOf(op), signal, op);
  }

  #existing(handle: Handle): ContainerRecord {
    const record = this.#engine.records.get(handle?.id);
    if (!record) throw new NexusError("workspace_not_found", `fake: container ${JSON.stringify(handle?.id)} does not exist`, { details: { provider: "fake", id: handle?.id } });
    return record;
  }

  #handle(record: ContainerRecord): Handle {
    return {
      provider: "fake",
      id: record.id,
      workspaceId: record.workspaceId!,
      labels: { ...record.labels },
      ...(record.hostKey ? { hostKey: record.hostKey } : {}),
      ...(record.sshPort ? { sshPort: record.sshPort } : {}),
    };
  }

  async health(op: Op): Promise<ProviderHealth> {
    this.#engine.record({ op: "health" });
    if (this.#disposed) return { ok: false, reason: "the provider instance was disposed" };
    if (this.#engine.down) return { ok: false, reason: this.#engine.downReason! };
    const failure = this.#engine.takeFailure("health");
    if (failure) return { ok: false, reason: failure.message };
    try {
      await wait(this.#engine.latencyOf("health"), op.signal, "health");
    } catch (error) {
      return { ok: false, reason: (error as Error).message };
    }
    return { ok: true, version: this.#engine.version };
  }

  async provision(spec: WorkspaceSpec, op: Op): Promise<Handle> {
    await this.#enter("provision", op.signal, { workspaceId: spec?.workspaceId }, false);
    validateSpec(spec);
    const pending = this.#engine.provisioning.get(spec.workspaceId);
    if (pending) {
      await raceAbort(pending, op.signal, "provision");
      return this.#handle(this.#engine.managedFor(spec.workspaceId) ?? this.#gone(spec));
    }
    const existing = this.#engine.managedFor(spec.workspaceId);
    if (existing) {
      if (existing.state !== "running") this.#setRunning(existing);
      return this.#handle(existing);
    }
    const task = this.#create(spec, op);
    this.#engine.provisioning.set(spec.workspaceId, task.catch(() => undefined));
    try {
      return await task;
    } finally {
      this.#engine.provisioning.delete(spec.workspaceId);
    }
  }

  #gone(spec: WorkspaceSpec): never {
    throw new NexusError("provision_failed", `fake: workspace ${spec.workspaceId} was removed while it was being provisioned`);
  }

  async #create(spec: WorkspaceSpec, op: Op): Promise<Handle> {
    const bind = spec.sshBindAddress ?? "0.0.0.0";
    const clash = [...this.#engine.records.values()].find((r) => r.sshPort === spec.sshPort && (r.sshBindAddress ?? "0.0.0.0") === bind && r.state !== "stopped");
    if (clash) {
      throw new NexusError("provision_failed", `fake: port ${bind}:${spec.sshPort} is already allocated`, { details: { provider: "fake", sshPort: spec.sshPort } });
    }
    const record = this.#engine.newRecord({
      name: spec.name,
      workspaceId: spec.workspaceId,
      labels: { ...spec.labels, [LABELS.managed]: "true", [LABELS.workspace]: spec.workspaceId, [LABELS.name]: spec.name },
      image: spec.image,
      sshPort: spec.sshPort,
      sshBindAddress: spec.sshBindAddress,
    });
    try {
      await wait(this.#engine.latencyOf("provision"), op.signal, "provision");
      const dev = { uid: 1000, gid: 1000 };
      record.fs.write("/home/dev/.ssh/authorized_keys", Buffer.from(spec.authorizedKeys.map((k) => `${k}\n`).join("")), { mode: 0o600, ...dev });
      if (spec.caBundle) record.fs.write("/usr/local/share/ca-certificates/nexus-extra.crt", Buffer.from(spec.caBundle), {});
      if (this.#engine.hostKeys) {
        // Fresh per container, like the real providers: never shared from the image.
        record.hostKey = generateTestKeyPair("").publicKey;
        record.fs.write("/etc/ssh/ssh_host_ed25519_key.pub", Buffer.from(`${record.hostKey}\n`), {});
      }
      record.console.push(`container ${record.id} created`);
      await wait(this.#engine.latencyOf("provision"), op.signal, "provision");
      if (!this.#engine.records.has(record.id)) this.#gone(spec);
      this.#setRunning(record);
    } catch (error) {
      // Roll back: a cancelled or failed provision leaves nothing behind.
      this.#engine.records.delete(record.id);
      throw error;
    }
    op.log.debug({ provider: "fake", workspaceId: spec.workspaceId, id: record.id }, "provisioned container");
    return this.#handle(record);
  }

  #setRunning(record: ContainerRecord): void {
    record.state = "running";
    record.console.push(`container ${record.id} started`);
  }

  async start(handle: Handle, op: Op): Promise<void> {
    await this.#enter("start", op.signal, { handleId: handle?.id });
    const record = this.#existing(handle);
    if (record.state !== "running") this.#setRunning(record);
  }

  async stop(handle: Handle, op: Op): Promise<void> {
    await this.#enter("stop", op.signal, { handleId: handle?.id });
    const record = this.#existing(handle);
    if (record.state !== "stopped") {
      record.state = "stopped";
      record.console.push(`container ${record.id} stopped`);
    }
  }

  async destroy(handle: Handle, op: Op): Promise<void> {
    await this.#enter("destroy", op.signal, { handleId: handle?.id });
    if (this.#engine.records.delete(handle?.id)) op.log.debug({ provider: "fake", id: handle.id }, "destroyed container");
  }

  async inspect(handle: Handle, op: Op): Promise<Observed> {
    await this.#enter("inspect", op.signal, { handleId: handle?.id });
    const record = this.#engine.records.get(handle?.id);
    if (!record) return { state: "absent" };
    return {
      state: record.state,
      ...(record.state === "running" ? { address: record.address } : {}),
      ...(record.sshPort ? { sshPort: record.sshPort } : {}),
      labels: { ...record.labels },
    };
  }

  async list(op: Op): Promise<Handle[]> {
    await this.#enter("list", op.signal, {});
    return [...this.#engine.records.values()].filter(isManaged).map((r) => this.#handle(r));
  }

  async exec(handle: Handle, argv: string[], op: Op, options: ExecOptions = {}): Promise<ExecResult> {
    await this.#enter("exec", op.signal, { handleId: handle?.id, argv: Array.isArray(argv) ? [...argv] : [] });
    const record = this.#existing(handle);
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === "string" && !a.includes("\0"))) {
      throw invalid("argv must be a non-empty array of strings without NUL bytes");
    }
    if (record.state !== "running") {
      throw new NexusError("invalid_transition", `fake: container ${record.id} is ${record.state}, not running`, { details: { provider: "fake", state: record.state } });
    }
    const user = lookupUser(options.user ?? "root");
    if (!user) throw invalid(`unknown user ${JSON.stringify(options.user)}`);
    for (const key of Object.keys(options.env ?? {})) if (!ENV_NAME.test(key)) throw invalid(`invalid environment variable name ${JSON.stringify(key)}`);
    const cwd = options.cwd ?? user.home;
    const env = { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: user.home, USER: user.name, ...options.env };
    const stdin = options.stdin === undefined ? Buffer.alloc(0) : Buffer.from(options.stdin);
    for (const handler of this.#engine.execHandlers) {
      const scripted = await handler({
        container: this.#engine.container(record.id)!,
        argv: [...argv],
        user: user.name,
        cwd,
        env: { ...env },
        stdin: stdin.toString(),
        readFile: (path) => record.fs.read(path)?.toString(),
        writeFile: (path, data) => {
          const failure = record.fs.write(path, Buffer.from(data), {}, user);
          if (failure) throw invalid(failure);
        },
      });
      if (scripted) return scripted;
    }
    if (!record.fs.isDir(cwd)) {
      // What runc reports when the working directory is missing.
      return { exitCode: 126, stdout: "", stderr: `chdir to cwd (${JSON.stringify(cwd)}) failed: no such file or directory\n` };
    }
    return runArgv(argv, { fs: record.fs, user, cwd: FakeFileSystem.resolve("/", cwd), env, lookupUser }, stdin);
  }

  async writeFile(handle: Handle, path: string, data: string | Uint8Array, op: Op, options: WriteFileOptions = {}): Promise<void> {
    await this.#enter("writeFile", op.signal, { handleId: handle?.id });
    const record = this.#existing(handle);
    if (typeof path !== "string" || !path.startsWith("/") || path.includes("\0")) throw invalid("path must be absolute", { path });
    const failure = record.fs.write(path, Buffer.from(data), { mode: options.mode ?? 0o644, uid: options.uid ?? 0, gid: options.gid ?? 0 });
    if (failure) throw invalid(failure, { path });
  }

  async *logs(handle: Handle, op: Op): AsyncIterable<string> {
    await this.#enter("logs", op.signal, { handleId: handle?.id });
    yield* [...this.#existing(handle).console];
  }

  async snapshot(handle: Handle, op: Op): Promise<{ id: string }> {
    await this.#enter("snapshot", op.signal, { handleId: handle?.id });
    const record = this.#existing(handle);
    const id = `snap-${record.snapshots.length + 1}`;
    record.snapshots.push(id);
    return { id };
  }

  async dispose(): Promise<void> {
    this.#disposed = true;
  }
}

function lookupUser(nameOrId: string | number): FakeUser | undefined {
  return FAKE_USERS.find((u) => u.name === nameOrId || u.uid === nameOrId || String(u.uid) === nameOrId);
}
