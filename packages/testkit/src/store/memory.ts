// A Store in process memory, faithful to the contract (uniqueness, foreign keys,
// compare-and-set, at-least-once redelivery, atomic ports) so server and agent tests can
// run without SQLite. Every method does its work synchronously inside the async call,
// which makes each one atomic with respect to the others. Records are cloned on the way
// in and out: callers can never mutate what the store holds.
import {
  LOCAL_PORT_BASE,
  LOCAL_PORT_MAX,
  NexusError,
  SERVICE_UPSERT_FIELDS,
  WORKSPACE_PATCH_FIELDS,
  assertPortRange,
  newId,
  pageWindow,
  pickDefined,
  toIsoTimestamp,
  type ClaimOptions,
  type CommandOutcome,
  type CommandRecord,
  type CommandRepository,
  type NewCommand,
  type NewToken,
  type NewUser,
  type NewWorkspace,
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
  type ServiceUpsert,
  type SshKeyRecord,
  type Store,
  type StoreOptions,
  type TokenRecord,
  type TokenRepository,
  type UserRecord,
  type UserRepository,
  type WorkspaceCreateResult,
  type WorkspaceListQuery,
  type WorkspacePage,
  type WorkspacePatch,
  type WorkspaceRecord,
  type WorkspaceRepo,
  type WorkspaceRepository,
  type WorkspaceState,
  type WorkspaceUpdateOptions,
} from "@nexus/core";

// A JSON round trip, like the SQL store's JSON columns: undefined fields disappear.
const clone = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

/** Only the repo's known fields, as the SQL store's repo_* columns keep them. */
function repoFields(repo: WorkspaceRepo): WorkspaceRepo {
  const { owner, name, branch, url, commit, upstream, is_fork } = repo;
  return { owner, name, branch, url, is_fork, ...(commit === undefined ? {} : { commit }), ...(upstream === undefined ? {} : { upstream }) };
}

function statusSet(status: WorkspaceState | readonly WorkspaceState[] | undefined): ReadonlySet<WorkspaceState> | undefined {
  if (status === undefined) return undefined;
  return new Set(typeof status === "string" ? [status] : status);
}

function matchesStatus(record: WorkspaceRecord, wanted: ReadonlySet<WorkspaceState> | undefined): boolean {
  return wanted ? wanted.has(record.status) : record.status !== "deleted";
}

interface SshAllocation {
  node_id: string;
  port: number;
}

interface LocalAllocation {
  user_id: string;
  workspace_id: string;
  service: string;
  port: number;
}

class MemoryState {
  readonly users = new Map<string, UserRecord>();
  readonly keys = new Map<string, SshKeyRecord[]>();
  readonly tokens = new Map<string, TokenRecord>();
  readonly workspaces = new Map<string, WorkspaceRecord>();
  readonly phases = new Map<string, PhaseRecord[]>();
  readonly services = new Map<string, Map<string, ServiceRecord>>();
  readonly nodes = new Map<string, NodeRecord>();
  readonly commands = new Map<string, CommandRecord>();
  readonly commandSecrets = new Map<string, Record<string, string>>();
  /** workspace_id → its SSH port. */
  readonly sshPorts = new Map<string, SshAllocation>();
  readonly localPorts: LocalAllocation[] = [];

  constructor(readonly now: () => Date) {}

  timestamp(): string {
    return this.now().toISOString();
  }

  requireUser(user_id: string): UserRecord {
    const user = this.users.get(user_id);
    if (!user) throw new NexusError("user_not_found", `no user ${user_id}`, { details: { user_id } });
    return user;
  }

  requireWorkspace(workspace_id: string): WorkspaceRecord {
    const workspace = this.workspaces.get(workspace_id);
    if (!workspace) throw new NexusError("workspace_not_found", `no workspace ${workspace_id}`, { details: { workspace_id } });
    return workspace;
  }

  requireNode(node_id: string): NodeRecord {
    const node = this.nodes.get(node_id);
    if (!node) throw new NexusError("not_found", `no node ${node_id}`, { details: { node_id } });
    return node;
  }

  /** What deleting a workspace row cascades to (the SQL schema's ON DELETE CASCADE). */
  dropWorkspaceDependents(workspace_id: string): void {
    this.phases.delete(workspace_id);
    this.services.delete(workspace_id);
    this.sshPorts.delete(workspace_id);
    this.releaseLocal(workspace_id);
  }

