import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import {
  LABELS,
  NexusError,
  isNexusError,
  type ExecOptions,
  type ExecResult,
  type Handle,
  type Observed,
  type ObservedState,
  type Op,
  type PluginContext,
  type ProviderHealth,
  type ProviderInstance,
  type WorkspaceSpec,
  type WriteFileOptions,
} from "@nexus/core";
import { HOST_KEY_PATH, workspaceFileEntries } from "./boot.js";
import { SSH_CONTAINER_PORT, SSH_PORT_LABEL, containerName, createContainerBody } from "./container-spec.js";
import { DockerClient } from "./engine/client.js";
import { DockerApiError, IMAGE_HINT, cancelled, toProviderError, type ErrorContext } from "./engine/errors.js";
import type { ContainerInspect, ContainerSummary, EngineVersion, ExecInspect, NetworkInspect } from "./engine/types.js";
import { resolveEndpoint, type DockerOptions } from "./options.js";
import { probeHost, waitForSshBanner } from "./ssh-ready.js";
import { buildTar, readTar } from "./tar.js";
import { splitFilePath, validateExec, validateSpec } from "./validate.js";

export const PROVIDER_NAME = "docker";
const ICC_OPTION = "com.docker.network.bridge.enable_icc";
const CONTAINER_REF = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** sshd answers well within a second of start; this only bounds a broken image. */
const SSH_READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_SECONDS = 10;
const CREATE_TIMEOUT_MS = 60_000;

export function createDockerProvider(ctx: PluginContext, options: DockerOptions): ProviderInstance {
  return new DockerProvider(options, new DockerClient(resolveEndpoint(options, ctx.env)));
}

/** Provider state lives on the instance: the client, and what it has already checked. */
export class DockerProvider implements ProviderInstance {
  readonly #options: DockerOptions;
  readonly #client: DockerClient;
  #network: Promise<void> | undefined;
  #hostCaBundle: Promise<string> | undefined;
  /** Concurrent provisions of one workspace share one attempt. */
  readonly #provisioning = new Map<string, Promise<Handle>>();

  constructor(options: DockerOptions, client: DockerClient) {
    this.#options = options;
    this.#client = client;
  }

  async health(op: Op): Promise<ProviderHealth> {
    try {
      await this.#client.apiVersion(op.signal);
      const version = await this.#client.json<EngineVersion>("GET", "/version", { signal: op.signal, operation: "version" });
      const warnings: string[] = [];
      const image = await this.#client.call("GET", `/images/${encodeURIComponent(this.#options.image)}/json`, { signal: op.signal, operation: "inspect image", accept: [404] });
      if (image.status === 404) warnings.push(`base image ${this.#options.image} is missing. ${IMAGE_HINT}`);
      return { ok: true, version: `Docker Engine ${version.Version} (API ${version.ApiVersion})`, warnings };
    } catch (error) {
      return { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
  }

  async provision(spec: WorkspaceSpec, op: Op): Promise<Handle> {
    validateSpec(spec);
    let attempt = this.#provisioning.get(spec.workspaceId);
    if (!attempt) {
      attempt = this.#provision(spec, op).finally(() => this.#provisioning.delete(spec.workspaceId));
      this.#provisioning.set(spec.workspaceId, attempt);
    }
    return await attempt;
  }

  async #provision(spec: WorkspaceSpec, op: Op): Promise<Handle> {
    const started = Date.now();
    const image = spec.image ?? this.#options.image;
    const context: ErrorContext = { operation: "provision", fallback: "provision_failed", image, sshPort: spec.sshPort };
    try {
      const existing = await this.#findByWorkspace(spec.workspaceId, op);
      if (existing) {
        op.log.debug({ container: existing.Id, workspace: spec.workspaceId }, "docker: workspace container exists; reusing it");
        // Never started: an earlier provision may have stopped before writing the files.
        if (existing.State === "created") await this.#writeWorkspaceFiles(existing.Id, spec, await this.#caBundleFor(spec), op);
        return await this.#readyHandle(existing.Id, op);
      }
      await this.#ensureNetwork(op);
      const caBundle = await this.#caBundleFor(spec);
      const id = await this.#createContainer(spec, image, caBundle !== "", op);
      op.log.debug({ container: id, ms: Date.now() - started }, "docker: container created");
      try {
        if (op.signal.aborted) throw cancelled(op.signal, "provision");
        await this.#writeWorkspaceFiles(id, spec, caBundle, op);
        await this.#client.call("POST", `/containers/${id}/start`, { signal: op.signal, operation: "start container", accept: [304] });
        op.log.debug({ container: id, ms: Date.now() - started }, "docker: container started");
        const handle = await this.#readyHandle(id, op);
        op.log.debug({ container: id, ms: Date.now() - started }, "docker: sshd ready");
        return handle;
      } catch (error) {
        const failure = await this.#describeFailure(id, toProviderError(error, { ...context, containerId: id }));
        await this.#removeQuietly(id, op);
        throw failure;
      }
    } catch (error) {
      throw toProviderError(error, context);
    }
  }

  async #writeWorkspaceFiles(id: string, spec: WorkspaceSpec, caBundle: string, op: Op): Promise<void> {
    const files = buildTar(workspaceFileEntries({ authorizedKeys: spec.authorizedKeys.map((key) => key.trim()), caBundle }));
    await this.#client.call("PUT", `/containers/${id}/archive`, { query: { path: "/" }, body: files, signal: op.signal, operation: "write workspace files" });
  }

