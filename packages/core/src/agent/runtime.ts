// The node agent's runtime (SPEC §6): registers (or reuses its identity), heartbeats,
// long-polls commands, runs them with bounded concurrency (one lifecycle command per
// workspace at a time), de-duplicates redeliveries, reports phases, service status and
// results, and on start picks up where a previous run stopped.
import { join } from "node:path";
import { createNodeClient, type NodeClient } from "../client.js";
import type { Op } from "../contracts/common.js";
import type { ProviderInstance } from "../contracts/provider.js";
import { NexusError, isNexusError, toNexusError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Secret } from "../secret.js";
import { CreatePhaseSchema } from "../wire/common.js";
import { AgentCommandSchema, type AgentCommand, type CommandResultBody, type CommandType } from "../wire/nodes.js";
import { deleteWorkspace, execInWorkspace, observeWorkspaces, startWorkspace, stopWorkspace, workspaceLogs } from "./actions.js";
import { AGENT_LABELS, type AgentContext } from "./context.js";
import { createWorkspace } from "./create.js";
import { ensurePrivateDir } from "./files.js";
import { AGENT_VERSION, IdentityStore, type NodeIdentity } from "./identity.js";
import { CommandJournal, type JournalEntry } from "./journal.js";
import { MirrorCache } from "./mirror.js";
import { resolveAgentOptions, type AgentRuntimeOptions, type ResolvedAgentOptions } from "./options.js";
import { PHASE_ERROR_CODES } from "./phases.js";
import { Outbox, type ServerLink } from "./outbox.js";
import { Backoff, sleep } from "./timing.js";
import { ServiceWatcher } from "./watcher.js";

export interface AgentRuntime {
  /** The node's id (a new registration after the server forgot the node changes it). */
  readonly nodeId: string;
  /** Stops polling, lets running commands finish (then cancels them), flushes what is owed to the server. */
  stop(): Promise<void>;
}

/** Commands whose results are small and secret-free: kept in the journal until delivered. */
const RESULTS_KEPT: ReadonlySet<CommandType> = new Set(["create", "start", "stop", "delete"]);
/** Commands that can be run again from the journal alone (no payload needed). */
const RERUNNABLE: ReadonlySet<CommandType> = new Set(["start", "stop", "delete"]);
const LIFECYCLE: ReadonlySet<CommandType> = new Set(["create", "start", "stop", "delete"]);
const MAX_ERROR_MESSAGE = 10_000;

export async function startAgentRuntime(input: AgentRuntimeOptions): Promise<AgentRuntime> {
  const options = resolveAgentOptions(input);
  const log = options.log.child({ component: "agent", node: options.name });
  await ensurePrivateDir(options.dataDir);
  const provider = await options.registry.instance("provider", options.providerName, {
    log,
    env: process.env,
    dataDir: join(options.dataDir, "plugins", options.providerName),
  });
  const client = createNodeClient({ server: options.server });
  const identities = new IdentityStore(options, client, log);
  const identity = await untilRegistered(identities, log);
  const journal = await CommandJournal.open(options.dataDir, log);
  const runtime = new Runtime(options, provider, client, identities, identity, journal, log);
  await runtime.start();
  return {
    get nodeId() {
      return runtime.nodeId();
    },
    stop: () => runtime.stop(),
  };
}

/** Registration waits out an unreachable server; a refused join token is fatal. */
async function untilRegistered(identities: IdentityStore, log: Logger): Promise<NodeIdentity> {
  const backoff = new Backoff(1_000, 30_000);
  for (;;) {
    try {
      return await identities.load(AbortSignal.timeout(60_000));
    } catch (error) {
      if (!isNexusError(error) || !error.retryable) throw error;
      const delay = backoff.next();
      log.warn({ err: error }, `cannot register with the server; retrying in ${Math.round(delay / 1000)} s`);
      await sleep(delay);
    }
  }
}

/** Runs at most `limit` tasks at once. */
class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  constructor(limit: number) {
    this.#free = limit;
  }
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

class Runtime implements ServerLink {
  /** Aborted last, once stop() has delivered what it could. */
  readonly #life = new AbortController();
  /** Polling, heartbeats and watching stop first. */
  readonly #polling = new AbortController();
  /** Cancels commands that outlive stop()'s grace period. */
  readonly #work = new AbortController();
  readonly #running = new Map<string, Promise<void>>();
  readonly #lanes = new Map<string, Promise<void>>();
  readonly #slots: Slots;
  readonly #loops: Promise<void>[] = [];
  readonly #outbox: Outbox;
  readonly #ctx: AgentContext;
  #identity: NodeIdentity;
  #reregistering: Promise<boolean> | undefined;
  #lastRegistration = 0;
  #stopping: Promise<void> | undefined;

