// The Store repositories over node:sqlite. Every SQL text is a constant; input only
// ever travels as bound parameters. node:sqlite is synchronous, so each method body runs
// to completion before any other call in this process; IMMEDIATE transactions extend
// that to other processes sharing the file.
import {
  LOCAL_PORT_BASE,
  LOCAL_PORT_MAX,
  NexusError,
  SERVICE_UPSERT_FIELDS,
  WORKSPACE_PATCH_FIELDS,
  assertPortRange,
  newId,
  pickDefined,
  toIsoTimestamp,
  type ClaimOptions,
  type CommandError,
  type CommandOutcome,
  type CommandRecord,
  type CommandRepository,
  type CommandStatus,
  type Handle,
  type Health,
  type JsonObject,
  type NewCommand,
  type NewToken,
  type NewUser,
  type NewWorkspace,
  type NodeCapacity,
  type NodeHeartbeat,
  type NodeRecord,
  type NodeRegistration,
  type NodeRepository,
  type NodeStatus,
  type PhaseRecord,
  type PhaseRepository,
  type PortRepository,
  type ServiceRecord,
  type ServiceRepository,
  type ServiceState,
  type ServiceUpsert,
  type SshKeyRecord,
  type TokenKind,
  type TokenRecord,
  type TokenRepository,
  type UserRecord,
  type UserRepository,
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
import { fromJson, fromJsonOrNull, toJson, type SqliteDb } from "./sqlite-db.js";

// ---------------------------------------------------------------------------------------
// Shared checks

function requireUser(d: SqliteDb, user_id: string): void {
  if (!d.sql("SELECT 1 FROM users WHERE user_id = ?").get(user_id)) {
    throw new NexusError("user_not_found", `no user ${user_id}`, { details: { user_id } });
  }
}

function requireNode(d: SqliteDb, node_id: string): void {
  if (!d.sql("SELECT 1 FROM nodes WHERE node_id = ?").get(node_id)) {
    throw new NexusError("not_found", `no node ${node_id}`, { details: { node_id } });
  }
}

function requireWorkspace(d: SqliteDb, workspace_id: string): void {
  if (!d.sql("SELECT 1 FROM workspaces WHERE workspace_id = ?").get(workspace_id)) {
    throw new NexusError("workspace_not_found", `no workspace ${workspace_id}`, { details: { workspace_id } });
  }
}

/** A status filter as one bound JSON parameter (`json_each`), or null for "not deleted". */
function statusParam(status: WorkspaceState | readonly WorkspaceState[] | undefined): string | null {
  if (status === undefined) return null;
  return toJson(typeof status === "string" ? [status] : status);
}

// ---------------------------------------------------------------------------------------
// Users and keys

interface UserRow {
  user_id: string;
  username: string;
  github_id: number | null;
  created_at: string;
}

const userFromRow = (r: UserRow): UserRecord => ({ user_id: r.user_id, username: r.username, github_id: r.github_id, created_at: r.created_at });

interface KeyRow {
  user_id: string;
  public_key: string;
  fingerprint: string;
  added_at: string;
}

const keyFromRow = (r: KeyRow): SshKeyRecord => ({ user_id: r.user_id, public_key: r.public_key, fingerprint: r.fingerprint, added_at: r.added_at });

export class SqliteUsers implements UserRepository {
  constructor(private readonly d: SqliteDb) {}

  async create(input: NewUser): Promise<UserRecord> {
    return this.d.write(() => {
      const github_id = input.github_id ?? null;
      if (this.d.sql("SELECT 1 FROM users WHERE username = ?").get(input.username)) {
        throw new NexusError("user_exists", `user ${input.username} already exists`, { details: { username: input.username } });
      }
      if (github_id !== null && this.d.sql("SELECT 1 FROM users WHERE github_id = ?").get(github_id)) {
        throw new NexusError("user_exists", `a user with GitHub id ${github_id} already exists`, { details: { github_id } });
      }
      const user_id = input.user_id ?? newId("user");
      if (this.d.sql("SELECT 1 FROM users WHERE user_id = ?").get(user_id)) {
        throw new NexusError("user_exists", `user ${user_id} already exists`, { details: { user_id } });
      }
      const row = this.d
        .sql("INSERT INTO users (user_id, username, github_id, created_at) VALUES (?, ?, ?, ?) RETURNING *")
        .get(user_id, input.username, github_id, this.d.timestamp()) as unknown as UserRow;
      return userFromRow(row);
    });
  }

  async get(user_id: string): Promise<UserRecord | undefined> {
    return this.d.run(() => this.one("SELECT * FROM users WHERE user_id = ?", user_id));
  }

  async getByGithubId(github_id: number): Promise<UserRecord | undefined> {
    return this.d.run(() => this.one("SELECT * FROM users WHERE github_id = ?", github_id));
  }

  async getByUsername(username: string): Promise<UserRecord | undefined> {
    return this.d.run(() => this.one("SELECT * FROM users WHERE username = ?", username));
  }

  async addKey(user_id: string, key: { public_key: string; fingerprint: string }): Promise<{ added: boolean; key: SshKeyRecord }> {
    return this.d.write(() => {
      requireUser(this.d, user_id);
      const { changes } = this.d
        .sql("INSERT INTO ssh_keys (user_id, public_key, fingerprint, added_at) VALUES (?, ?, ?, ?) ON CONFLICT (user_id, fingerprint) DO NOTHING")
        .run(user_id, key.public_key, key.fingerprint, this.d.timestamp());
      const row = this.d.sql("SELECT * FROM ssh_keys WHERE user_id = ? AND fingerprint = ?").get(user_id, key.fingerprint) as unknown as KeyRow;
      return { added: changes > 0, key: keyFromRow(row) };
    });
  }

  async listKeys(user_id: string): Promise<SshKeyRecord[]> {
    return this.d.run(() => (this.d.sql("SELECT * FROM ssh_keys WHERE user_id = ? ORDER BY seq").all(user_id) as unknown as KeyRow[]).map(keyFromRow));
  }

  private one(text: string, value: string | number): UserRecord | undefined {
    const row = this.d.sql(text).get(value) as unknown as UserRow | undefined;
    return row && userFromRow(row);
  }
}

// ---------------------------------------------------------------------------------------
// Tokens

interface TokenRow {
  hash: string;
  kind: TokenKind;
  user_id: string | null;
  node_id: string | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

const tokenFromRow = (r: TokenRow): TokenRecord => ({
  hash: r.hash,
  kind: r.kind,
  user_id: r.user_id,
  node_id: r.node_id,
  created_at: r.created_at,
  expires_at: r.expires_at,
  revoked_at: r.revoked_at,
});

export class SqliteTokens implements TokenRepository {
  constructor(private readonly d: SqliteDb) {}

  async create(input: NewToken): Promise<TokenRecord> {
    return this.d.write(() => {
      if (this.d.sql("SELECT 1 FROM api_tokens WHERE hash = ?").get(input.hash)) {
        throw new NexusError("invalid_request", "a token with this hash already exists");
      }
      const user_id = input.user_id ?? null;
      const node_id = input.node_id ?? null;
      if (user_id !== null) requireUser(this.d, user_id);
      if (node_id !== null) requireNode(this.d, node_id);
      const expires_at = input.expires_at == null ? null : toIsoTimestamp(input.expires_at, "expires_at");
      const row = this.d
        .sql("INSERT INTO api_tokens (hash, kind, user_id, node_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING *")
        .get(input.hash, input.kind, user_id, node_id, this.d.timestamp(), expires_at) as unknown as TokenRow;
      return tokenFromRow(row);
    });
  }

  async findByHash(hash: string): Promise<TokenRecord | undefined> {
    return this.d.run(() => {
      const row = this.d
        .sql("SELECT * FROM api_tokens WHERE hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)")
        .get(hash, this.d.timestamp()) as unknown as TokenRow | undefined;
      return row && tokenFromRow(row);
    });
  }

  async revoke(hash: string): Promise<boolean> {
    return this.d.run(() => this.d.sql("UPDATE api_tokens SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL").run(this.d.timestamp(), hash).changes > 0);
  }

  async listForUser(user_id: string): Promise<TokenRecord[]> {
    return this.d.run(() => (this.d.sql("SELECT * FROM api_tokens WHERE user_id = ? ORDER BY rowid").all(user_id) as unknown as TokenRow[]).map(tokenFromRow));
  }
}

// ---------------------------------------------------------------------------------------
// Workspaces

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
    return this.d.run(() => {
      const statuses = statusParam(query.status);
      const { total } = this.d.sql(`SELECT COUNT(*) AS total FROM workspaces WHERE owner_id = :owner_id AND ${STATUS_FILTER}`).get({ owner_id, statuses }) as { total: number };
      const rows = this.d
        .sql(`SELECT * FROM workspaces WHERE owner_id = :owner_id AND ${STATUS_FILTER} ORDER BY seq LIMIT :limit OFFSET :offset`)
        .all({ owner_id, statuses, limit: query.limit ?? 50, offset: query.offset ?? 0 }) as unknown as WorkspaceRow[];
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

// ---------------------------------------------------------------------------------------
// Nodes

interface NodeRow {
  node_id: string;
  name: string;
  providers: string;
  ssh_host: string;
  ssh_port_lo: number;
  ssh_port_hi: number;
  capacity: string;
  labels: string;
  status: NodeStatus;
  last_heartbeat: string | null;
  info: string;
  registered_at: string;
  updated_at: string;
}

const nodeFromRow = (r: NodeRow): NodeRecord => ({
  node_id: r.node_id,
  name: r.name,
  providers: fromJson<string[]>(r.providers),
  ssh_host: r.ssh_host,
  ssh_port_range: [r.ssh_port_lo, r.ssh_port_hi],
  capacity: fromJson<NodeCapacity>(r.capacity),
  labels: fromJson<Record<string, string>>(r.labels),
  status: r.status,
  last_heartbeat: r.last_heartbeat,
  info: fromJson<JsonObject>(r.info),
  registered_at: r.registered_at,
  updated_at: r.updated_at,
});

export class SqliteNodes implements NodeRepository {
  constructor(private readonly d: SqliteDb) {}

  async register(input: NodeRegistration): Promise<NodeRecord> {
    assertPortRange(input.ssh_port_range);
    return this.d.run(() => {
      const now = this.d.timestamp();
      // One statement: a concurrent registration of the same name cannot create a second node.
      const row = this.d
        .sql(
          `INSERT INTO nodes (node_id, name, providers, ssh_host, ssh_port_lo, ssh_port_hi, capacity, labels, status, last_heartbeat, info, registered_at, updated_at)
           VALUES (:node_id, :name, :providers, :ssh_host, :lo, :hi, :capacity, :labels, 'online', :now, '{}', :now, :now)
           ON CONFLICT (name) DO UPDATE SET providers = excluded.providers, ssh_host = excluded.ssh_host, ssh_port_lo = excluded.ssh_port_lo,
             ssh_port_hi = excluded.ssh_port_hi, capacity = excluded.capacity, labels = excluded.labels, status = 'online',
             last_heartbeat = excluded.last_heartbeat, updated_at = excluded.updated_at
           RETURNING *`,
        )
        .get({
          node_id: newId("node"),
          name: input.name,
          providers: toJson(input.providers),
          ssh_host: input.ssh_host,
          lo: input.ssh_port_range[0],
          hi: input.ssh_port_range[1],
          capacity: toJson(input.capacity),
          labels: toJson(input.labels ?? {}),
          now,
        }) as unknown as NodeRow;
      return nodeFromRow(row);
    });
  }

  async get(node_id: string): Promise<NodeRecord | undefined> {
    return this.d.run(() => {
      const row = this.d.sql("SELECT * FROM nodes WHERE node_id = ?").get(node_id) as unknown as NodeRow | undefined;
      return row && nodeFromRow(row);
    });
  }

  async list(): Promise<NodeRecord[]> {
    return this.d.run(() => (this.d.sql("SELECT * FROM nodes ORDER BY name").all() as unknown as NodeRow[]).map(nodeFromRow));
  }

  async heartbeat(node_id: string, beat: NodeHeartbeat = {}): Promise<NodeRecord> {
    const at = beat.at === undefined ? undefined : toIsoTimestamp(beat.at, "at");
    return this.d.run(() => {
      const now = this.d.timestamp();
      const row = this.d
        .sql("UPDATE nodes SET last_heartbeat = :at, status = :status, info = COALESCE(:info, info), updated_at = :now WHERE node_id = :node_id RETURNING *")
        .get({ node_id, at: at ?? now, status: beat.status ?? "online", info: beat.info === undefined ? null : toJson(beat.info), now }) as unknown as NodeRow | undefined;
      if (!row) throw new NexusError("not_found", `no node ${node_id}`, { details: { node_id } });
      return nodeFromRow(row);
    });
  }

  async setStatus(node_id: string, status: NodeStatus): Promise<NodeRecord> {
    return this.d.run(() => {
      const row = this.d.sql("UPDATE nodes SET status = ?, updated_at = ? WHERE node_id = ? RETURNING *").get(status, this.d.timestamp(), node_id) as unknown as NodeRow | undefined;
      if (!row) throw new NexusError("not_found", `no node ${node_id}`, { details: { node_id } });
      return nodeFromRow(row);
    });
  }
}

// ---------------------------------------------------------------------------------------
// Commands

interface CommandRow {
  seq: number;
  command_id: string;
  node_id: string;
  workspace_id: string | null;
  type: string;
  payload: string;
  status: CommandStatus;
  attempts: number;
  created_at: string;
  delivered_at: string | null;
  completed_at: string | null;
  result: string | null;
  error: string | null;
}

const commandFromRow = (r: CommandRow): CommandRecord => ({
  command_id: r.command_id,
  node_id: r.node_id,
  workspace_id: r.workspace_id,
  type: r.type,
  payload: fromJson<JsonObject>(r.payload),
  status: r.status,
  attempts: r.attempts,
  created_at: r.created_at,
  delivered_at: r.delivered_at,
  completed_at: r.completed_at,
  result: fromJsonOrNull<JsonObject>(r.result),
  error: fromJsonOrNull<CommandError>(r.error),
});

export class SqliteCommands implements CommandRepository {
  /** Command secrets live in this process only (never in the database), keyed by command id. */
  private readonly secrets = new Map<string, Record<string, string>>();

  constructor(private readonly d: SqliteDb) {}

  async enqueue(input: NewCommand): Promise<CommandRecord> {
    return this.d.write(() => {
      requireNode(this.d, input.node_id);
      const row = this.d
        .sql(
          `INSERT INTO commands (command_id, node_id, workspace_id, type, payload, status, attempts, created_at)
           VALUES (?, ?, ?, ?, ?, 'queued', 0, ?) RETURNING *`,
        )
        .get(newId("command"), input.node_id, input.workspace_id ?? null, input.type, toJson(input.payload ?? {}), this.d.timestamp()) as unknown as CommandRow;
      if (input.secrets) this.secrets.set(row.command_id, { ...input.secrets });
      return this.withSecrets(commandFromRow(row));
    });
  }

  async claim(node_id: string, options: ClaimOptions): Promise<CommandRecord[]> {
    return this.d.run(() => {
      const now = this.d.now();
      // One UPDATE … RETURNING: selecting and marking happen atomically.
      const rows = this.d
        .sql(
          `UPDATE commands SET status = 'delivered', delivered_at = :now, attempts = attempts + 1
           WHERE seq IN (
             SELECT seq FROM commands
             WHERE node_id = :node_id AND (status = 'queued' OR (status = 'delivered' AND delivered_at <= :redeliver_before))
             ORDER BY seq LIMIT :limit
           )
           RETURNING *`,
        )
        .all({
          node_id,
          now: now.toISOString(),
          redeliver_before: new Date(now.getTime() - options.redeliverAfterMs).toISOString(),
          limit: options.limit,
        }) as unknown as CommandRow[];
      return rows.sort((a, b) => a.seq - b.seq).map((r) => this.withSecrets(commandFromRow(r)));
    });
  }

  async complete(node_id: string, command_id: string, outcome: CommandOutcome): Promise<CommandRecord> {
    return this.d.write(() => {
      const row = this.d.sql("SELECT * FROM commands WHERE command_id = ?").get(command_id) as unknown as CommandRow | undefined;
      if (!row) throw new NexusError("not_found", `no command ${command_id}`, { details: { command_id } });
      if (row.node_id !== node_id) throw new NexusError("forbidden", `command ${command_id} belongs to another node`, { details: { command_id } });
      if (row.status === "succeeded" || row.status === "failed") return commandFromRow(row);
      const updated = this.d
        .sql("UPDATE commands SET status = ?, completed_at = ?, result = ?, error = ? WHERE command_id = ? RETURNING *")
        .get(
          outcome.ok ? "succeeded" : "failed",
          this.d.timestamp(),
          outcome.result === undefined ? null : toJson(outcome.result),
          outcome.error === undefined ? null : toJson(outcome.error),
          command_id,
        ) as unknown as CommandRow;
      this.secrets.delete(command_id);
      return commandFromRow(updated);
    });
  }

  async get(command_id: string): Promise<CommandRecord | undefined> {
    return this.d.run(() => {
      const row = this.d.sql("SELECT * FROM commands WHERE command_id = ?").get(command_id) as unknown as CommandRow | undefined;
      return row && commandFromRow(row);
    });
  }

  async listPending(node_id: string): Promise<CommandRecord[]> {
    return this.d.run(() =>
      (this.d.sql("SELECT * FROM commands WHERE node_id = ? AND status IN ('queued', 'delivered') ORDER BY seq").all(node_id) as unknown as CommandRow[]).map(commandFromRow),
    );
  }

  /** Forgets every secret (the store is closing). */
  dropSecrets(): void {
    this.secrets.clear();
  }

  private withSecrets(command: CommandRecord): CommandRecord {
    const secrets = this.secrets.get(command.command_id);
    return secrets ? { ...command, secrets: { ...secrets } } : command;
  }
}

// ---------------------------------------------------------------------------------------
// Ports

// The lowest port of [lo, hi] not in the table: lo itself, or the first allocated port
// (within the range) whose successor is free. NULL-free: the caller checks the result <= hi.
const LOWEST_FREE_SSH_PORT = `SELECT CASE
  WHEN NOT EXISTS (SELECT 1 FROM port_allocations WHERE node_id = :owner AND port = :lo) THEN :lo
  ELSE (SELECT MIN(a.port) + 1 FROM port_allocations a WHERE a.node_id = :owner AND a.port BETWEEN :lo AND :hi
        AND NOT EXISTS (SELECT 1 FROM port_allocations b WHERE b.node_id = :owner AND b.port = a.port + 1))
END AS port`;

const LOWEST_FREE_LOCAL_PORT = `SELECT CASE
  WHEN NOT EXISTS (SELECT 1 FROM local_port_allocations WHERE user_id = :owner AND port = :lo) THEN :lo
  ELSE (SELECT MIN(a.port) + 1 FROM local_port_allocations a WHERE a.user_id = :owner AND a.port BETWEEN :lo AND :hi
        AND NOT EXISTS (SELECT 1 FROM local_port_allocations b WHERE b.user_id = :owner AND b.port = a.port + 1))
END AS port`;

function lowestFree(d: SqliteDb, query: string, owner: string, lo: number, hi: number): number | undefined {
  const { port } = d.sql(query).get({ owner, lo, hi }) as { port: number | null };
  return port !== null && port <= hi ? port : undefined;
}

export class SqlitePorts implements PortRepository {
  constructor(private readonly d: SqliteDb) {}

  async allocateSsh(node_id: string, workspace_id: string, range: readonly [number, number]): Promise<number> {
    assertPortRange(range);
    return this.d.write(() => {
      requireNode(this.d, node_id);
      requireWorkspace(this.d, workspace_id);
      const held = this.d.sql("SELECT node_id, port FROM port_allocations WHERE workspace_id = ?").get(workspace_id) as { node_id: string; port: number } | undefined;
      if (held?.node_id === node_id) return held.port;
      if (held) this.d.sql("DELETE FROM port_allocations WHERE workspace_id = ?").run(workspace_id);
      const port = lowestFree(this.d, LOWEST_FREE_SSH_PORT, node_id, range[0], range[1]);
      if (port === undefined) {
        throw new NexusError("port_pool_exhausted", `every SSH port ${range[0]}-${range[1]} of node ${node_id} is in use`, { details: { node_id, range: [...range] } });
      }
      // UNIQUE (node_id, port) is the final guard against a double allocation.
      this.d.sql("INSERT INTO port_allocations (node_id, port, workspace_id, allocated_at) VALUES (?, ?, ?, ?)").run(node_id, port, workspace_id, this.d.timestamp());
      return port;
    });
  }

  async releaseSsh(workspace_id: string): Promise<void> {
    this.d.run(() => this.d.sql("DELETE FROM port_allocations WHERE workspace_id = ?").run(workspace_id));
  }

  async allocateLocal(user_id: string, workspace_id: string, service: string): Promise<number> {
    return this.d.write(() => {
      requireUser(this.d, user_id);
      requireWorkspace(this.d, workspace_id);
      const held = this.d.sql("SELECT port FROM local_port_allocations WHERE workspace_id = ? AND service = ?").get(workspace_id, service) as { port: number } | undefined;
      if (held) return held.port;
      const port = lowestFree(this.d, LOWEST_FREE_LOCAL_PORT, user_id, LOCAL_PORT_BASE, LOCAL_PORT_MAX);
      if (port === undefined) throw new NexusError("port_pool_exhausted", `no local port left for user ${user_id}`, { details: { user_id } });
      this.d
        .sql("INSERT INTO local_port_allocations (user_id, port, workspace_id, service, allocated_at) VALUES (?, ?, ?, ?, ?)")
        .run(user_id, port, workspace_id, service, this.d.timestamp());
      return port;
    });
  }

  async releaseLocal(workspace_id: string): Promise<void> {
    this.d.run(() => this.d.sql("DELETE FROM local_port_allocations WHERE workspace_id = ?").run(workspace_id));
  }
}
