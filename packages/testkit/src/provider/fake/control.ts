// The fake "engine": every container, the failure queue, latency and the down switch.
// One engine can serve several provider instances (like one Docker daemon serving
// several clients), which is what lets a test hold the control while a registry
// creates the instance.
import { randomBytes } from "node:crypto";
import { LABELS, NexusError, isNexusError, toNexusError, type ExecResult } from "@nexus/core";
import { FakeFileSystem } from "./fs.js";
import type { FakeUser } from "./shell.js";

export const FAKE_OPERATIONS = ["health", "provision", "start", "stop", "destroy", "inspect", "list", "exec", "writeFile", "logs", "snapshot"] as const;
export type FakeOperation = (typeof FAKE_OPERATIONS)[number];

/** Milliseconds each operation waits (abortably) before acting; provision waits twice (create, then start). */
export type FakeLatency = number | Partial<Record<FakeOperation, number>>;

export type FakeContainerState = "creating" | "running" | "stopped" | "error";

/** A read-only snapshot of one fake container. */
export interface FakeContainer {
  id: string;
  name: string;
  /** Undefined for unmanaged (decoy) containers. */
  workspaceId: string | undefined;
  state: FakeContainerState;
  labels: Record<string, string>;
  image: string | undefined;
  sshPort: number | undefined;
  hostKey: string | undefined;
  snapshots: string[];
}

/** One recorded provider call, in order; argv only for exec. */
export interface FakeCall {
  op: FakeOperation;
  handleId?: string;
  workspaceId?: string;
  argv?: string[];
}

/** What an onExec handler sees; it may read and write the container's files. */
export interface FakeExecCall {
  container: FakeContainer;
  argv: string[];
  user: string;
  cwd: string;
  env: Record<string, string>;
  stdin: string;
  readFile(path: string): string | undefined;
  writeFile(path: string, data: string): void;
}

/** Return a result to answer the exec, or undefined to fall through to the next handler / the built-in shell. */
export type FakeExecHandler = (call: FakeExecCall) => ExecResult | undefined | Promise<ExecResult | undefined>;

export interface FakeProviderControl {
  /** Every call any instance made, oldest first. */
  readonly calls: readonly FakeCall[];
  readonly down: boolean;
  /** Backend unreachable: health reports ok:false with the reason, every other call rejects provider_unavailable. */
  setDown(reason?: string): void;
  setUp(): void;
  setLatency(latency: FakeLatency): void;
  /**
   * The next call of `op` rejects with `error` (default: an internal_error); queue several
   * by calling repeatedly. Non-NexusErrors are wrapped, as a provider's edge would.
   * For health, the failure is reported as ok:false instead, since health never throws.
   */
  failNext(op: FakeOperation, error?: unknown): void;
  /** Scripts exec responses; handlers run in registration order. Returns an unsubscribe function. */
  onExec(handler: FakeExecHandler): () => void;
  containers(): FakeContainer[];
  /** By container id, or the managed container of a workspace id. */
  container(idOrWorkspaceId: string): FakeContainer | undefined;
  readFile(containerId: string, path: string): string | undefined;
  /** Seeds a file (parents are created); throws if the container does not exist. */
  writeFile(containerId: string, path: string, data: string, mode?: number): void;
  /** Creates a running container without nexus labels, which list() must ignore. */
  addUnmanaged(name: string): FakeContainer;
  /** Removes a container behind nexus's back (drift). Returns whether it existed. */
  remove(containerId: string): boolean;
  /** Forces a container's state (a crash → "error", an external stop → "stopped"). */
  setState(containerId: string, state: FakeContainerState): void;
}

export const FAKE_USERS: readonly Readonly<FakeUser>[] = Object.freeze([
  Object.freeze({ name: "root", uid: 0, gid: 0, home: "/root" }),
  Object.freeze({ name: "dev", uid: 1000, gid: 1000, home: "/home/dev" }),
]);

export interface ContainerRecord {
  id: string;
  name: string;
  workspaceId: string | undefined;
  state: FakeContainerState;
  labels: Record<string, string>;
  image: string | undefined;
  sshPort: number | undefined;
  sshBindAddress: string | undefined;
  hostKey: string | undefined;
  address: string;
  fs: FakeFileSystem;
  /** Lifecycle lines served by logs(). */
  console: string[];
  snapshots: string[];
}

export interface FakeEngineOptions {
  latencyMs?: FakeLatency;
  hostKey?: boolean;
  version?: string;
  down?: boolean | string;
}

export function isManaged(record: ContainerRecord): boolean {
  return record.labels[LABELS.managed] === "true" && record.workspaceId !== undefined;
}

export class FakeEngine implements FakeProviderControl {
  readonly records = new Map<string, ContainerRecord>();
  /** Provisions in flight per workspace id, so concurrent calls converge on one container. */
  readonly provisioning = new Map<string, Promise<unknown>>();
  readonly execHandlers: FakeExecHandler[] = [];
  readonly hostKeys: boolean;
  readonly version: string;
  readonly #calls: FakeCall[] = [];
  readonly #failures = new Map<FakeOperation, unknown[]>();
  #downReason: string | undefined;
  #latency: FakeLatency;
  #addressCounter = 1;