  constructor(
    private readonly options: ResolvedAgentOptions,
    private readonly provider: ProviderInstance,
    readonly client: NodeClient,
    private readonly identities: IdentityStore,
    identity: NodeIdentity,
    private readonly journal: CommandJournal,
    private readonly log: Logger,
  ) {
    this.#identity = identity;
    this.#slots = new Slots(options.concurrency);
    this.#outbox = new Outbox(this, log);
    const emit = (event: Parameters<Outbox["event"]>[0]) => this.#outbox.event(event);
    this.#ctx = {
      options,
      provider,
      mirrors: new MirrorCache(options.dataDir, log),
      journal,
      watcher: new ServiceWatcher(provider, emit, log, options.serviceWatchIntervalMs),
      handles: new Map(),
      log,
      emit,
    };
  }

  get signal(): AbortSignal {
    return this.#life.signal;
  }

  nodeId(): string {
    return this.#identity.nodeId;
  }

  token(): Secret {
    return this.#identity.nodeToken;
  }

  async start(): Promise<void> {
    await this.#heartbeat();
    this.#loops.push(this.#heartbeatLoop(), this.#pollLoop(), this.#ctx.watcher.run(this.#polling.signal), this.#recover());
    this.log.info({ node_id: this.nodeId(), provider: this.options.providerName, server: this.options.server }, "agent started");
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  async #shutdown(): Promise<void> {
    this.#polling.abort();
    // Every wait below is cancelled once it is no longer needed: a pending timer would
    // keep the process alive for the whole grace period after stop() returned.
    const waits = new AbortController();
    try {
      const finished = Promise.allSettled([...this.#running.values()]).then(() => true);
      if (!(await Promise.race([finished, sleep(this.options.stopGraceMs, waits.signal).then(() => false)]))) {
        this.log.warn({ commands: this.#running.size }, "cancelling commands still running");
        this.#work.abort(new NexusError("internal_error", "the agent stopped before the command finished", { hint: "Try again once the node's agent runs." }));
        await Promise.race([Promise.allSettled([...this.#running.values()]), sleep(5_000, waits.signal)]);
      }
      await Promise.race([this.#outbox.flush(), sleep(3_000, waits.signal)]);
    } finally {
      waits.abort();
    }
    this.#life.abort();
    await Promise.allSettled(this.#loops);
    await this.journal.flush();
    this.log.info("agent stopped");
  }

  // ---- server link

  async #heartbeat(): Promise<void> {
    const op: Op = { signal: AbortSignal.any([this.#polling.signal, AbortSignal.timeout(10_000)]), log: this.log };
    const health = await this.provider.health(op).catch((error: unknown) => ({ ok: false, reason: (error as Error).message, version: undefined, warnings: undefined }));
    const workspaces = await observeCount(this.#ctx, op);
    try {
      await this.client.heartbeat(
        this.nodeId(),
        {
          version: AGENT_VERSION,
          providers: [{
            name: this.options.providerName,
            ok: health.ok,
            ...(health.version ? { version: health.version.slice(0, 128) } : {}),
            ...(health.reason ? { reason: health.reason.slice(0, 2000) } : {}),
            ...(health.warnings?.length ? { warnings: health.warnings.slice(0, 20).map((w) => w.slice(0, 2000)) } : {}),
          }],
          workspaces,
        },
        { token: this.token(), signal: this.#polling.signal },
      );
    } catch (error) {
      if (this.#polling.signal.aborted) return;
      if (!(await this.#recoverIdentity(error))) this.log.warn({ err: error }, "heartbeat failed");
    }
  }

  async #heartbeatLoop(): Promise<void> {
    while (await sleep(this.#identity.heartbeatSeconds * 1000, this.#polling.signal)) await this.#heartbeat();
  }

  async #pollLoop(): Promise<void> {
    const backoff = new Backoff(500, 30_000);
    const signal = this.#polling.signal;
    while (!signal.aborted) {
      try {
        const { commands } = await this.client.pollCommands(this.nodeId(), { wait: this.options.pollWaitSeconds }, { token: this.token(), signal });
        backoff.reset();
        for (const command of commands) this.#dispatch(command);
      } catch (error) {
        if (signal.aborted) return;
        if (await this.#recoverIdentity(error)) continue;
        const delay = backoff.next();
        this.log.warn({ err: error }, `polling for commands failed; retrying in ${Math.round(delay / 100) / 10} s`);
        await sleep(delay, signal);
      }
    }
  }

  /** The server no longer knows this node (its database was reset): register again with the join token. */
  async #recoverIdentity(error: unknown): Promise<boolean> {
    if (!isNexusError(error) || (error.code !== "auth_required" && error.code !== "not_found") || !this.identities.canRegister) return false;
    if (Date.now() - this.#lastRegistration < 30_000) return false;
    this.#reregistering ??= (async () => {
      this.#lastRegistration = Date.now();
      try {
        this.log.warn({ err: error, node_id: this.nodeId() }, "the server does not know this node any more: registering again");
        this.#identity = await this.identities.register(this.#polling.signal);
        return true;
      } catch (failure) {
        this.log.error({ err: failure }, "registering again failed");
        return false;
      } finally {
        this.#reregistering = undefined;
      }
    })();
    return this.#reregistering;
  }

  // ---- commands

  #dispatch(command: AgentCommand): void {
    if (this.journal.knows(command.id)) {
      this.log.debug({ command_id: command.id, type: command.type }, "command delivered again: already handled");
      return;
    }
    this.journal.begin({
      id: command.id,
      type: command.type,
      workspace_id: command.workspace_id,
      started_at: new Date().toISOString(),
      ...(command.type === "stop" && command.payload.force !== undefined ? { force: command.payload.force } : {}),
    });
    this.#track(command.id, this.#inLane(command, () => this.#slots.run(() => this.#execute(command))));
  }

  #track(id: string, task: Promise<void>): void {
    const tracked = task.catch((error: unknown) => this.log.error({ err: error, command_id: id }, "command handling failed")).finally(() => this.#running.delete(id));
    this.#running.set(id, tracked);
  }

  /** Lifecycle commands of one workspace run one after another, in arrival order. */
  #inLane(command: AgentCommand, task: () => Promise<void>): Promise<void> {
    if (command.workspace_id === null || !LIFECYCLE.has(command.type)) return task();
    const key = command.workspace_id;
    const next = (this.#lanes.get(key) ?? Promise.resolve()).then(task, task);
    this.#lanes.set(key, next);
    void next.finally(() => {
      if (this.#lanes.get(key) === next) this.#lanes.delete(key);
    });
    return next;
  }

  async #execute(command: AgentCommand): Promise<void> {
    const log = this.log.child({ command_id: command.id, type: command.type, workspace_id: command.workspace_id });
    const started = Date.now();
    let body: CommandResultBody;
    try {
      body = await this.#perform(command, { signal: this.#work.signal, log });
    } catch (error) {
      body = failureBody(command.type, error);
      if (command.type === "create" && command.workspace_id !== null) this.#ctx.watcher.unwatch(command.workspace_id);
    }
    const ms = Date.now() - started;
    if (body.ok) log.info({ ms }, `${command.type} done`);
    else log.warn({ ms, code: body.error.code, phase: body.error.phase, message: body.error.message }, `${command.type} failed`);
    if (RESULTS_KEPT.has(command.type)) this.journal.update(command.id, { result: body as Record<string, unknown> });
    await this.#deliver(command.id, body);
  }

  /** Events first (the server should see the phases before the outcome), then the result. */
  async #deliver(id: string, body: CommandResultBody): Promise<void> {
    await this.#outbox.flush();
    if ((await this.#outbox.result(id, body)) !== "stopped") this.journal.finish(id);
  }

  async #perform(command: AgentCommand, op: Op): Promise<CommandResultBody> {
    const ctx = this.#ctx;
    switch (command.type) {
      case "create":
        return { ok: true, type: "create", data: await createWorkspace(ctx, command, op) };
      case "start":
        await startWorkspace(ctx, command.workspace_id, command.payload.handle, op);
        return { ok: true, type: "start", data: {} };
      case "stop":
        await stopWorkspace(ctx, command.workspace_id, command.payload.handle, command.payload.force ?? false, op);
        return { ok: true, type: "stop", data: {} };
      case "delete":
        await deleteWorkspace(ctx, command.workspace_id, command.payload.handle, op);
        return { ok: true, type: "delete", data: {} };
      case "exec":
        return { ok: true, type: "exec", data: await execInWorkspace(ctx, command.workspace_id, command.payload.handle, command.payload, op) };
      case "logs":
        return { ok: true, type: "logs", data: { text: await workspaceLogs(ctx, command.workspace_id, command.payload.handle, command.payload.service, command.payload.tail, op) } };
      case "reconcile": {
        const workspaces = await observeWorkspaces(ctx, op);
        ctx.emit({ type: "observed", workspaces, complete: true, at: new Date().toISOString() });
        return { ok: true, type: "reconcile", data: { workspaces } };
      }
    }
  }

  // ---- after a restart

  /**
   * Commands the previous run left unfinished: a known result is delivered; start, stop
   * and delete run again (they need no payload); anything else is reported failed, since
   * its payload (a create's clone token) was never written down. Then the provider's
   * view is reported and running workspaces are watched again.
   */
  async #recover(): Promise<void> {
    for (const entry of this.journal.leftOver) {
      if (this.#polling.signal.aborted) return;
      if (entry.result !== undefined) {
        this.#track(entry.id, this.#deliver(entry.id, entry.result as unknown as CommandResultBody));
      } else if (RERUNNABLE.has(entry.type) && entry.workspace_id !== null) {
        const command = AgentCommandSchema.parse({
          id: entry.id, type: entry.type, workspace_id: entry.workspace_id, created_at: entry.started_at,
          payload: entry.force === undefined ? {} : { force: entry.force },
        });
        this.log.info({ command_id: entry.id, type: entry.type, workspace_id: entry.workspace_id }, "running a command the previous agent run did not finish");
        this.#track(entry.id, this.#inLane(command, () => this.#slots.run(() => this.#execute(command))));
      } else {
        this.#track(entry.id, this.#deliver(entry.id, interruptedBody(entry)));
      }
    }
    await this.#observe();
  }

  async #observe(): Promise<void> {
    const op: Op = { signal: AbortSignal.any([this.#polling.signal, AbortSignal.timeout(60_000)]), log: this.log };
    try {
      const workspaces = await observeWorkspaces(this.#ctx, op);
      this.#outbox.event({ type: "observed", workspaces, complete: true, at: new Date().toISOString() });
      for (const observed of workspaces) {
        if (observed.state === "running" && observed.handle) this.#ctx.watcher.watch(observed.workspace_id, observed.handle);
      }
      this.log.info({ workspaces: workspaces.length }, "reported the workspaces the provider holds");
    } catch (error) {
      if (!this.#polling.signal.aborted) this.log.warn({ err: error }, "listing the provider's workspaces failed");
    }
  }
}

async function observeCount(ctx: AgentContext, op: Op): Promise<number> {
  try {
    return (await ctx.provider.list(op)).filter((h) => h.labels[AGENT_LABELS.node] === ctx.options.name).length;
  } catch {
    return ctx.handles.size;
  }
}

function failureBody(type: CommandType, error: unknown): CommandResultBody {
  const nexus = toNexusError(error);
  const phase = CreatePhaseSchema.safeParse(nexus.details.phase);
  const message = nexus.message.length > MAX_ERROR_MESSAGE ? `${nexus.message.slice(0, MAX_ERROR_MESSAGE - 1)}…` : nexus.message;
  return {
    ok: false,
    type,
    error: { code: nexus.code, message, details: jsonSafe(nexus.details), ...(phase.success ? { phase: phase.data } : {}) },
  };
}

function interruptedBody(entry: JournalEntry): CommandResultBody {
  const during = entry.phase ? ` (during ${entry.phase})` : "";
  const code = entry.type === "create" ? PHASE_ERROR_CODES[entry.phase ?? "container_created"] : "internal_error";
  return {
    ok: false,
    type: entry.type,
    error: {
      code,
      message: `the node's agent restarted while running this ${entry.type} command${during}; run it again`,
      details: { interrupted: true },
      ...(entry.phase ? { phase: entry.phase } : {}),
    },
  };
}

/** Error details cross the wire as JSON: anything else (errors, buffers) becomes text. */
function jsonSafe(details: Record<string, unknown>): Record<string, unknown> {
  try {
    return JSON.parse(JSON.stringify(details)) as Record<string, unknown>;
  } catch {
    return {};
  }
}