  async #createContainer(spec: WorkspaceSpec, image: string, withCaBundle: boolean, op: Op): Promise<string> {
    const body = createContainerBody({ spec, image, network: this.#options.network, withCaBundle });
    // Not cancellable: an aborted request may still create the container, and then
    // nobody would know its id to remove it. The caller's signal is checked right after.
    const create = (): Promise<{ Id: string }> =>
      this.#client.json<{ Id: string }>("POST", "/containers/create", { query: { name: containerName(spec) }, body, signal: AbortSignal.timeout(CREATE_TIMEOUT_MS), operation: "create container" });
    try {
      return (await create()).Id;
    } catch (error) {
      if (!(error instanceof DockerApiError)) throw error;
      if (error.status === 404 && /network .* not found/i.test(error.message)) {
        // Someone removed the isolation network since this instance checked it.
        this.#network = undefined;
        await this.#ensureNetwork(op);
        return (await create()).Id;
      }
      if (error.status === 409) {
        const raced = await this.#findByWorkspace(spec.workspaceId, op);
        if (raced) return raced.Id;
        throw new NexusError("provision_failed", `docker: a container named ${containerName(spec)} already exists and belongs to another workspace`, {
          cause: error,
          details: { provider: "docker", container: containerName(spec) },
          hint: "Remove the stray container (`nexus node prune`) or pick another workspace name.",
        });
      }
      throw error;
    }
  }

  /** Starts the container if needed, waits for sshd and reads the host key. */
  async #readyHandle(id: string, op: Op): Promise<Handle> {
    let container = await this.#inspectContainer(id, op);
    if (!container.State.Running) {
      await this.#client.call("POST", `/containers/${id}/start`, { signal: op.signal, operation: "start container", accept: [304] });
      container = await this.#inspectContainer(id, op);
    }
    const sshPort = publishedSshPort(container);
    if (sshPort === undefined) {
      throw new NexusError("provision_failed", `docker: container ${id} publishes no SSH port`, { details: { provider: "docker", container: id } });
    }
    const bindAddress = container.HostConfig.PortBindings?.[SSH_CONTAINER_PORT]?.[0]?.HostIp;
    await waitForSshBanner({ host: probeHost(bindAddress), port: sshPort }, {
      signal: op.signal,
      timeoutMs: SSH_READY_TIMEOUT_MS,
      check: async () => {
        const now = await this.#inspectContainer(id, op);
        if (!now.State.Running) {
          throw new NexusError("provision_failed", `docker: container ${id} exited (${now.State.Status}, exit code ${now.State.ExitCode}) before sshd answered`, {
            details: { provider: "docker", container: id, state: now.State.Status, exitCode: now.State.ExitCode },
          });
        }
      },
    });
    const hostKey = await this.#readHostKey(id, op);
    const labels = container.Config.Labels ?? {};
    return { provider: PROVIDER_NAME, id: container.Id, workspaceId: labels[LABELS.workspace] ?? "", labels: { ...labels }, hostKey, sshPort };
  }

