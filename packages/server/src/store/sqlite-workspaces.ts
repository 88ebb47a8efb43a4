// Workspaces with their phases and services, over node:sqlite.
import {
  NexusError,
  SERVICE_UPSERT_FIELDS,
  WORKSPACE_PATCH_FIELDS,
  newId,
  pageWindow,
  pickDefined,
  toIsoTimestamp,
  type Handle,
  type Health,
  type JsonObject,
  type NewWorkspace,
  type PhaseRecord,
  type PhaseRepository,
  type ServiceRecord,
  type ServiceRepository,
  type ServiceState,
  type ServiceUpsert,
  type WorkspaceCreateResult,
  type WorkspaceErrorInfo,
  type WorkspaceHealth,
  type WorkspaceListQuery,
  type WorkspacePage,
  type WorkspacePatch,
  type WorkspaceRecord,
  type WorkspaceRepo,
  type WorkspaceRepository,
  type WorkspaceState,
  type WorkspaceUpdateOptions,
} from "@nexus/core";
import { fromJson, fromJsonOrNull, requireNode, requireUser, requireWorkspace, toJson, type SqliteDb } from "./sqlite-db.js";

/** A status filter as one bound JSON parameter (`json_each`), or null for "not deleted". */
function statusParam(status: WorkspaceState | readonly WorkspaceState[] | undefined): string | null {
  if (status === undefined) return null;
  return toJson(typeof status === "string" ? [status] : status);
}

interface WorkspaceRow {
  workspace_id: string;
  workspace_name: string;
  owner_id: string;
  status: WorkspaceState;
  health: WorkspaceHealth;
  provider: string;
  image: string | null;
  node_id: string | null;
  ssh_port: number | null;
  host_key: string | null;
  repo_owner: string;
  repo_name: string;
  repo_branch: string;
  repo_url: string;
  repo_commit: string | null;
  repo_upstream: string | null;
  repo_is_fork: number;
  config: string;
  error: string | null;
  handle: string | null;
  idempotency_key: string | null;
  created_at: string;
  updated_at: string;
}