  releaseLocal(workspace_id: string): void {
    for (let i = this.localPorts.length - 1; i >= 0; i--) {
      if (this.localPorts[i]!.workspace_id === workspace_id) this.localPorts.splice(i, 1);
    }
  }
}

class MemoryUsers implements UserRepository {
  constructor(private readonly s: MemoryState) {}

  async create(input: NewUser): Promise<UserRecord> {
    const github_id = input.github_id ?? null;
    for (const user of this.s.users.values()) {
      if (user.username === input.username) throw new NexusError("user_exists", `user ${input.username} already exists`, { details: { username: input.username } });
      if (github_id !== null && user.github_id === github_id) throw new NexusError("user_exists", `a user with GitHub id ${github_id} already exists`, { details: { github_id } });
    }
    const user_id = input.user_id ?? newId("user");
    if (this.s.users.has(user_id)) throw new NexusError("user_exists", `user ${user_id} already exists`, { details: { user_id } });
    const user: UserRecord = { user_id, username: input.username, github_id, created_at: this.s.timestamp() };
    this.s.users.set(user_id, user);
    return clone(user);
  }

  async get(user_id: string): Promise<UserRecord | undefined> {
    return clone(this.s.users.get(user_id));
  }

  async getByGithubId(github_id: number): Promise<UserRecord | undefined> {
    return clone([...this.s.users.values()].find((u) => u.github_id === github_id));
  }

  async getByUsername(username: string): Promise<UserRecord | undefined> {
    return clone([...this.s.users.values()].find((u) => u.username === username));
  }

  async addKey(user_id: string, key: { public_key: string; fingerprint: string }): Promise<{ added: boolean; key: SshKeyRecord }> {
    this.s.requireUser(user_id);
    const keys = this.s.keys.get(user_id) ?? [];
    const existing = keys.find((k) => k.fingerprint === key.fingerprint);
    if (existing) return { added: false, key: clone(existing) };
    const record: SshKeyRecord = { user_id, public_key: key.public_key, fingerprint: key.fingerprint, added_at: this.s.timestamp() };
    keys.push(record);
    this.s.keys.set(user_id, keys);
    return { added: true, key: clone(record) };
  }

  async listKeys(user_id: string): Promise<SshKeyRecord[]> {
    return clone(this.s.keys.get(user_id) ?? []);
  }
}

class MemoryTokens implements TokenRepository {
  constructor(private readonly s: MemoryState) {}

  async create(input: NewToken): Promise<TokenRecord> {
    if (this.s.tokens.has(input.hash)) throw new NexusError("invalid_request", "a token with this hash already exists");
    const user_id = input.user_id ?? null;
    const node_id = input.node_id ?? null;
    if (user_id !== null) this.s.requireUser(user_id);
    if (node_id !== null) this.s.requireNode(node_id);
    const token: TokenRecord = {
      hash: input.hash,
      kind: input.kind,
      user_id,
      node_id,
      created_at: this.s.timestamp(),
      expires_at: input.expires_at == null ? null : toIsoTimestamp(input.expires_at, "expires_at"),
      revoked_at: null,
    };
    this.s.tokens.set(token.hash, token);
    return clone(token);
  }

  async findByHash(hash: string): Promise<TokenRecord | undefined> {
    const token = this.s.tokens.get(hash);
    if (!token || token.revoked_at !== null) return undefined;
    if (token.expires_at !== null && token.expires_at <= this.s.timestamp()) return undefined;
    return clone(token);
  }

  async revoke(hash: string): Promise<boolean> {
    const token = this.s.tokens.get(hash);
    if (!token || token.revoked_at !== null) return false;
    token.revoked_at = this.s.timestamp();
    return true;
  }

  async listForUser(user_id: string): Promise<TokenRecord[]> {
    return clone([...this.s.tokens.values()].filter((t) => t.user_id === user_id));
  }
}

class MemoryWorkspaces implements WorkspaceRepository {
  constructor(private readonly s: MemoryState) {}