  async #readHostKey(id: string, op: Op): Promise<string> {
    const response = await this.#client.call("GET", `/containers/${id}/archive`, { query: { path: `${HOST_KEY_PATH}.pub` }, signal: op.signal, operation: "read host key" });
    const file = (await readTar(response.body)).find((entry) => entry.type === "File");
    const [type, key] = (file?.data.toString("utf8") ?? "").trim().split(/\s+/);
    if (!type || !key) {
      throw new NexusError("provision_failed", `docker: container ${id} has no SSH host key at ${HOST_KEY_PATH}.pub`, { details: { provider: "docker", container: id } });
    }
    return `${type} ${key}`;
  }

  /** Adds the last lines of the container's output to a provisioning failure: that is where the boot script's errors are. */
  async #describeFailure(id: string, error: NexusError): Promise<NexusError> {
    if (error.code !== "provision_failed" && error.code !== "timeout") return error;
    try {
      const lines: string[] = [];
      const signal = AbortSignal.timeout(2_000);
      for await (const frame of this.#client.frames(`/containers/${id}/logs`, { stdout: true, stderr: true, tail: 20 }, signal, "read logs")) {
        lines.push(...frame.data.toString("utf8").split("\n").filter(Boolean));
      }
      if (lines.length > 0) error.details.containerOutput = lines.slice(-20);
    } catch {
      // The original failure is what matters; its logs are a courtesy.
    }
    return error;
  }

  async #removeQuietly(id: string, op: Op): Promise<void> {
    try {
      await this.#client.call("DELETE", `/containers/${id}`, { query: { force: true, v: true }, signal: AbortSignal.timeout(15_000), operation: "remove container", accept: [404] });
    } catch (error) {
      op.log.warn({ container: id, err: error }, "docker: could not remove a half-provisioned container");
    }
  }

  async #ensureNetwork(op: Op): Promise<void> {
    this.#network ??= this.#createNetworkIfMissing(op);
    this.#network.catch(() => { this.#network = undefined; });
    return this.#network;
  }

  async #createNetworkIfMissing(op: Op): Promise<void> {
    const name = this.#options.network;
    const path = `/networks/${encodeURIComponent(name)}`;
    const found = await this.#client.call("GET", path, { signal: op.signal, operation: "inspect network", accept: [404] });
    if (found.status === 404) {
      const created = await this.#client.call("POST", "/networks/create", {
        body: { Name: name, Driver: "bridge", CheckDuplicate: true, Options: { [ICC_OPTION]: "false" }, Labels: { [LABELS.managed]: "true" } },
        signal: op.signal,
        operation: "create network",
        accept: [409],
      });
      if (created.status !== 409) {
        op.log.info({ network: name }, "docker: created the isolation network");
        return;
      }
    }
    const network = await this.#client.json<NetworkInspect>("GET", path, { signal: op.signal, operation: "inspect network" });
    if (network.Driver !== "bridge" || network.Options?.[ICC_OPTION] !== "false") {
      throw new NexusError("provision_failed", `docker: network ${name} exists but lets containers reach each other`, {
        details: { provider: "docker", network: name, driver: network.Driver, options: network.Options ?? {} },
        hint: `Remove it (no workspace may be attached) so nexus can recreate it with ${ICC_OPTION}=false, or set the provider's \`network\` option to another name.`,
      });
    }
  }

  async #caBundleFor(spec: WorkspaceSpec): Promise<string> {
    const parts: string[] = [];
    if (this.#options.injectCaBundle) {
      this.#hostCaBundle ??= readFile(this.#options.caBundlePath, "utf8").catch((cause: unknown) => {
        this.#hostCaBundle = undefined;
        throw new NexusError("provision_failed", `docker: cannot read the node's CA bundle ${this.#options.caBundlePath}`, {
          cause,
          details: { provider: "docker", caBundlePath: this.#options.caBundlePath },
          hint: "Fix the provider's `caBundlePath` option, or turn `injectCaBundle` off.",
        });
      });
      parts.push(await this.#hostCaBundle);
    }
    if (spec.caBundle?.trim()) parts.push(spec.caBundle);
    return parts.map((part) => (part.endsWith("\n") ? part : `${part}\n`)).join("");
  }

  async #findByWorkspace(workspaceId: string, op: Op): Promise<ContainerSummary | undefined> {
    const containers = await this.#listManaged(op, [`${LABELS.workspace}=${workspaceId}`]);
    return containers[0];
  }

  async #listManaged(op: Op, extraLabels: string[] = []): Promise<ContainerSummary[]> {
    const filters = JSON.stringify({ label: [`${LABELS.managed}=true`, ...extraLabels] });
    return await this.#client.json<ContainerSummary[]>("GET", "/containers/json", { query: { all: true, filters }, signal: op.signal, operation: "list containers" });
  }

  async #inspectContainer(id: string, op: Op): Promise<ContainerInspect> {
    return await this.#client.json<ContainerInspect>("GET", `/containers/${encodeURIComponent(id)}/json`, { signal: op.signal, operation: "inspect container" });
  }

  /**
   * The container behind a handle, only if nexus made it for that workspace: a handle
   * naming some other container must never let a caller stop, exec in or delete it.
   */
  async #ownedContainer(handle: Handle, op: Op): Promise<ContainerInspect | undefined> {
    if (typeof handle.id !== "string" || !CONTAINER_REF.test(handle.id)) {
      throw new NexusError("invalid_request", "docker: handle id is not a container id", { details: { provider: "docker", id: handle.id } });
    }
    let container: ContainerInspect;
    try {
      container = await this.#inspectContainer(handle.id, op);
    } catch (error) {
      if (error instanceof DockerApiError && error.status === 404) return undefined;
      throw error;
    }
    const labels = container.Config.Labels ?? {};
    if (labels[LABELS.managed] !== "true" || labels[LABELS.workspace] !== handle.workspaceId) return undefined;
    return container;
  }

  async #requireOwned(handle: Handle, op: Op): Promise<ContainerInspect> {
    const container = await this.#ownedContainer(handle, op);
    if (!container) {
      throw new NexusError("workspace_not_found", `docker: no container ${handle.id} for workspace ${handle.workspaceId}`, {
        details: { provider: "docker", container: handle.id, workspace: handle.workspaceId },
      });
    }
    return container;
  }

  async start(handle: Handle, op: Op): Promise<void> {
    try {
      const container = await this.#requireOwned(handle, op);
      await this.#readyHandle(container.Id, op);
    } catch (error) {
      throw toProviderError(error, { operation: "start", fallback: "provision_failed", containerId: handle.id, sshPort: handle.sshPort });
    }
  }

  async stop(handle: Handle, op: Op): Promise<void> {
    try {
      const container = await this.#requireOwned(handle, op);
      await this.#client.call("POST", `/containers/${container.Id}/stop`, { query: { t: STOP_TIMEOUT_SECONDS }, signal: op.signal, operation: "stop container", accept: [304] });
    } catch (error) {
      throw toProviderError(error, { operation: "stop", fallback: "internal_error", containerId: handle.id });
    }
  }

  async destroy(handle: Handle, op: Op): Promise<void> {
    try {
      const container = await this.#ownedContainer(handle, op);
      if (!container) return;
      const removed = await this.#client.call("DELETE", `/containers/${container.Id}`, { query: { force: true, v: true }, signal: op.signal, operation: "remove container", accept: [404, 409] });
      // 409: a removal is already running (a concurrent destroy); wait until it is done.
      if (removed.status === 409) await this.#waitUntilGone(container.Id, op);
    } catch (error) {
      throw toProviderError(error, { operation: "destroy", fallback: "internal_error", containerId: handle.id });
    }
  }

  async #waitUntilGone(id: string, op: Op): Promise<void> {
    for (let attempt = 0; attempt < 300; attempt++) {
      const found = await this.#client.call("GET", `/containers/${id}/json`, { signal: op.signal, operation: "inspect container", accept: [404] });
      if (found.status === 404) return;
      await sleep(100, undefined, { signal: op.signal });
    }
    throw new NexusError("timeout", `docker: container ${id} was still being removed after 30 s`, { details: { provider: "docker", container: id } });
  }

  async inspect(handle: Handle, op: Op): Promise<Observed> {
    try {
      const container = await this.#ownedContainer(handle, op);
      if (!container) return { state: "absent" };
      const observed: Observed = { ...observedState(container), labels: { ...(container.Config.Labels ?? {}) } };
      const sshPort = publishedSshPort(container);
      if (sshPort !== undefined) observed.sshPort = sshPort;
      const address = container.NetworkSettings.Networks?.[this.#options.network]?.IPAddress;
      if (observed.state === "running" && address) observed.address = address;
      return observed;
    } catch (error) {
      throw toProviderError(error, { operation: "inspect", fallback: "internal_error", containerId: handle.id });
    }
  }

  async list(op: Op): Promise<Handle[]> {
    try {
      const containers = await this.#listManaged(op);
      return containers.map((container) => {
        const labels = { ...(container.Labels ?? {}) };
        const handle: Handle = { provider: PROVIDER_NAME, id: container.Id, workspaceId: labels[LABELS.workspace] ?? "", labels };
        const port = container.Ports?.find((p) => p.PrivatePort === 22 && p.Type === "tcp")?.PublicPort ?? Number(labels[SSH_PORT_LABEL]);
        if (Number.isInteger(port) && port > 0) handle.sshPort = port;
        return handle;
      });
    } catch (error) {
      throw toProviderError(error, { operation: "list", fallback: "internal_error" });
    }
  }

  async exec(handle: Handle, argv: string[], op: Op, options: ExecOptions = {}): Promise<ExecResult> {
    validateExec(argv, options);
    try {
      const container = await this.#requireOwned(handle, op);
      if (!container.State.Running) {
        throw new NexusError("invalid_transition", `docker: workspace container ${handle.id} is not running`, {
          details: { provider: "docker", container: handle.id, state: container.State.Status },
        });
      }
      const stdin = options.stdin === undefined ? undefined : typeof options.stdin === "string" ? Buffer.from(options.stdin) : options.stdin;
      const body: Record<string, unknown> = {
        AttachStdin: stdin !== undefined,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        Cmd: argv,
        Env: Object.entries(options.env ?? {}).map(([key, value]) => `${key}=${value}`),
      };
      if (options.user !== undefined) body.User = String(options.user);
      if (options.cwd !== undefined) body.WorkingDir = options.cwd;
      const created = await this.#client.json<{ Id: string }>("POST", `/containers/${container.Id}/exec`, { body, signal: op.signal, operation: "create exec" });
      const output = await this.#client.execStart(created.Id, stdin, op.signal);
      const exitCode = await this.#execExitCode(created.Id, op);
      return execResult(exitCode, output.stdout.toString("utf8"), output.stderr.toString("utf8"));
    } catch (error) {
      if (error instanceof DockerApiError && error.status === 409 && /is not running|is paused/i.test(error.message)) {
        throw new NexusError("invalid_transition", `docker: workspace container ${handle.id} is not running`, { cause: error, details: { provider: "docker", container: handle.id } });
      }
      throw toProviderError(error, { operation: "exec", fallback: "internal_error", containerId: handle.id });
    }
  }

  /** The stream can close a moment before the Engine records the exit: poll briefly. */
  async #execExitCode(execId: string, op: Op): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const state = await this.#client.json<ExecInspect>("GET", `/exec/${execId}/json`, { signal: op.signal, operation: "inspect exec" });
      if (!state.Running && state.ExitCode !== null) return state.ExitCode;
      if (attempt >= 200) {
        throw new NexusError("internal_error", `docker: exec ${execId} ended its output but never reported an exit code`, { details: { provider: "docker", exec: execId } });
      }
      await sleep(10, undefined, { signal: op.signal });
    }
  }

  async writeFile(handle: Handle, path: string, data: string | Uint8Array, op: Op, options: WriteFileOptions = {}): Promise<void> {
    const { dir, base } = splitFilePath(path);
    const { mode = 0o644, uid = 0, gid = 0 } = options;
    if (![mode, uid, gid].every((n) => Number.isInteger(n) && n >= 0)) {
      throw new NexusError("invalid_request", "docker: mode, uid and gid must be non-negative integers", { details: { provider: "docker", mode, uid, gid } });
    }
    try {
      const container = await this.#requireOwned(handle, op);
      const archive = buildTar([{ path: base, type: "file", data, mode, uid, gid }]);
      await this.#client.call("PUT", `/containers/${container.Id}/archive`, { query: { path: dir }, body: archive, signal: op.signal, operation: "write file" });
    } catch (error) {
      if (error instanceof DockerApiError && error.status === 404 && !/no such container/i.test(error.message)) {
        throw new NexusError("invalid_request", `docker: directory ${dir} does not exist in the workspace`, { cause: error, details: { provider: "docker", path } });
      }
      throw toProviderError(error, { operation: "write file", fallback: "internal_error", containerId: handle.id });
    }
  }

  /** The container's output so far (boot script and sshd, which logs to stderr), line by line; ends at the present. */
  async *logs(handle: Handle, op: Op): AsyncIterable<string> {
    let container: ContainerInspect;
    try {
      container = await this.#requireOwned(handle, op);
    } catch (error) {
      throw toProviderError(error, { operation: "logs", fallback: "internal_error", containerId: handle.id });
    }
    const partial = { stdout: "", stderr: "" };
    try {
      for await (const frame of this.#client.frames(`/containers/${container.Id}/logs`, { stdout: true, stderr: true }, op.signal, "logs")) {
        const lines = (partial[frame.stream] + frame.data.toString("utf8")).split("\n");
        partial[frame.stream] = lines.pop() ?? "";
        yield* lines;
      }
    } catch (error) {
      if (isNexusError(error) && op.signal.aborted) return;
      throw toProviderError(error, { operation: "logs", fallback: "internal_error", containerId: handle.id });
    }
    for (const rest of [partial.stdout, partial.stderr]) if (rest) yield rest;
  }

  async dispose(): Promise<void> {
    await this.#client.close();
  }
}

