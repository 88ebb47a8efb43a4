// The user-facing workspace operations (SPEC §5): create from a repository, read, list,
// services, logs, and stop / start / delete through the state machine. Every look-up is
// scoped to the caller: another user's workspace is workspace_not_found, like a missing one.
import { NexusError, isErrorCode, isNexusError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { JsonObject, Store, UserRecord, WorkspaceRecord } from "../contracts/store.js";
import { transition, type WorkspaceState } from "../state.js";
import type { Secret } from "../secret.js";
import { checkRepositoryUrl, type RepositoryUrlPolicy } from "../wire/repo-url.js";
import type { CreateWorkspaceResponse, ListServicesResponse, ListWorkspacesResponse, WorkspaceActionResponse, WorkspaceDetail } from "../wire/workspaces.js";
import { API_PREFIX } from "../wire/routes.js";
import type { CommandQueue } from "./command-queue.js";
import type { WorkspaceLifecycle } from "./lifecycle.js";
import { newLogLines, splitLogLines } from "./log-follow.js";
import { workspaceNameCandidates } from "./naming.js";
import type { ResolvedServicesOptions } from "./options.js";
import type { PhaseBook } from "./phases.js";
import { serviceListItem, workspaceDetail, workspaceSummary } from "./present.js";
import { parseWorkspaceConfig } from "./project-config.js";
import type { Scheduler } from "./scheduler.js";
import { LOCAL_USERNAME, type UserService } from "./users.js";

/** A create request after wire validation (the route's body schema, decoded). */
export interface CreateFromRepoInput {
  workspace_name?: string | undefined;
  repo: {
    owner: string;
    name: string;
    branch?: string | undefined;
    url?: string | undefined;
    is_fork?: boolean | undefined;
    upstream?: { owner: string; name: string; url?: string | undefined } | undefined;
  };
  provider?: string | undefined;
  image?: string | undefined;
  config?: JsonObject | undefined;
  clone_token?: Secret | undefined;
}

export interface LogsInput {
  service?: string | undefined;
  tail: number;
}

export interface WorkspaceServiceDeps {
  store: Store;
  queue: CommandQueue;
  lifecycle: WorkspaceLifecycle;
  phases: PhaseBook;
  scheduler: Scheduler;
  users: UserService;
  options: ResolvedServicesOptions;
  localKeys: (() => Promise<readonly string[]>) | undefined;
  log: Logger;
}

/** Tail asked of the agent on each poll while following logs: enough overlap to find where the last poll ended. */
const FOLLOW_TAIL = 1000;

export class WorkspaceService {
  constructor(private readonly deps: WorkspaceServiceDeps) {}

  get #repoPolicy(): RepositoryUrlPolicy {
    const { options } = this.deps;
    return {
      githubHost: options.githubHost,
      allowedHosts: options.allowedRepoHosts,
      allowLocal: options.singleMachine,
      allowHttp: options.allowHttpRepos,
    };
  }

  async createFromRepo(user: UserRecord, body: CreateFromRepoInput, idempotencyKey?: string): Promise<{ created: boolean; response: CreateWorkspaceResponse }> {
    const { store, scheduler, options } = this.deps;
    const config = body.config ?? {};
    const parsedConfig = body.config === undefined ? undefined : parseWorkspaceConfig(body.config);
    const { repo } = body;
    const url = repo.url ?? `https://${options.githubHost}/${repo.owner}/${repo.name}.git`;
    checkRepositoryUrl(url, this.#repoPolicy);
    let upstream: string | undefined;
    if (repo.upstream) {
      upstream = repo.upstream.url ?? `https://${options.githubHost}/${repo.upstream.owner}/${repo.upstream.name}.git`;
      checkRepositoryUrl(upstream, this.#repoPolicy);
    }
    const names = body.workspace_name === undefined ? workspaceNameCandidates(repo.name, repo.branch) : [body.workspace_name];
    let result: { workspace: WorkspaceRecord; created: boolean } | undefined;
    for (const name of names) {
      try {
        result = await store.workspaces.create({
          workspace_name: name,
          owner_id: user.user_id,
          provider: body.provider ?? parsedConfig?.provider ?? "",
          image: body.image ?? parsedConfig?.image ?? null,
          repo: {
            owner: repo.owner,
            name: repo.name,
            branch: repo.branch ?? "",
            url,
            is_fork: repo.is_fork ?? false,
            ...(upstream === undefined ? {} : { upstream }),
          },
          config,
          idempotency_key: idempotencyKey ?? null,
        });
        break;
      } catch (error) {
        if (isNexusError(error) && error.code === "workspace_exists" && body.workspace_name === undefined) continue;
        throw error;
      }
    }
    if (!result) {
      throw new NexusError("workspace_exists", `every default name for ${repo.name} is taken`, { details: { tried: names.length } });
    }
    const { workspace } = result;
    if (!result.created) return { created: false, response: this.#createResponse(workspace, workspace.status) };

    for (const service of Object.values(parsedConfig?.services ?? {})) {
      const exposed = service.expose && service.port !== undefined;
      await store.services.upsert(workspace.workspace_id, {
        name: service.name,
        port: service.port ?? null,
        local_port: exposed ? await store.ports.allocateLocal(user.user_id, workspace.workspace_id, service.name) : null,
        depends_on: service.depends_on,
      });
    }
    if (body.clone_token !== undefined) scheduler.rememberCloneToken(workspace.workspace_id, body.clone_token.reveal());
    if (options.singleMachine && user.username === LOCAL_USERNAME && this.deps.localKeys) {
      await this.deps.users.addKeys(user, await this.deps.localKeys());
    }
    this.deps.log.info({ workspace_id: workspace.workspace_id, owner: user.username }, `workspace ${workspace.workspace_name} accepted`);
    await scheduler.pass();
    const placed = (await store.workspaces.get(workspace.workspace_id)) ?? workspace;
    // The answer describes the request as accepted (`pending`), with the port when a node was chosen at once.
    return { created: true, response: this.#createResponse(placed, "pending") };
  }

  #createResponse(workspace: WorkspaceRecord, status: WorkspaceState): CreateWorkspaceResponse {
    return {
      workspace_id: workspace.workspace_id,
      workspace_name: workspace.workspace_name,
      status,
      ssh_port: workspace.ssh_port,
      polling_url: `${API_PREFIX}/workspaces/${workspace.workspace_id}`,
      estimated_time_seconds: this.deps.scheduler.estimatedCreateSeconds(),
      created_at: workspace.created_at,
    };
  }

  /** The caller's workspace by id (`ws_…`) or name; anyone else's is workspace_not_found. */
  async resolve(user: UserRecord, ref: string): Promise<WorkspaceRecord> {
    const { store } = this.deps;
    const workspace = ref.startsWith("ws_") ? await store.workspaces.get(ref) : await store.workspaces.getByName(user.user_id, ref);
    if (!workspace || workspace.owner_id !== user.user_id || workspace.status === "deleted") {
      throw new NexusError("workspace_not_found", `no workspace ${JSON.stringify(ref)}`, { details: { workspace: ref } });
    }
    return workspace;
  }

  async get(user: UserRecord, ref: string): Promise<WorkspaceDetail> {
    const { store, phases } = this.deps;
    const workspace = await this.resolve(user, ref);
    const [node, phaseList, services] = await Promise.all([
      workspace.node_id === null ? undefined : store.nodes.get(workspace.node_id),
      phases.list(workspace.workspace_id),
      store.services.list(workspace.workspace_id),
    ]);
    return workspaceDetail(workspace, node, phaseList, services);
  }

  async list(user: UserRecord, query: { status?: WorkspaceState | undefined; limit: number; offset: number }): Promise<ListWorkspacesResponse> {
    const { store } = this.deps;
    const page = await store.workspaces.list(user.user_id, { ...(query.status === undefined ? {} : { status: query.status }), limit: query.limit, offset: query.offset });
    const nodeNames = new Map((await store.nodes.list()).map((node) => [node.node_id, node.name]));
    const workspaces = await Promise.all(
      page.items.map(async (workspace) =>
        workspaceSummary(workspace, workspace.node_id === null ? null : (nodeNames.get(workspace.node_id) ?? null), (await store.services.list(workspace.workspace_id)).length),
      ),
    );
    return { workspaces, total: page.total, limit: query.limit, offset: query.offset };
  }

  async services(user: UserRecord, ref: string): Promise<ListServicesResponse> {
    const workspace = await this.resolve(user, ref);
    return { services: (await this.deps.store.services.list(workspace.workspace_id)).map(serviceListItem) };
  }

  async stop(user: UserRecord, ref: string, force: boolean): Promise<WorkspaceActionResponse> {
    const workspace = await this.resolve(user, ref);
    const stopping = await this.deps.lifecycle.move(workspace, "stop");
    await this.#send(stopping, "stop", { ...this.#handle(stopping), ...(force ? { force: true } : {}) });
    return { workspace_id: stopping.workspace_id, status: "stopping" };
  }

  async start(user: UserRecord, ref: string): Promise<WorkspaceActionResponse> {
    const workspace = await this.resolve(user, ref);
    transition(workspace.status, "start");
    const node = workspace.node_id === null ? undefined : await this.deps.store.nodes.get(workspace.node_id);
    if (!node || node.status !== "online") {
      throw new NexusError("no_node_available", `the node of workspace ${workspace.workspace_name} is ${node ? "offline" : "gone"}`, {
        details: { node: node?.name ?? null },
      });
    }
    const starting = await this.deps.lifecycle.move(workspace, "start");
    await this.#send(starting, "start", this.#handle(starting));
    return { workspace_id: starting.workspace_id, status: "starting" };
  }

  async delete(user: UserRecord, ref: string, force: boolean): Promise<WorkspaceActionResponse> {
    const { lifecycle, scheduler } = this.deps;
    const workspace = await this.resolve(user, ref);
    const deleting = await lifecycle.move(workspace, { type: "delete", force });
    scheduler.forget(deleting.workspace_id);
    if (deleting.node_id === null) await lifecycle.remove(deleting);
    else await this.#send(deleting, "delete", this.#handle(deleting));
    return { workspace_id: deleting.workspace_id, status: "deleting" };
  }

  /** The last `tail` log lines, from the workspace's node. */
  async logs(user: UserRecord, ref: string, query: LogsInput, signal?: AbortSignal): Promise<string> {
    return this.#fetchLogs(await this.resolve(user, ref), query, signal);
  }

  /**
   * Follows the logs: the current tail, then what each poll of the node adds. The agent
   * serves tails, not offsets, so new lines are found by where the previous tail ends in
   * the next one; a run of identical lines may therefore show fewer repeats than it had.
   */
  async *followLogs(user: UserRecord, ref: string, query: LogsInput, intervalMs: number, signal: AbortSignal): AsyncGenerator<string> {
    let workspace = await this.resolve(user, ref);
    let previous = splitLogLines(await this.#fetchLogs(workspace, query, signal));
    // Always yields once first (possibly ""), so a caller can answer errors before streaming.
    yield previous.length > 0 ? `${previous.join("\n")}\n` : "";
    while (!signal.aborted) {
      await sleep(intervalMs, signal);
      if (signal.aborted) return;
      const current = await this.deps.store.workspaces.get(workspace.workspace_id);
      if (!current || current.status === "deleted" || current.status === "deleting") return;
      workspace = current;
      const tail = Math.max(query.tail, FOLLOW_TAIL);
      const lines = splitLogLines(await this.#fetchLogs(workspace, { ...query, tail }, signal));
      const added = newLogLines(previous, lines, lines.length < tail);
      previous = lines;
      if (added.length > 0) yield `${added.join("\n")}\n`;
    }
  }

  async #fetchLogs(workspace: WorkspaceRecord, query: LogsInput, signal?: AbortSignal): Promise<string> {
    const { store, queue, options } = this.deps;
    const node = workspace.node_id === null ? undefined : await store.nodes.get(workspace.node_id);
    if (!node || node.status !== "online") {
      throw new NexusError("provider_unavailable", `workspace ${workspace.workspace_name} ${node ? `is on node ${node.name}, which is offline` : "is not on a node yet"}`, {
        details: { workspace_id: workspace.workspace_id, node: node?.name ?? null },
        hint: node ? "Check the node with `nexus node list`." : "Wait until the workspace is created (`nexus workspace status <name>`).",
      });
    }
    const command = await queue.enqueue({
      node_id: node.node_id,
      workspace_id: workspace.workspace_id,
      type: "logs",
      payload: { ...this.#handle(workspace), ...(query.service === undefined ? {} : { service: query.service }), tail: query.tail },
    });
    const done = await queue.waitForResult(command.command_id, options.commandTimeoutMs, `the logs request for ${workspace.workspace_name}`, signal);
    if (done.status === "failed" || !done.result) {
      const error = done.error ?? { code: "internal_error", message: "the node answered without logs" };
      throw new NexusError(isErrorCode(error.code) ? error.code : "internal_error", error.message, { details: { workspace_id: workspace.workspace_id, ...(error.details ?? {}) } });
    }
    const text = (done.result as { text?: unknown }).text;
    return typeof text === "string" ? text : "";
  }

  #handle(workspace: WorkspaceRecord): JsonObject {
    return workspace.handle === null ? {} : { handle: workspace.handle as unknown as JsonObject };
  }

  async #send(workspace: WorkspaceRecord, type: "stop" | "start" | "delete", payload: JsonObject): Promise<void> {
    if (workspace.node_id === null) return;
    await this.deps.queue.enqueue({ node_id: workspace.node_id, workspace_id: workspace.workspace_id, type, payload });
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