  async create(input: NewWorkspace): Promise<WorkspaceCreateResult> {
    this.s.requireUser(input.owner_id);
    const node_id = input.node_id ?? null;
    if (node_id !== null) this.s.requireNode(node_id);
    const idempotency_key = input.idempotency_key ?? null;
    const status = input.status ?? "pending";
    const owned = [...this.s.workspaces.values()].filter((w) => w.owner_id === input.owner_id);
    if (idempotency_key !== null) {
      const earlier = owned.find((w) => w.idempotency_key === idempotency_key);
      if (earlier) return { workspace: clone(earlier), created: false };
    }
    if (status !== "deleted" && owned.some((w) => w.workspace_name === input.workspace_name && w.status !== "deleted")) {
      throw new NexusError("workspace_exists", `workspace ${input.workspace_name} already exists`, { details: { workspace_name: input.workspace_name } });
    }
    const workspace_id = input.workspace_id ?? newId("workspace");
    if (this.s.workspaces.has(workspace_id)) throw new NexusError("workspace_exists", `workspace ${workspace_id} already exists`, { details: { workspace_id } });
    const now = this.s.timestamp();
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
      repo: repoFields(input.repo),
      config: clone(input.config ?? {}),
      error: clone(input.error ?? null),
      handle: clone(input.handle ?? null),
      idempotency_key,
      created_at: now,
      updated_at: now,
    };
    this.s.workspaces.set(workspace_id, workspace);
    return { workspace: clone(workspace), created: true };
  }

  async get(workspace_id: string): Promise<WorkspaceRecord | undefined> {
    return clone(this.s.workspaces.get(workspace_id));
  }

  async getByName(owner_id: string, workspace_name: string): Promise<WorkspaceRecord | undefined> {
    return clone(
      [...this.s.workspaces.values()].find((w) => w.owner_id === owner_id && w.workspace_name === workspace_name && w.status !== "deleted"),
    );
  }

  async list(owner_id: string, query: WorkspaceListQuery = {}): Promise<WorkspacePage> {
    const { limit, offset } = pageWindow(query);
    const wanted = statusSet(query.status);
    const matching = [...this.s.workspaces.values()].filter((w) => w.owner_id === owner_id && matchesStatus(w, wanted));
    return { items: clone(matching.slice(offset, offset + limit)), total: matching.length };
  }

  async listByNode(node_id: string): Promise<WorkspaceRecord[]> {
    return clone([...this.s.workspaces.values()].filter((w) => w.node_id === node_id));
  }

  async listAll(query: { status?: WorkspaceState | readonly WorkspaceState[] } = {}): Promise<WorkspaceRecord[]> {
    const wanted = statusSet(query.status);
    return clone([...this.s.workspaces.values()].filter((w) => matchesStatus(w, wanted)));
  }

  async update(workspace_id: string, patch: WorkspacePatch, options: WorkspaceUpdateOptions = {}): Promise<WorkspaceRecord> {
    const current = this.s.requireWorkspace(workspace_id);
    const expected = statusSet(options.expectStatus);
    if (expected && !expected.has(current.status)) {
      throw new NexusError("invalid_transition", `workspace ${current.workspace_name} is ${current.status}, not ${[...expected].join(" or ")}`, {
        details: { workspace_id, state: current.status, expected: [...expected] },
      });
    }
    if (patch.node_id != null) this.s.requireNode(patch.node_id);
    const fields = clone(pickDefined(patch, WORKSPACE_PATCH_FIELDS));
    if (fields.repo) fields.repo = repoFields(fields.repo);
    const next: WorkspaceRecord = { ...current, ...fields, updated_at: this.s.timestamp() };
    if (next.status !== "deleted" && current.status === "deleted") {
      const clash = [...this.s.workspaces.values()].some(
        (w) => w !== current && w.owner_id === next.owner_id && w.workspace_name === next.workspace_name && w.status !== "deleted",
      );
      if (clash) throw new NexusError("workspace_exists", `workspace ${next.workspace_name} already exists`, { details: { workspace_name: next.workspace_name } });
    }
    this.s.workspaces.set(workspace_id, next);
    return clone(next);
  }

  async delete(workspace_id: string): Promise<boolean> {
    if (!this.s.workspaces.delete(workspace_id)) return false;
    this.s.dropWorkspaceDependents(workspace_id);
    return true;
  }
}

class MemoryPhases implements PhaseRepository {
  constructor(private readonly s: MemoryState) {}

  async record(workspace_id: string, phase: PhaseRecord): Promise<void> {
    this.s.requireWorkspace(workspace_id);
    const record: PhaseRecord = { name: phase.name, started_at: toIsoTimestamp(phase.started_at, "started_at"), duration_ms: phase.duration_ms };
    const phases = this.s.phases.get(workspace_id) ?? [];
    const at = phases.findIndex((p) => p.name === phase.name);
    if (at >= 0) phases[at] = record;
    else phases.push(record);
    this.s.phases.set(workspace_id, phases);
  }

