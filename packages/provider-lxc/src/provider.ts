// The lxc provider: workspaces as Incus/LXD system containers.
import { readFile } from "node:fs/promises";
import { createServer, isIP } from "node:net";
import {
  LABELS,
  NexusError,
  type ExecOptions,
  type ExecResult,
  type Handle,
  type Observed,
  type Op,
  type PluginContext,
  type ProviderHealth,
  type ProviderInstance,
  type WorkspaceSpec,
  type WriteFileOptions,
} from "@nexus/core";
import { certificatesMissingFrom } from "./ca-bundle.js";
import { generateHostKey, seedHostKey } from "./host-keys.js";
import { IncusApiError, IncusClient } from "./incus/client.js";
import { resolveEndpoint } from "./incus/endpoint.js";
import { execInInstance } from "./incus/exec.js";
import { instancePath, pullFile, pushFile } from "./incus/files.js";
import { throwIfAborted } from "./incus/abort.js";
import { PLUGIN, imageMissingError, isNotFound, mapIncusError } from "./errors.js";
import { SSH_DEVICE, configKey, imageSource, instanceName, labelConfig, labelsFromConfig } from "./naming.js";
import { DEFAULT_CA_BUNDLE, DEFAULT_SOCKET_PATHS, INCUS_NAME, type LxcOptions } from "./options.js";
import { CONTAINER_CA_FILE, checkAuthorizedKeys, parseHostKey, setupCommand } from "./setup-script.js";

/** Tries of the instance create when Incus reports its internal deadline (transient). */
const CREATE_ATTEMPTS = 3;
const CONTAINER_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
/** Bound on one uncancellable provisioning step (create, seed, start). */
const STEP_TIMEOUT_MS = 120_000;

interface IncusDevice {
  [key: string]: string;
}

interface IncusInstance {
  name: string;
  status: string;
  status_code?: number;
  config: Record<string, string>;
  devices: Record<string, IncusDevice>;
  expanded_devices?: Record<string, IncusDevice>;
  state?: IncusInstanceState | null;
}

interface IncusInstanceState {
  status: string;
  network?: Record<string, { addresses?: { family: string; address: string; scope: string }[] }> | null;
}

interface IncusServer {
  auth?: string;
  environment?: { server?: string; server_version?: string };
}

interface ProfileDefaults {
  /** The default profile's NIC (device name and config), cloned per workspace with isolation added. */
  nic?: { name: string; device: IncusDevice };
  pool?: string;
}

export interface LxcProviderDeps {
  /** Socket paths tried in order when `socket` is not set (tests point this at a temp dir). */
  socketCandidates?: readonly string[];
}

function invalid(message: string, details: Record<string, unknown>): NexusError {
  return new NexusError("invalid_request", `lxc: ${message}`, { details: { plugin: PLUGIN, ...details } });
}

/** `tcp:0.0.0.0:2222`, or `tcp:[::]:2222` for IPv6. */
export function sshListenAddress(bind: string, port: number): string {
  return `tcp:${isIP(bind) === 6 ? `[${bind}]` : bind}:${port}`;
}

/** The proxy device: node port → the container's sshd, connected from inside its network namespace. */
function sshDevice(spec: WorkspaceSpec): IncusDevice {
  return { type: "proxy", listen: sshListenAddress(spec.sshBindAddress ?? "0.0.0.0", spec.sshPort), connect: "tcp:127.0.0.1:22", bind: "host" };
}

/**
 * Whether the node port can be bound now. Incus needs about six seconds to report a
 * busy proxy port (and only after the container exists); this answers in a millisecond.
 * Only EADDRINUSE counts: other errors (e.g. a low port for a non-root caller) are left
 * for Incus, which binds as root, to decide.
 */
function portInUse(bind: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "EADDRINUSE"));
    server.listen({ host: bind, port, exclusive: true }, () => server.close(() => resolve(false)));
  });
}

function portFromListen(listen: string | undefined): number | undefined {
  const match = listen?.match(/:(\d+)$/);
  return match ? Number(match[1]) : undefined;
}