function workspaceFromRow(r: WorkspaceRow): WorkspaceRecord {
  const repo: WorkspaceRepo = { owner: r.repo_owner, name: r.repo_name, branch: r.repo_branch, url: r.repo_url, is_fork: r.repo_is_fork === 1 };
  if (r.repo_commit !== null) repo.commit = r.repo_commit;
  if (r.repo_upstream !== null) repo.upstream = r.repo_upstream;
  return {
    workspace_id: r.workspace_id,
    workspace_name: r.workspace_name,
    owner_id: r.owner_id,
    status: r.status,
    health: r.health,
    provider: r.provider,
    image: r.image,
    node_id: r.node_id,
    ssh_port: r.ssh_port,
    host_key: r.host_key,
    repo,
    config: fromJson<JsonObject>(r.config),
    error: fromJsonOrNull<WorkspaceErrorInfo>(r.error),
    handle: fromJsonOrNull<Handle>(r.handle),
    idempotency_key: r.idempotency_key,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

/** The bound parameters of every mutable column, shared by INSERT and UPDATE. */
function workspaceColumns(w: WorkspaceRecord) {
  return {
    workspace_id: w.workspace_id,
    status: w.status,
    health: w.health,
    provider: w.provider,
    image: w.image,
    node_id: w.node_id,
    ssh_port: w.ssh_port,
    host_key: w.host_key,
    repo_owner: w.repo.owner,
    repo_name: w.repo.name,
    repo_branch: w.repo.branch,
    repo_url: w.repo.url,
    repo_commit: w.repo.commit ?? null,
    repo_upstream: w.repo.upstream ?? null,
    repo_is_fork: w.repo.is_fork ? 1 : 0,
    config: toJson(w.config),
    error: w.error === null ? null : toJson(w.error),
    handle: w.handle === null ? null : toJson(w.handle),
    updated_at: w.updated_at,
  };
}

const INSERT_WORKSPACE = `INSERT INTO workspaces (
  workspace_id, workspace_name, owner_id, status, health, provider, image, node_id, ssh_port, host_key,
  repo_owner, repo_name, repo_branch, repo_url, repo_commit, repo_upstream, repo_is_fork,
  config, error, handle, idempotency_key, created_at, updated_at
) VALUES (
  :workspace_id, :workspace_name, :owner_id, :status, :health, :provider, :image, :node_id, :ssh_port, :host_key,
  :repo_owner, :repo_name, :repo_branch, :repo_url, :repo_commit, :repo_upstream, :repo_is_fork,
  :config, :error, :handle, :idempotency_key, :created_at, :updated_at
)`;

const UPDATE_WORKSPACE = `UPDATE workspaces SET
  status = :status, health = :health, provider = :provider, image = :image, node_id = :node_id, ssh_port = :ssh_port,
  host_key = :host_key, repo_owner = :repo_owner, repo_name = :repo_name, repo_branch = :repo_branch, repo_url = :repo_url,
  repo_commit = :repo_commit, repo_upstream = :repo_upstream, repo_is_fork = :repo_is_fork, config = :config,
  error = :error, handle = :handle, updated_at = :updated_at
WHERE workspace_id = :workspace_id`;

// One predicate for "matches the status filter": a JSON list of statuses, or null for "not deleted".
const STATUS_FILTER = "(CASE WHEN :statuses IS NULL THEN status <> 'deleted' ELSE status IN (SELECT value FROM json_each(:statuses)) END)";

export class SqliteWorkspaces implements WorkspaceRepository {
  constructor(private readonly d: SqliteDb) {}

  async create(input: NewWorkspace): Promise<WorkspaceCreateResult> {
    return this.d.write(() => {
      requireUser(this.d, input.owner_id);
      const node_id = input.node_id ?? null;
      if (node_id !== null) requireNode(this.d, node_id);
      const idempotency_key = input.idempotency_key ?? null;
      if (idempotency_key !== null) {
        const earlier = this.row("SELECT * FROM workspaces WHERE owner_id = ? AND idempotency_key = ?", input.owner_id, idempotency_key);
        if (earlier) return { workspace: earlier, created: false };
      }
      const status = input.status ?? "pending";
      if (status !== "deleted" && this.row("SELECT * FROM workspaces WHERE owner_id = ? AND workspace_name = ? AND status <> 'deleted'", input.owner_id, input.workspace_name)) {
        throw new NexusError("workspace_exists", `workspace ${input.workspace_name} already exists`, { details: { workspace_name: input.workspace_name } });
      }
      const workspace_id = input.workspace_id ?? newId("workspace");
      if (this.row("SELECT * FROM workspaces WHERE workspace_id = ?", workspace_id)) {
        throw new NexusError("workspace_exists", `workspace ${workspace_id} already exists`, { details: { workspace_id } });
      }
      const now = this.d.timestamp();
      const { commit, upstream } = input.repo;
      const workspace: WorkspaceRecord = {
        workspace_id,
        workspace_name: input.workspace_name,
        owner_id: input.owner_id,
        status,
        health: input.health ?? "unknown",
        provider: input.provider,
        image: input.image ?? null,
        node_id,
        ssh_port: input.ssh_port ?? null,
        host_key: input.host_key ?? null,
        repo: { owner: input.repo.owner, name: input.repo.name, branch: input.repo.branch, url: input.repo.url, is_fork: input.repo.is_fork, ...(commit === undefined ? {} : { commit }), ...(upstream === undefined ? {} : { upstream }) },
        config: input.config ?? {},
        error: input.error ?? null,
        handle: input.handle ?? null,
        idempotency_key,
        created_at: now,
        updated_at: now,
      };
      this.d.sql(INSERT_WORKSPACE).run({
        ...workspaceColumns(workspace),
        workspace_name: workspace.workspace_name,
        owner_id: workspace.owner_id,
        idempotency_key,
        created_at: now,
      });
      return { workspace: this.row("SELECT * FROM workspaces WHERE workspace_id = ?", workspace_id)!, created: true };
    });
  }

  async get(workspace_id: string): Promise<WorkspaceRecord | undefined> {
    return this.d.run(() => this.row("SELECT * FROM workspaces WHERE workspace_id = ?", workspace_id));
  }

  async getByName(owner_id: string, workspace_name: string): Promise<WorkspaceRecord | undefined> {
    return this.d.run(() => this.row("SELECT * FROM workspaces WHERE owner_id = ? AND workspace_name = ? AND status <> 'deleted'", owner_id, workspace_name));
  }

  async list(owner_id: string, query: WorkspaceListQuery = {}): Promise<WorkspacePage> {
    const { limit, offset } = pageWindow(query);
    return this.d.run(() => {
      const statuses = statusParam(query.status);
      const { total } = this.d.sql(`SELECT COUNT(*) AS total FROM workspaces WHERE owner_id = :owner_id AND ${STATUS_FILTER}`).get({ owner_id, statuses }) as { total: number };
      const rows = this.d
        .sql(`SELECT * FROM workspaces WHERE owner_id = :owner_id AND ${STATUS_FILTER} ORDER BY seq LIMIT :limit OFFSET :offset`)
        .all({ owner_id, statuses, limit, offset }) as unknown as WorkspaceRow[];
      return { items: rows.map(workspaceFromRow), total };
    });
  }

  async listByNode(node_id: string): Promise<WorkspaceRecord[]> {
    return this.d.run(() => (this.d.sql("SELECT * FROM workspaces WHERE node_id = ? ORDER BY seq").all(node_id) as unknown as WorkspaceRow[]).map(workspaceFromRow));
  }

  async listAll(query: { status?: WorkspaceState | readonly WorkspaceState[] } = {}): Promise<WorkspaceRecord[]> {
    return this.d.run(() =>
      (this.d.sql(`SELECT * FROM workspaces WHERE ${STATUS_FILTER} ORDER BY seq`).all({ statuses: statusParam(query.status) }) as unknown as WorkspaceRow[]).map(workspaceFromRow),
    );
  }

  async update(workspace_id: string, patch: WorkspacePatch, options: WorkspaceUpdateOptions = {}): Promise<WorkspaceRecord> {
    return this.d.write(() => {
      const current = this.row("SELECT * FROM workspaces WHERE workspace_id = ?", workspace_id);
      if (!current) throw new NexusError("workspace_not_found", `no workspace ${workspace_id}`, { details: { workspace_id } });
      if (options.expectStatus !== undefined) {
        const expected: readonly WorkspaceState[] = typeof options.expectStatus === "string" ? [options.expectStatus] : options.expectStatus;
        if (!expected.includes(current.status)) {
          throw new NexusError("invalid_transition", `workspace ${current.workspace_name} is ${current.status}, not ${expected.join(" or ")}`, {
            details: { workspace_id, state: current.status, expected: [...expected] },
          });
        }
      }
      if (patch.node_id != null) requireNode(this.d, patch.node_id);
      const next: WorkspaceRecord = { ...current, ...pickDefined(patch, WORKSPACE_PATCH_FIELDS), updated_at: this.d.timestamp() };
      if (current.status === "deleted" && next.status !== "deleted") {
        const clash = this.row(
          "SELECT * FROM workspaces WHERE owner_id = ? AND workspace_name = ? AND status <> 'deleted' AND workspace_id <> ?",
          next.owner_id,
          next.workspace_name,
          workspace_id,
        );
        if (clash) throw new NexusError("workspace_exists", `workspace ${next.workspace_name} already exists`, { details: { workspace_name: next.workspace_name } });
      }
      this.d.sql(UPDATE_WORKSPACE).run(workspaceColumns(next));
      return this.row("SELECT * FROM workspaces WHERE workspace_id = ?", workspace_id)!;
    });
  }

  async delete(workspace_id: string): Promise<boolean> {
    // Phases, services and port allocations go with it (ON DELETE CASCADE).
    return this.d.run(() => this.d.sql("DELETE FROM workspaces WHERE workspace_id = ?").run(workspace_id).changes > 0);
  }

  private row(text: string, ...params: string[]): WorkspaceRecord | undefined {
    const row = this.d.sql(text).get(...params) as unknown as WorkspaceRow | undefined;
    return row && workspaceFromRow(row);
  }
}

// ---------------------------------------------------------------------------------------
// Phases and services

export class SqlitePhases implements PhaseRepository {
  constructor(private readonly d: SqliteDb) {}

  async record(workspace_id: string, phase: PhaseRecord): Promise<void> {
    this.d.write(() => {
      requireWorkspace(this.d, workspace_id);
      this.d
        .sql(
          `INSERT INTO phases (workspace_id, name, started_at, duration_ms) VALUES (?, ?, ?, ?)
           ON CONFLICT (workspace_id, name) DO UPDATE SET started_at = excluded.started_at, duration_ms = excluded.duration_ms`,
        )
        .run(workspace_id, phase.name, toIsoTimestamp(phase.started_at, "started_at"), phase.duration_ms);
    });
  }

  async list(workspace_id: string): Promise<PhaseRecord[]> {
    return this.d.run(() =>
      (this.d.sql("SELECT name, started_at, duration_ms FROM phases WHERE workspace_id = ? ORDER BY started_at, seq").all(workspace_id) as unknown as PhaseRecord[]).map(
        (r) => ({ name: r.name, started_at: r.started_at, duration_ms: r.duration_ms }),
      ),
    );
  }

  async clear(workspace_id: string): Promise<void> {
    this.d.run(() => this.d.sql("DELETE FROM phases WHERE workspace_id = ?").run(workspace_id));
  }
}

interface ServiceRow {
  workspace_id: string;
  name: string;
  status: ServiceState;
  health: Health;
  port: number | null;
  local_port: number | null;
  depends_on: string;
  last_check: string | null;
  last_error: string | null;
  updated_at: string;
}

const serviceFromRow = (r: ServiceRow): ServiceRecord => ({
  workspace_id: r.workspace_id,
  name: r.name,
  status: r.status,
  health: r.health,
  port: r.port,
  local_port: r.local_port,
  depends_on: fromJson<string[]>(r.depends_on),
  last_check: r.last_check,
  last_error: r.last_error,
  updated_at: r.updated_at,
});

export class SqliteServices implements ServiceRepository {
  constructor(private readonly d: SqliteDb) {}

  async upsert(workspace_id: string, input: ServiceUpsert): Promise<ServiceRecord> {
    return this.d.write(() => {
      requireWorkspace(this.d, workspace_id);
      const now = this.d.timestamp();
      const row = this.d.sql("SELECT * FROM services WHERE workspace_id = ? AND name = ?").get(workspace_id, input.name) as unknown as ServiceRow | undefined;
      const current: ServiceRecord = row
        ? serviceFromRow(row)
        : { workspace_id, name: input.name, status: "pending", health: "unknown", port: null, local_port: null, depends_on: [], last_check: null, last_error: null, updated_at: now };
      const fields = pickDefined(input, SERVICE_UPSERT_FIELDS);
      if (fields.last_check != null) fields.last_check = toIsoTimestamp(fields.last_check, "last_check");
      const next: ServiceRecord = { ...current, ...fields, workspace_id, updated_at: now };
      this.d
        .sql(
          `INSERT INTO services (workspace_id, name, status, health, port, local_port, depends_on, last_check, last_error, updated_at)
           VALUES (:workspace_id, :name, :status, :health, :port, :local_port, :depends_on, :last_check, :last_error, :updated_at)
           ON CONFLICT (workspace_id, name) DO UPDATE SET status = excluded.status, health = excluded.health, port = excluded.port,
             local_port = excluded.local_port, depends_on = excluded.depends_on, last_check = excluded.last_check,
             last_error = excluded.last_error, updated_at = excluded.updated_at`,
        )
        .run({
          workspace_id,
          name: next.name,
          status: next.status,
          health: next.health,
          port: next.port,
          local_port: next.local_port,
          depends_on: toJson(next.depends_on),
          last_check: next.last_check,
          last_error: next.last_error,
          updated_at: now,
        });
      return next;
    });
  }

  async list(workspace_id: string): Promise<ServiceRecord[]> {
    return this.d.run(() => (this.d.sql("SELECT * FROM services WHERE workspace_id = ? ORDER BY seq").all(workspace_id) as unknown as ServiceRow[]).map(serviceFromRow));
  }
}