  async list(workspace_id: string): Promise<PhaseRecord[]> {
    const phases = this.s.phases.get(workspace_id) ?? [];
    // Array#sort is stable: equal start times keep their first-recorded order.
    return clone([...phases].sort((a, b) => (a.started_at < b.started_at ? -1 : a.started_at > b.started_at ? 1 : 0)));
  }

  async clear(workspace_id: string): Promise<void> {
    this.s.phases.delete(workspace_id);
  }
}

class MemoryServices implements ServiceRepository {
  constructor(private readonly s: MemoryState) {}

  async upsert(workspace_id: string, input: ServiceUpsert): Promise<ServiceRecord> {
    this.s.requireWorkspace(workspace_id);
    const services = this.s.services.get(workspace_id) ?? new Map<string, ServiceRecord>();
    const current: ServiceRecord = services.get(input.name) ?? {
      workspace_id,
      name: input.name,
      status: "pending",
      health: "unknown",
      port: null,
      local_port: null,
      depends_on: [],
      last_check: null,
      last_error: null,
      updated_at: this.s.timestamp(),
    };
    const fields = clone(pickDefined(input, SERVICE_UPSERT_FIELDS));
    if (fields.last_check != null) fields.last_check = toIsoTimestamp(fields.last_check, "last_check");
    const next: ServiceRecord = { ...current, ...fields, workspace_id, updated_at: this.s.timestamp() };
    services.set(input.name, next);
    this.s.services.set(workspace_id, services);
    return clone(next);
  }

  async list(workspace_id: string): Promise<ServiceRecord[]> {
    return clone([...(this.s.services.get(workspace_id)?.values() ?? [])]);
  }
}

class MemoryNodes implements NodeRepository {
  constructor(private readonly s: MemoryState) {}

  async register(input: NodeRegistration): Promise<NodeRecord> {
    assertPortRange(input.ssh_port_range);
    const now = this.s.timestamp();
    const existing = [...this.s.nodes.values()].find((n) => n.name === input.name);
    const node: NodeRecord = {
      node_id: existing?.node_id ?? newId("node"),
      name: input.name,
      providers: clone(input.providers),
      ssh_host: input.ssh_host,
      ssh_port_range: [input.ssh_port_range[0], input.ssh_port_range[1]],
      capacity: clone(input.capacity),
      labels: clone(input.labels ?? {}),
      status: "online",
      last_heartbeat: now,
      info: clone(input.info ?? existing?.info ?? {}),
      registered_at: existing?.registered_at ?? now,
      updated_at: now,
    };
    this.s.nodes.set(node.node_id, node);
    return clone(node);
  }

  async get(node_id: string): Promise<NodeRecord | undefined> {
    return clone(this.s.nodes.get(node_id));
  }