function checkSpec(spec: WorkspaceSpec): void {
  if (!Number.isInteger(spec.sshPort) || spec.sshPort < 1 || spec.sshPort > 65535) throw invalid(`sshPort ${spec.sshPort} is not a TCP port`, { sshPort: spec.sshPort });
  if (spec.sshBindAddress !== undefined && isIP(spec.sshBindAddress) === 0) throw invalid(`sshBindAddress ${JSON.stringify(spec.sshBindAddress)} is not an IP address`, { sshBindAddress: spec.sshBindAddress });
  const { cpu, memoryBytes, diskBytes } = spec.resources ?? {};
  if (cpu !== undefined && !(cpu > 0 && cpu <= 1024)) throw invalid("resources.cpu must be a positive number of cores", { cpu });
  for (const [key, value] of Object.entries({ memoryBytes, diskBytes })) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) throw invalid(`resources.${key} must be a positive integer`, { [key]: value });
  }
}

/** Incus takes whole CPUs in limits.cpu; a fraction becomes a CFS allowance on top. */
function limitConfig(spec: WorkspaceSpec): Record<string, string> {
  const config: Record<string, string> = {};
  const { cpu, memoryBytes } = spec.resources ?? {};
  if (cpu !== undefined) {
    config["limits.cpu"] = String(Math.max(1, Math.ceil(cpu)));
    if (!Number.isInteger(cpu)) config["limits.cpu.allowance"] = `${Math.round(cpu * 100)}ms/100ms`;
  }
  if (memoryBytes !== undefined) config["limits.memory"] = `${memoryBytes}B`;
  return config;
}

function toObserved(instance: IncusInstance): Observed {
  const labels = labelsFromConfig(instance.config);
  const sshPort = portFromListen(instance.devices?.[SSH_DEVICE]?.listen);
  const status = (instance.state?.status ?? instance.status ?? "").toLowerCase();
  const base = { labels, ...(sshPort ? { sshPort } : {}) };
  switch (status) {
    case "running": {
      const address = Object.entries(instance.state?.network ?? {})
        .filter(([nic]) => nic !== "lo")
        .flatMap(([, n]) => n.addresses ?? [])
        .find((a) => a.family === "inet" && a.scope === "global")?.address;
      return { state: "running", ...base, ...(address ? { address } : {}) };
    }
    case "stopped":
      return { state: "stopped", ...base };
    case "frozen":
      return { state: "stopped", ...base, reason: "frozen" };
    case "starting":
    case "pending":
      return { state: "creating", ...base };
    case "stopping":
      return { state: "running", ...base, reason: "stopping" };
    default:
      return { state: "error", ...base, reason: `Incus status ${instance.state?.status ?? instance.status}` };
  }
}

function toHandle(instance: IncusInstance): Handle {
  const sshPort = portFromListen(instance.devices?.[SSH_DEVICE]?.listen);
  return {
    provider: PLUGIN,
    id: instance.name,
    workspaceId: instance.config[configKey(LABELS.workspace)] ?? "",
    labels: labelsFromConfig(instance.config),
    ...(sshPort ? { sshPort } : {}),
  };
}

export class LxcProvider implements ProviderInstance {
  readonly #options: LxcOptions;
  readonly #ctx: PluginContext;
  readonly #socketCandidates: readonly string[];
  #client: Promise<IncusClient> | undefined;
  #defaults: Promise<ProfileDefaults> | undefined;

  constructor(ctx: PluginContext, options: LxcOptions, deps: LxcProviderDeps = {}) {
    this.#ctx = ctx;
    this.#options = options;
    this.#socketCandidates = deps.socketCandidates ?? DEFAULT_SOCKET_PATHS;
  }