/**
 * When the runtime cannot start the program at all, the Engine writes its error into
 * the stdout stream and reports 126. Callers expect what a shell does: the message on
 * stderr, and 127 when the program does not exist.
 */
function execResult(exitCode: number, stdout: string, stderr: string): ExecResult {
  if (exitCode !== 126 || !stdout.startsWith("OCI runtime exec failed")) return { exitCode, stdout, stderr };
  const notFound = /executable file not found|no such file or directory/i.test(stdout);
  return { exitCode: notFound ? 127 : 126, stdout: "", stderr: stderr + stdout.replace(/\r\n$/, "\n") };
}

function publishedSshPort(container: ContainerInspect): number | undefined {
  const published = container.NetworkSettings.Ports?.[SSH_CONTAINER_PORT]?.[0]?.HostPort
    ?? container.HostConfig.PortBindings?.[SSH_CONTAINER_PORT]?.[0]?.HostPort;
  const port = Number(published);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

function observedState(container: ContainerInspect): { state: ObservedState; reason?: string } {
  const { Status, ExitCode, Error: engineError, OOMKilled } = container.State;
  if (OOMKilled) return { state: "error", reason: "killed: out of memory (raise resources.memory)" };
  if (engineError) return { state: "error", reason: engineError };
  switch (Status) {
    case "running":
      return { state: "running" };
    case "created":
    case "restarting":
      return { state: "creating" };
    case "paused":
      return { state: "stopped", reason: "paused" };
    case "exited":
      return { state: "stopped", reason: `exited with code ${ExitCode}` };
    case "removing":
      return { state: "stopped", reason: "being removed" };
    default:
      return { state: "error", reason: `container state ${Status}` };
  }
}