  async list(): Promise<NodeRecord[]> {
    return clone([...this.s.nodes.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
  }

  async heartbeat(node_id: string, beat: NodeHeartbeat = {}): Promise<NodeRecord> {
    const node = this.s.requireNode(node_id);
    node.last_heartbeat = beat.at === undefined ? this.s.timestamp() : toIsoTimestamp(beat.at, "at");
    node.status = beat.status ?? "online";
    if (beat.info !== undefined) node.info = clone(beat.info);
    node.updated_at = this.s.timestamp();
    return clone(node);
  }

  async setStatus(node_id: string, status: NodeStatus): Promise<NodeRecord> {
    const node = this.s.requireNode(node_id);
    node.status = status;
    node.updated_at = this.s.timestamp();
    return clone(node);
  }
}

class MemoryCommands implements CommandRepository {
  constructor(private readonly s: MemoryState) {}

  async enqueue(input: NewCommand): Promise<CommandRecord> {
    this.s.requireNode(input.node_id);
    const command: CommandRecord = {
      command_id: newId("command"),
      node_id: input.node_id,
      workspace_id: input.workspace_id ?? null,
      type: input.type,
      payload: clone(input.payload ?? {}),
      status: "queued",
      attempts: 0,
      created_at: this.s.timestamp(),
      delivered_at: null,
      completed_at: null,
      result: null,
      error: null,
    };
    this.s.commands.set(command.command_id, command);
    if (input.secrets) this.s.commandSecrets.set(command.command_id, clone(input.secrets));
    return this.withSecrets(command);
  }

  async claim(node_id: string, options: ClaimOptions): Promise<CommandRecord[]> {
    const now = this.s.now();
    const redeliverBefore = new Date(now.getTime() - options.redeliverAfterMs).toISOString();
    const claimed: CommandRecord[] = [];
    for (const command of this.s.commands.values()) {
      if (claimed.length >= options.limit) break;
      if (command.node_id !== node_id) continue;
      const due = command.status === "queued" || (command.status === "delivered" && command.delivered_at! <= redeliverBefore);
      if (!due) continue;
      command.status = "delivered";
      command.delivered_at = now.toISOString();
      command.attempts += 1;
      claimed.push(this.withSecrets(command));
    }
    return claimed;
  }

  async complete(node_id: string, command_id: string, outcome: CommandOutcome): Promise<CommandRecord> {
    const command = this.s.commands.get(command_id);
    if (!command) throw new NexusError("not_found", `no command ${command_id}`, { details: { command_id } });
    if (command.node_id !== node_id) throw new NexusError("forbidden", `command ${command_id} belongs to another node`, { details: { command_id } });
    if (command.status === "succeeded" || command.status === "failed") return clone(command);
    command.status = outcome.ok ? "succeeded" : "failed";
    command.completed_at = this.s.timestamp();
    command.result = clone(outcome.result ?? null);
    command.error = clone(outcome.error ?? null);
    this.s.commandSecrets.delete(command_id);
    return clone(command);
  }

  async get(command_id: string): Promise<CommandRecord | undefined> {
    return clone(this.s.commands.get(command_id));
  }

  async listPending(node_id: string): Promise<CommandRecord[]> {
    return clone([...this.s.commands.values()].filter((c) => c.node_id === node_id && (c.status === "queued" || c.status === "delivered")));
  }

  private withSecrets(command: CommandRecord): CommandRecord {
    const secrets = this.s.commandSecrets.get(command.command_id);
    return secrets ? { ...clone(command), secrets: clone(secrets) } : clone(command);
  }
}

class MemoryPorts implements PortRepository {
  constructor(private readonly s: MemoryState) {}

  async allocateSsh(node_id: string, workspace_id: string, range: readonly [number, number]): Promise<number> {
    assertPortRange(range);
    this.s.requireNode(node_id);
    this.s.requireWorkspace(workspace_id);
    const held = this.s.sshPorts.get(workspace_id);
    if (held?.node_id === node_id) return held.port;
    const used = new Set<number>();
    for (const [owner, allocation] of this.s.sshPorts) {
      if (allocation.node_id === node_id && owner !== workspace_id) used.add(allocation.port);
    }
    for (let port = range[0]; port <= range[1]; port++) {
      if (used.has(port)) continue;
      this.s.sshPorts.set(workspace_id, { node_id, port });
      return port;
    }
    throw new NexusError("port_pool_exhausted", `every SSH port ${range[0]}-${range[1]} of node ${node_id} is in use`, { details: { node_id, range: [...range] } });
  }

  async releaseSsh(workspace_id: string): Promise<void> {
    this.s.sshPorts.delete(workspace_id);
  }

  async allocateLocal(user_id: string, workspace_id: string, service: string): Promise<number> {
    this.s.requireUser(user_id);
    this.s.requireWorkspace(workspace_id);
    const held = this.s.localPorts.find((a) => a.workspace_id === workspace_id && a.service === service);
    if (held) return held.port;
    const used = new Set(this.s.localPorts.filter((a) => a.user_id === user_id).map((a) => a.port));
    for (let port = LOCAL_PORT_BASE; port <= LOCAL_PORT_MAX; port++) {
      if (used.has(port)) continue;
      this.s.localPorts.push({ user_id, workspace_id, service, port });
      return port;
    }
    throw new NexusError("port_pool_exhausted", `no local port left for user ${user_id}`, { details: { user_id } });
  }

  async releaseLocal(workspace_id: string): Promise<void> {
    this.s.releaseLocal(workspace_id);
  }
}

export class MemoryStore implements Store {
  readonly users: UserRepository;
  readonly tokens: TokenRepository;
  readonly workspaces: WorkspaceRepository;
  readonly phases: PhaseRepository;
  readonly services: ServiceRepository;
  readonly nodes: NodeRepository;
  readonly commands: CommandRepository;
  readonly ports: PortRepository;

  constructor(options: StoreOptions = {}) {
    const state = new MemoryState(options.now ?? (() => new Date()));
    this.users = new MemoryUsers(state);
    this.tokens = new MemoryTokens(state);
    this.workspaces = new MemoryWorkspaces(state);
    this.phases = new MemoryPhases(state);
    this.services = new MemoryServices(state);
    this.nodes = new MemoryNodes(state);
    this.commands = new MemoryCommands(state);
    this.ports = new MemoryPorts(state);
  }

  async close(): Promise<void> {}
}