  /** Resolved on first use, so a daemon started after nexus is still found; a failed look-up is retried next time. */
  #api(): Promise<IncusClient> {
    this.#client ??= resolveEndpoint(this.#options, this.#socketCandidates).then((endpoint) => new IncusClient(endpoint, this.#options.project));
    this.#client.catch(() => {
      this.#client = undefined;
    });
    return this.#client;
  }

  /** The default profile's NIC and root pool, read once per provider instance. */
  #profileDefaults(client: IncusClient, signal: AbortSignal): Promise<ProfileDefaults> {
    this.#defaults ??= client.sync<{ devices?: Record<string, IncusDevice> }>("GET", "/1.0/profiles/default", { signal, phase: "read the default profile" }).then((profile) => {
      const devices = Object.entries(profile.devices ?? {});
      const nic = devices.find(([, d]) => d.type === "nic" && (d.name === "eth0" || d.name === undefined)) ?? devices.find(([, d]) => d.type === "nic");
      const pool = devices.find(([, d]) => d.type === "disk" && d.path === "/")?.[1].pool;
      return { ...(nic ? { nic: { name: nic[0], device: nic[1] } } : {}), ...(pool ? { pool } : {}) };
    });
    this.#defaults.catch(() => {
      this.#defaults = undefined;
    });
    return this.#defaults;
  }

  async #instance(client: IncusClient, name: string, signal: AbortSignal): Promise<IncusInstance | undefined> {
    try {
      return await client.sync<IncusInstance>("GET", instancePath(name), { query: { recursion: 1 }, signal, phase: `inspect ${name}` });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async health(op: Op): Promise<ProviderHealth> {
    try {
      const client = await this.#api();
      const server = await client.sync<IncusServer>("GET", "/1.0", { signal: op.signal, phase: "health" });
      if (server.auth !== undefined && server.auth !== "trusted") {
        return { ok: false, reason: `the ${server.environment?.server ?? "Incus"} daemon at ${client.endpoint} does not trust this client (auth: ${server.auth})` };
      }
      const version = server.environment?.server_version;
      // The daemon answered: a failed look-up below is a warning, not "down".
      const warnings = await this.#warnings(client, op.signal).catch((error: unknown) => [`could not check the profile, pool and image: ${(error as Error).message}`]);
      return { ok: true, ...(version ? { version } : {}), ...(warnings.length ? { warnings } : {}) };
    } catch (error) {
      return { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
  }

  async #warnings(client: IncusClient, signal: AbortSignal): Promise<string[]> {
    const warnings: string[] = [];
    const defaults = await this.#profileDefaults(client, signal);
    const pool = this.#options.storagePool ?? defaults.pool;
    const image = imageSource(this.#options.image);
    const [poolInfo, alias] = await Promise.all([
      pool ? client.sync<{ driver: string }>("GET", `/1.0/storage-pools/${encodeURIComponent(pool)}`, { signal }).catch(() => undefined) : undefined,
      "server" in image ? "remote" : client.sync("GET", `/1.0/images/aliases/${encodeURIComponent(image.alias)}`, { signal }).then(() => "present", (e: unknown) => (isNotFound(e) ? "missing" : "unknown")),
    ]);
    if (!pool) warnings.push("no storage pool: the default profile has no root disk and the `storagePool` option is not set");
    else if (!poolInfo) warnings.push(`storage pool ${pool} not found`);
    else if (poolInfo.driver === "dir") {
      warnings.push(`storage pool ${pool} uses the dir driver: every workspace copies the whole image (slow, no copy-on-write); use btrfs or zfs`);
    }
    if (alias === "missing") warnings.push(`base image ${image.alias} is not imported; run \`nexus node image build\``);
    if (!defaults.nic && !this.#options.network) warnings.push("the default profile has no network device and the `network` option is not set: workspaces get no network");
    return warnings;
  }

  /** The instance as created: everything but the SSH proxy device, which is attached once it runs. */
  async #createBody(client: IncusClient, spec: WorkspaceSpec, name: string, signal: AbortSignal): Promise<{ name: string; devices: Record<string, IncusDevice> } & Record<string, unknown>> {
    const defaults = await this.#profileDefaults(client, signal);
    const devices: Record<string, IncusDevice> = {};
    const nicName = defaults.nic?.name ?? "eth0";
    const nic: IncusDevice | undefined = this.#options.network
      ? { type: "nic", name: "eth0", network: this.#options.network }
      : defaults.nic
        ? { ...defaults.nic.device }
        : undefined;
    // Isolated ports of one bridge cannot exchange frames; the host (the bridge itself) still reaches all of them.
    if (nic && this.#options.isolation) nic["security.port_isolation"] = "true";
    if (nic && (this.#options.isolation || this.#options.network)) devices[nicName] = nic;
    const pool = this.#options.storagePool ?? defaults.pool;
    if (this.#options.storagePool || spec.resources?.diskBytes !== undefined) {
      if (!pool) throw new NexusError("provision_failed", "lxc: no storage pool: the default profile has no root disk and `storagePool` is not set", { details: { plugin: PLUGIN } });
      devices.root = { type: "disk", path: "/", pool, ...(spec.resources?.diskBytes !== undefined ? { size: `${spec.resources.diskBytes}B` } : {}) };
    }
    return {
      name,
      type: "container",
      source: imageSource(spec.image ?? this.#options.image),
      profiles: ["default"],
      // Started only after the host key is in place (see host-keys.ts).
      start: false,
      config: {
        ...labelConfig(spec),
        ...limitConfig(spec),
        "security.privileged": "false",
        "security.nesting": "false",
      },
      devices,
    };
  }

  /** Certificates to add to the container's trust store: the spec's plus (opted in) the node's, minus what it already has. */
  async #injectCa(client: IncusClient, name: string, spec: WorkspaceSpec, signal: AbortSignal): Promise<string | undefined> {
    let wanted = spec.caBundle ?? "";
    if (this.#options.injectCaBundle) {
      const path = this.#options.caBundle ?? DEFAULT_CA_BUNDLE;
      try {
        wanted += `\n${await readFile(path, "utf8")}`;
      } catch (error) {
        if (this.#options.caBundle) throw new NexusError("invalid_config", `lxc: cannot read the CA bundle ${path}: ${(error as Error).message}`, { cause: error, details: { plugin: PLUGIN, caBundle: path } });
        this.#ctx.log.debug({ path }, "no CA bundle on the node; nothing to inject");
      }
    }
    if (!wanted.includes("-----BEGIN CERTIFICATE-----")) return undefined;
    const present = await pullFile(client, name, CONTAINER_CA_BUNDLE, signal).then((b) => b.toString("utf8"), () => "");
    const missing = certificatesMissingFrom(wanted, present);
    if (!missing) return undefined;
    await pushFile(client, name, CONTAINER_CA_FILE, missing, signal, { mode: 0o644, uid: 0, gid: 0 });
    return CONTAINER_CA_FILE;
  }

  /** Host key, user dev, authorized keys, CA, sshd: one exec. */
  async #setup(client: IncusClient, name: string, spec: WorkspaceSpec, keys: string[], signal: AbortSignal): Promise<string> {
    const caFile = await this.#injectCa(client, name, spec, signal);
    const result = await execInInstance(client, name, setupCommand("provision", caFile, keys), signal);
    const hostKey = result.exitCode === 0 ? parseHostKey(result.stdout) : undefined;
    if (!hostKey) {
      throw new NexusError("provision_failed", `lxc: setting up ${name} failed (exit ${result.exitCode}): ${result.stderr.trim().slice(-500) || "no host key printed"}`, {
        details: { plugin: PLUGIN, instance: name, exitCode: result.exitCode, stderr: result.stderr.slice(-2000) },
        hint: "The image must provide sshd, ssh-keygen, useradd and sudo; rebuild it with `nexus node image build`.",
      });
    }
    return hostKey;
  }

  /** Asked only after a failed create, so the happy path pays no extra round trip. */
  async #aliasMissing(client: IncusClient, image: string): Promise<boolean> {
    const source = imageSource(image);
    if ("server" in source) return false;
    return client.sync("GET", `/1.0/images/aliases/${encodeURIComponent(source.alias)}`, { signal: AbortSignal.timeout(5_000) }).then(
      () => false,
      (error: unknown) => isNotFound(error),
    );
  }

  async #startIfStopped(client: IncusClient, instance: IncusInstance, signal: AbortSignal): Promise<void> {
    if ((instance.state?.status ?? instance.status) === "Running") return;
    await client.operation("PUT", instancePath(instance.name, "state"), { body: { action: "start" }, signal, phase: `start ${instance.name}` });
  }

  async provision(spec: WorkspaceSpec, op: Op): Promise<Handle> {
    checkSpec(spec);
    const name = instanceName(spec.name, spec.workspaceId);
    const keys = checkAuthorizedKeys(spec.authorizedKeys ?? []);
    const client = await this.#api();
    try {
      const existing = await this.#instance(client, name, op.signal);
      if (existing) return await this.#reprovision(client, existing, spec, keys, op.signal);
      // Create, seed and start run to completion once begun (Incus cannot cancel them and an
      // abort mid-way would race the cleanup); the caller's signal is checked between steps.
      const step = AbortSignal.timeout(STEP_TIMEOUT_MS);
      const began = performance.now();
      const timings: Record<string, number> = {};
      const lap = (phase: string) => (timings[phase] = Math.round(performance.now() - began));
      throwIfAborted(op.signal, `provision ${name}`);
      const bind = spec.sshBindAddress ?? "0.0.0.0";
      if (client.local && (await portInUse(bind, spec.sshPort))) {
        throw new NexusError("provision_failed", `lxc: SSH port ${spec.sshPort} is already in use on the node`, {
          details: { plugin: PLUGIN, instance: name, sshPort: spec.sshPort, sshBindAddress: bind },
          hint: "Another process listens on this port; free it, or keep the agent's `--ssh-ports` range for nexus.",
        });
      }
      const body = await this.#createBody(client, spec, name, step);
      if (!(await this.#create(client, body, spec.image ?? this.#options.image, step))) {
        // Lost a race with a concurrent provision of the same workspace: continue with its container.
        const winner = await this.#instance(client, name, op.signal);
        if (!winner) throw new NexusError("provision_failed", `lxc: ${name} vanished while being created`, { details: { plugin: PLUGIN, instance: name } });
        return await this.#reprovision(client, winner, spec, keys, op.signal);
      }
      try {
        lap("created");
        const hostKey = generateHostKey();
        await seedHostKey(client, name, hostKey, step);
        lap("seeded");
        throwIfAborted(op.signal, `provision ${name}`);
        await client.operation("PUT", instancePath(name, "state"), { body: { action: "start" }, signal: step, phase: `start ${name}` });
        lap("started");
        throwIfAborted(op.signal, `provision ${name}`);
        // Incus polls a new proxy device's start once a second, so attaching it costs about a
        // second: attached while the container boots, that second overlaps sshd's start-up.
        const [attached, setup] = await Promise.allSettled([
          client
            .operation("PATCH", instancePath(name), { body: { devices: { ...body.devices, [SSH_DEVICE]: sshDevice(spec) } }, signal: step, phase: `attach the SSH port to ${name}` })
            .then(() => lap("ssh-port")),
          this.#setup(client, name, spec, keys, op.signal).then((served) => (lap("sshd"), served)),
        ]);
        if (attached.status === "rejected") throw attached.reason;
        if (setup.status === "rejected") throw setup.reason;
        if (setup.value !== hostKey.publicKey) {
          throw new NexusError("provision_failed", `lxc: sshd in ${name} serves a different host key than the one provisioned`, { details: { plugin: PLUGIN, instance: name } });
        }
        op.log.debug({ instance: name, ms: timings }, "container provisioned");
        return this.#handle(name, spec, setup.value);
      } catch (error) {
        await this.#removeQuietly(client, name);
        throw error;
      }
    } catch (error) {
      throw mapIncusError(error, { action: "provision", instance: name });
    }
  }

  /** Creates the container (stopped); false when another call created it first. */
  async #create(client: IncusClient, body: { name: string }, image: string, signal: AbortSignal, attempt = 1): Promise<boolean> {
    try {
      await client.operation("POST", "/1.0/instances", { body, signal, phase: `create ${body.name}` });
      return true;
    } catch (error) {
      if (error instanceof IncusApiError && /already exists/i.test(error.backendMessage)) return false;
      await this.#removeQuietly(client, body.name);
      // Incus gives up on an internal deadline when many creates contend (seen under load with
      // 20 at once): nothing of the container is left, so the create is simply tried again.
      if (error instanceof IncusApiError && /context deadline exceeded/i.test(error.backendMessage) && attempt < CREATE_ATTEMPTS && !signal.aborted) {
        return this.#create(client, body, image, signal, attempt + 1);
      }
      if (!signal.aborted && (await this.#aliasMissing(client, image))) throw imageMissingError(image, error);
      throw mapIncusError(error, { action: "provision", instance: body.name });
    }
  }

  /** An existing container for this workspace: make it match the spec again (running, keys, sshd, port). */
  async #reprovision(client: IncusClient, existing: IncusInstance, spec: WorkspaceSpec, keys: string[], signal: AbortSignal): Promise<Handle> {
    const name = existing.name;
    if (existing.config[configKey(LABELS.workspace)] !== spec.workspaceId) {
      throw new NexusError("provision_failed", `lxc: container ${name} belongs to another workspace`, {
        details: { plugin: PLUGIN, instance: name, workspaceId: spec.workspaceId, owner: existing.config[configKey(LABELS.workspace)] },
      });
    }
    const wanted = sshDevice(spec);
    if (existing.devices?.[SSH_DEVICE]?.listen !== wanted.listen) {
      await client.operation("PATCH", instancePath(name), {
        body: { devices: { ...existing.devices, [SSH_DEVICE]: wanted } },
        signal,
        phase: `update ${name}`,
      });
    }
    await this.#startIfStopped(client, existing, signal);
    const hostKey = await this.#setup(client, name, spec, keys, signal);
    return this.#handle(name, spec, hostKey);
  }

  #handle(name: string, spec: WorkspaceSpec, hostKey: string): Handle {
    return { provider: PLUGIN, id: name, workspaceId: spec.workspaceId, labels: labelsFromConfig(labelConfig(spec)), hostKey, sshPort: spec.sshPort };
  }

  /** Cleanup after a failed provision; uses its own deadline because the caller's signal may be what failed. */
  async #removeQuietly(client: IncusClient, name: string): Promise<void> {
    try {
      await this.#remove(client, name, AbortSignal.timeout(30_000));
    } catch (error) {
      this.#ctx.log.warn({ instance: name, err: error }, "could not remove a half-provisioned container");
    }
  }

  async #remove(client: IncusClient, name: string, signal: AbortSignal): Promise<void> {
    const instance = await this.#instance(client, name, signal);
    if (!instance) return;
    try {
      if (instance.status !== "Stopped") {
        await client.operation("PUT", instancePath(name, "state"), { body: { action: "stop", force: true, timeout: -1 }, signal, phase: `stop ${name}` });
      }
      await client.operation("DELETE", instancePath(name), { signal, phase: `delete ${name}` });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async #required(client: IncusClient, handle: Handle, signal: AbortSignal): Promise<IncusInstance> {
    const instance = await this.#instance(client, checkHandle(handle), signal);
    if (!instance) throw new NexusError("workspace_not_found", `lxc: container ${handle.id} does not exist`, { details: { plugin: PLUGIN, instance: handle.id, workspaceId: handle.workspaceId } });
    return instance;
  }

  async start(handle: Handle, op: Op): Promise<void> {
    const client = await this.#api();
    try {
      const instance = await this.#required(client, handle, op.signal);
      await this.#startIfStopped(client, instance, op.signal);
      // Without an init system nothing restarts sshd; with one, wait until it listens again.
      const result = await execInInstance(client, instance.name, setupCommand("sshd", undefined, []), op.signal);
      if (result.exitCode !== 0) {
        throw new NexusError("internal_error", `lxc: starting sshd in ${instance.name} failed: ${result.stderr.trim().slice(-500)}`, {
          details: { plugin: PLUGIN, instance: instance.name, exitCode: result.exitCode },
        });
      }
    } catch (error) {
      throw mapIncusError(error, { action: "start", instance: handle.id });
    }
  }

  async stop(handle: Handle, op: Op): Promise<void> {
    const client = await this.#api();
    try {
      const instance = await this.#required(client, handle, op.signal);
      if (instance.status === "Stopped") return;
      const path = instancePath(instance.name, "state");
      try {
        await client.operation("PUT", path, { body: { action: "stop", timeout: this.#options.stopTimeoutSeconds, force: false }, signal: op.signal, phase: `stop ${instance.name}` });
      } catch (error) {
        throwIfAborted(op.signal, `stop ${instance.name}`);
        op.log.debug({ instance: instance.name, err: error }, "clean stop failed; stopping by force");
        await client.operation("PUT", path, { body: { action: "stop", timeout: -1, force: true }, signal: op.signal, phase: `force-stop ${instance.name}` });
      }
    } catch (error) {
      throw mapIncusError(error, { action: "stop", instance: handle.id });
    }
  }

  async destroy(handle: Handle, op: Op): Promise<void> {
    const client = await this.#api();
    try {
      await this.#remove(client, checkHandle(handle), op.signal);
    } catch (error) {
      throw mapIncusError(error, { action: "destroy", instance: handle.id });
    }
  }

  async inspect(handle: Handle, op: Op): Promise<Observed> {
    const client = await this.#api();
    try {
      const instance = await this.#instance(client, checkHandle(handle), op.signal);
      if (!instance) return { state: "absent" };
      if (instance.state === undefined) {
        instance.state = await client.sync<IncusInstanceState>("GET", instancePath(instance.name, "state"), { signal: op.signal });
      }
      return toObserved(instance);
    } catch (error) {
      throw mapIncusError(error, { action: "inspect", instance: handle.id });
    }
  }

  async list(op: Op): Promise<Handle[]> {
    const client = await this.#api();
    try {
      const instances = await client.sync<IncusInstance[]>("GET", "/1.0/instances", { query: { recursion: 1 }, signal: op.signal, phase: "list containers" });
      return instances.filter((i) => i.config?.[configKey(LABELS.managed)] === "true").map(toHandle);
    } catch (error) {
      throw mapIncusError(error, { action: "list" });
    }
  }

  async exec(handle: Handle, argv: string[], op: Op, options?: ExecOptions): Promise<ExecResult> {
    const client = await this.#api();
    try {
      return await execInInstance(client, checkHandle(handle), argv, op.signal, options);
    } catch (error) {
      throw mapIncusError(error, { action: "exec", instance: handle.id });
    }
  }

  async writeFile(handle: Handle, path: string, data: string | Uint8Array, op: Op, options?: WriteFileOptions): Promise<void> {
    const client = await this.#api();
    try {
      await pushFile(client, checkHandle(handle), path, data, op.signal, options);
    } catch (error) {
      throw mapIncusError(error, { action: "writeFile", instance: handle.id });
    }
  }

  async snapshot(handle: Handle, op: Op): Promise<{ id: string }> {
    const client = await this.#api();
    const name = checkHandle(handle);
    const snapshot = `nexus-${new Date().toISOString().replace(/[-:.TZ]/g, "").slice(0, 14)}-${Math.random().toString(36).slice(2, 6)}`;
    try {
      await client.operation("POST", instancePath(name, "snapshots"), { body: { name: snapshot, stateful: false }, signal: op.signal, phase: `snapshot ${name}` });
      return { id: `${name}/${snapshot}` };
    } catch (error) {
      throw mapIncusError(error, { action: "snapshot", instance: name });
    }
  }

  async dispose(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#defaults = undefined;
    await client?.then((c) => c.close(), () => undefined);
  }
}

/** Handles cross the agent protocol: their id is checked like any other input before it reaches a URL. */
function checkHandle(handle: Handle): string {
  if (!handle || typeof handle.id !== "string" || !INCUS_NAME.test(handle.id)) {
    throw invalid(`handle id ${JSON.stringify(handle?.id)} is not an Incus instance name`, { id: handle?.id });
  }
  return handle.id;
}