  constructor(options: FakeEngineOptions = {}) {
    this.#latency = options.latencyMs ?? 0;
    this.hostKeys = options.hostKey ?? true;
    this.version = options.version ?? "fake-1";
    if (options.down) this.setDown(typeof options.down === "string" ? options.down : undefined);
  }

  get calls(): readonly FakeCall[] {
    return this.#calls;
  }

  get down(): boolean {
    return this.#downReason !== undefined;
  }

  get downReason(): string | undefined {
    return this.#downReason;
  }

  setDown(reason = "fake backend is down"): void {
    this.#downReason = reason;
  }

  setUp(): void {
    this.#downReason = undefined;
  }

  setLatency(latency: FakeLatency): void {
    this.#latency = latency;
  }

  latencyOf(op: FakeOperation): number {
    return typeof this.#latency === "number" ? this.#latency : (this.#latency[op] ?? 0);
  }

  failNext(op: FakeOperation, error: unknown = new NexusError("internal_error", `fake: injected ${op} failure`)): void {
    const queue = this.#failures.get(op) ?? [];
    queue.push(error);
    this.#failures.set(op, queue);
  }

  /** The queued failure for op, as a NexusError, if any. */
  takeFailure(op: FakeOperation): NexusError | undefined {
    const queue = this.#failures.get(op);
    if (!queue?.length) return undefined;
    const error = queue.shift();
    return isNexusError(error) ? error : toNexusError(error, { plugin: "provider:fake" });
  }

  record(call: FakeCall): void {
    this.#calls.push(call);
  }

  onExec(handler: FakeExecHandler): () => void {
    this.execHandlers.push(handler);
    return () => {
      const index = this.execHandlers.indexOf(handler);
      if (index !== -1) this.execHandlers.splice(index, 1);
    };
  }

  containers(): FakeContainer[] {
    return [...this.records.values()].map(view);
  }

  container(idOrWorkspaceId: string): FakeContainer | undefined {
    const record = this.records.get(idOrWorkspaceId) ?? this.managedFor(idOrWorkspaceId);
    return record && view(record);
  }

  managedFor(workspaceId: string): ContainerRecord | undefined {
    return [...this.records.values()].find((r) => isManaged(r) && r.workspaceId === workspaceId);
  }

  readFile(containerId: string, path: string): string | undefined {
    return this.records.get(containerId)?.fs.read(path)?.toString();
  }

  writeFile(containerId: string, path: string, data: string, mode?: number): void {
    const record = this.records.get(containerId);
    if (!record) throw new NexusError("workspace_not_found", `fake container ${containerId} does not exist`);
    record.fs.mkdir(path.slice(0, path.lastIndexOf("/")) || "/", { parents: true });
    const failure = record.fs.write(path, Buffer.from(data), { ...(mode === undefined ? {} : { mode }) });
    if (failure) throw new NexusError("invalid_request", failure);
  }

  addUnmanaged(name: string): FakeContainer {
    const record = this.newRecord({ name, workspaceId: undefined, labels: {}, image: undefined, sshPort: undefined, sshBindAddress: undefined });
    record.state = "running";
    return view(record);
  }

  remove(containerId: string): boolean {
    return this.records.delete(containerId);
  }

  setState(containerId: string, state: FakeContainerState): void {
    const record = this.records.get(containerId);
    if (!record) throw new NexusError("workspace_not_found", `fake container ${containerId} does not exist`);
    record.state = state;
  }

  newRecord(init: Pick<ContainerRecord, "name" | "workspaceId" | "labels" | "image" | "sshPort" | "sshBindAddress">): ContainerRecord {
    const record: ContainerRecord = {
      ...init,
      id: `nexus-${init.name}-${randomBytes(3).toString("hex")}`,
      state: "creating",
      hostKey: undefined,
      address: `10.83.${Math.floor(this.#addressCounter / 250)}.${(this.#addressCounter++ % 250) + 2}`,
      fs: new FakeFileSystem([
        ["/tmp", 0o1777, 0], ["/root", 0o700, 0], ["/etc/ssh", 0o755, 0], ["/usr/local/share/ca-certificates", 0o755, 0],
        ["/home/dev", 0o755, 1000], ["/home/dev/.ssh", 0o700, 1000],
      ]),
      console: [],
      snapshots: [],
    };
    record.fs.write("/etc/hostname", Buffer.from(`${init.name}\n`), {});
    this.records.set(record.id, record);
    return record;
  }
}

function view(record: ContainerRecord): FakeContainer {
  return {
    id: record.id,
    name: record.name,
    workspaceId: record.workspaceId,
    state: record.state,
    labels: { ...record.labels },
    image: record.image,
    sshPort: record.sshPort,
    hostKey: record.hostKey,
    snapshots: [...record.snapshots],
  };
}
