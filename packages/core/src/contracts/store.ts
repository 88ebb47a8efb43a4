// Store contract: the coordination server's persistence, as narrow repositories.
// Every method is async so a networked database (PostgreSQL) can implement it later;
// every method is atomic on its own (there is no cross-method transaction).
//
// Conventions shared by all implementations (checked by @nexus/testkit's conformance suite):
// - Timestamps are ISO 8601 strings in UTC with milliseconds (`Date#toISOString`), taken
//   from the store's clock (`StoreOptions.now`) unless the caller passes one.
// - Look-ups of something absent return `undefined`; mutations of something absent throw
//   a NexusError (`user_not_found`, `workspace_not_found`, or `not_found` for nodes and commands).
// - The store never sees a raw token: callers pass `hashToken(raw)`.
import { createHash, randomBytes } from "node:crypto";
import { NexusError } from "../errors.js";
import type { Handle } from "./provider.js";
import type { Health, ServiceState, WorkspaceState } from "../state.js";

// ---------------------------------------------------------------------------------------
// Pure helpers

/** sha256 hex of a raw token: the only form of a token a Store ever holds. */
export function hashToken(raw: string): string {
  return createHash("sha256").update(raw, "utf8").digest("hex");
}

export const ID_PREFIXES = { user: "usr", workspace: "ws", node: "node", command: "cmd" } as const;
export type IdKind = keyof typeof ID_PREFIXES;

// Lowercase base32 without look-alikes (i, l, o, u): ids are typed and read by people.
const ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const ID_RANDOM_CHARS = 16; // 80 bits

/** A new random id such as `ws_3k9x0d2m7q1c8v4b`. */
export function newId(kind: IdKind): string {
  const bytes = randomBytes(ID_RANDOM_CHARS);
  let out = `${ID_PREFIXES[kind]}_`;
  for (const byte of bytes) out += ID_ALPHABET[byte & 31];
  return out;
}

const ID_PATTERNS = Object.fromEntries(
  Object.entries(ID_PREFIXES).map(([kind, prefix]) => [kind, new RegExp(`^${prefix}_[${ID_ALPHABET}]{${ID_RANDOM_CHARS}}$`)]),
) as Record<IdKind, RegExp>;

/** Whether `value` looks like an id of that kind (e.g. to tell an id from a name before a look-up). */
export function isId(kind: IdKind, value: string): boolean {
  return ID_PATTERNS[kind].test(value);
}

/**
 * The canonical form of a timestamp (`toISOString`), so stores can order and compare
 * timestamps as strings. Anything unparsable → `invalid_request`.
 */
export function toIsoTimestamp(value: string | Date, field = "timestamp"): string {
  const date = typeof value === "string" ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) throw new NexusError("invalid_request", `${field} is not a valid timestamp`, { details: { field } });
  return date.toISOString();
}

/** An inclusive TCP port range `[lo, hi]` with 1 <= lo <= hi <= 65535, else `invalid_request`. */
export function assertPortRange(range: readonly [number, number]): void {
  const [lo, hi] = range;
  const valid = Number.isInteger(lo) && Number.isInteger(hi) && lo >= 1 && hi <= 65535 && lo <= hi;
  if (!valid) throw new NexusError("invalid_request", `invalid port range ${JSON.stringify(range)}`, { details: { range } });
}

/** The listed keys of `patch` whose value is not undefined (undefined means "leave as is"). */
export function pickDefined<T extends object, K extends keyof T>(patch: T, fields: readonly K[]): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const field of fields) if (patch[field] !== undefined) picked[field] = patch[field];
  return picked;
}

/** A list query's window with defaults (limit 50, offset 0); negative or fractional values → `invalid_request`. */
export function pageWindow(query: { limit?: number; offset?: number }): { limit: number; offset: number } {
  const limit = query.limit ?? 50;
  const offset = query.offset ?? 0;
  if (!Number.isSafeInteger(limit) || limit < 0 || !Number.isSafeInteger(offset) || offset < 0) {
    throw new NexusError("invalid_request", "limit and offset must be non-negative integers", { details: { limit, offset } });
  }
  return { limit, offset };
}

/** First port handed out by `ports.allocateLocal` (SPEC §6). */
export const LOCAL_PORT_BASE = 23000;
export const LOCAL_PORT_MAX = 65535;

// ---------------------------------------------------------------------------------------
// Records

export type IsoTimestamp = string;
export type JsonObject = Record<string, unknown>;

export interface UserRecord {
  user_id: string;
  /** Unique. The GitHub login for GitHub users; the local account name in single-machine mode. */
  username: string;
  /** Unique when set; null for local users. */
  github_id: number | null;
  created_at: IsoTimestamp;
}

export interface NewUser {
  username: string;
  github_id?: number | null;
  /** Defaults to `newId("user")`. */
  user_id?: string;
}

export interface SshKeyRecord {
  user_id: string;
  public_key: string;
  /** `SHA256:…` as printed by `ssh-keygen -lf`; unique per user. */
  fingerprint: string;
  added_at: IsoTimestamp;
}

export type TokenKind = "api" | "node" | "join";

export interface TokenRecord {
  /** `hashToken(raw)`: the primary key. */
  hash: string;
  kind: TokenKind;
  user_id: string | null;
  node_id: string | null;
  created_at: IsoTimestamp;
  expires_at: IsoTimestamp | null;
  revoked_at: IsoTimestamp | null;
}

export interface NewToken {
  hash: string;
  kind: TokenKind;
  user_id?: string | null;
  node_id?: string | null;
  expires_at?: IsoTimestamp | null;
}

export const WORKSPACE_HEALTH_STATES = ["unknown", "healthy", "degraded", "unhealthy"] as const;
/** `degraded`: running with at least one unhealthy service (SPEC §3). Same values as the wire's WORKSPACE_HEALTH. */
export type WorkspaceHealth = (typeof WORKSPACE_HEALTH_STATES)[number];

export interface WorkspaceRepo {
  owner: string;
  name: string;
  branch: string;
  /** Clone URL of `origin` (the user's fork, or the repository itself). */
  url: string;
  /** Checked-out commit, once known. */
  commit?: string;
  /** Clone URL of the original repository when `origin` is a fork. */
  upstream?: string;
  is_fork: boolean;
}

export interface WorkspaceErrorInfo {
  /** A catalog code (errors.ts). */
  code: string;
  message: string;
  /** The create phase that failed (state.ts CREATE_PHASES), when one did. */
  phase?: string;
}

export interface WorkspaceRecord {
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
  repo: WorkspaceRepo;
  /** The resolved project configuration (JSON). */
  config: JsonObject;
  error: WorkspaceErrorInfo | null;
  handle: Handle | null;
  idempotency_key: string | null;
  created_at: IsoTimestamp;
  updated_at: IsoTimestamp;
}

export interface NewWorkspace {
  workspace_name: string;
  owner_id: string;
  provider: string;
  repo: WorkspaceRepo;
  /** Defaults to `newId("workspace")`. */
  workspace_id?: string;
  /** Defaults to `pending`. */
  status?: WorkspaceState;
  health?: WorkspaceHealth;
  image?: string | null;
  node_id?: string | null;
  ssh_port?: number | null;
  host_key?: string | null;
  config?: JsonObject;
  error?: WorkspaceErrorInfo | null;
  handle?: Handle | null;
  /** Unique per owner: creating again with the same key returns the first workspace. */
  idempotency_key?: string | null;
}

/** What `workspaces.update` may change; identity, owner and timestamps are not patchable (other keys are ignored). */
export const WORKSPACE_PATCH_FIELDS = ["status", "health", "provider", "image", "node_id", "ssh_port", "host_key", "repo", "config", "error", "handle"] as const;
export type WorkspacePatch = Partial<Pick<WorkspaceRecord, (typeof WORKSPACE_PATCH_FIELDS)[number]>>;

export interface WorkspaceCreateResult {
  workspace: WorkspaceRecord;
  /** False when an existing workspace was returned for the same idempotency key. */
  created: boolean;
}

export interface WorkspaceListQuery {
  /** Without it, every status but `deleted`. */
  status?: WorkspaceState | readonly WorkspaceState[];
  /** Default 50. */
  limit?: number;
  /** Default 0. */
  offset?: number;
}

export interface WorkspacePage {
  items: WorkspaceRecord[];
  /** Matches before limit/offset. */
  total: number;
}

export interface WorkspaceUpdateOptions {
  /** Compare-and-set: the update applies only when the current status is one of these, else `invalid_transition`. */
  expectStatus?: WorkspaceState | readonly WorkspaceState[];
}

export interface PhaseRecord {
  /** A create phase (state.ts CREATE_PHASES). Unique per workspace: recording it again replaces it. */
  name: string;
  started_at: IsoTimestamp;
  duration_ms: number;
}

export interface ServiceRecord {
  workspace_id: string;
  name: string;
  status: ServiceState;
  health: Health;
  /** Port inside the container. */
  port: number | null;
  /** Port on the user's machine (`ports.allocateLocal`). */
  local_port: number | null;
  depends_on: string[];
  last_check: IsoTimestamp | null;
  last_error: string | null;
  updated_at: IsoTimestamp;
}

/** What `services.upsert` may set besides the name (other keys are ignored). */
export const SERVICE_UPSERT_FIELDS = ["status", "health", "port", "local_port", "depends_on", "last_check", "last_error"] as const;
/** Fields not given keep their current value (or the default for a new service: pending, unknown, null, []). */
export type ServiceUpsert = { name: string } & Partial<Pick<ServiceRecord, (typeof SERVICE_UPSERT_FIELDS)[number]>>;

/** `offline` after missed heartbeats (SPEC §6: three missed = offline). */
export type NodeStatus = "online" | "offline";

/** As the agent reports it at registration (wire NodeCapacitySchema). */
export interface NodeCapacity {
  /** Most workspaces the node takes. */
  max_workspaces: number;
  cpu?: number;
  memory_bytes?: number;
  disk_bytes?: number;
}

export interface NodeRecord {
  node_id: string;
  /** Unique: registering the same name again returns the same node_id. */
  name: string;
  /** Provider plugin names the agent has loaded (`lxc`, `docker`, …). */
  providers: string[];
  /** Host users' SSH clients connect to. */
  ssh_host: string;
  /** Inclusive SSH port range (`--ssh-ports`, default 2222-2299). */
  ssh_port_range: [number, number];
  capacity: NodeCapacity;
  labels: Record<string, string>;
  status: NodeStatus;
  last_heartbeat: IsoTimestamp | null;
  /** Whatever the last heartbeat reported (provider health, load, version). */
  info: JsonObject;
  registered_at: IsoTimestamp;
  updated_at: IsoTimestamp;
}

export interface NodeRegistration {
  name: string;
  providers: string[];
  ssh_host: string;
  ssh_port_range: [number, number];
  capacity: NodeCapacity;
  labels?: Record<string, string>;
  /** Replaces `info` when given (e.g. the agent's version); kept otherwise. */
  info?: JsonObject;
}

export interface NodeHeartbeat {
  /** Defaults to the store's clock. */
  at?: IsoTimestamp;
  /** Defaults to `online`. */
  status?: NodeStatus;
  info?: JsonObject;
}

export type CommandStatus = "queued" | "delivered" | "succeeded" | "failed";

export interface CommandError {
  /** A catalog code (errors.ts). */
  code: string;
  message: string;
  details?: JsonObject;
  /** The create phase that failed, when one did. */
  phase?: string;
}

export interface CommandRecord {
  command_id: string;
  node_id: string;
  /** Not a foreign key: orphan clean-up targets workspaces that have no row. */
  workspace_id: string | null;
  type: string;
  payload: JsonObject;
  /**
   * Values kept in the store's process memory only (e.g. a clone token, SPEC §6):
   * never persisted, returned by `claim`, dropped on completion. Absent after a restart.
   */
  secrets?: Record<string, string>;
  status: CommandStatus;
  /** How many times `claim` has handed it out. */
  attempts: number;
  created_at: IsoTimestamp;
  delivered_at: IsoTimestamp | null;
  completed_at: IsoTimestamp | null;
  result: JsonObject | null;
  error: CommandError | null;
}

export interface NewCommand {
  node_id: string;
  workspace_id?: string | null;
  type: string;
  payload?: JsonObject;
  secrets?: Record<string, string>;
}

export interface ClaimOptions {
  /** Most commands returned. */
  limit: number;
  /** A delivered command not completed for this long is delivered again (at-least-once). */
  redeliverAfterMs: number;
}

export interface CommandOutcome {
  ok: boolean;
  result?: JsonObject;
  error?: CommandError;
}

// ---------------------------------------------------------------------------------------
// Repositories

export interface UserRepository {
  /** Duplicate username or github_id → `user_exists`. */
  create(user: NewUser): Promise<UserRecord>;
  get(user_id: string): Promise<UserRecord | undefined>;
  getByGithubId(github_id: number): Promise<UserRecord | undefined>;
  getByUsername(username: string): Promise<UserRecord | undefined>;
  /** Idempotent per (user, fingerprint); `added` is false when the key was already there. Unknown user → `user_not_found`. */
  addKey(user_id: string, key: { public_key: string; fingerprint: string }): Promise<{ added: boolean; key: SshKeyRecord }>;
  /** In the order added. */
  listKeys(user_id: string): Promise<SshKeyRecord[]>;
}

export interface TokenRepository {
  /** Duplicate hash → `invalid_request`; unknown user → `user_not_found`; unknown node → `not_found`. */
  create(token: NewToken): Promise<TokenRecord>;
  /** Only a token that is neither revoked nor expired (by the store's clock). */
  findByHash(hash: string): Promise<TokenRecord | undefined>;
  /** True when a live token was revoked now. */
  revoke(hash: string): Promise<boolean>;
  /** Every token of the user, revoked and expired included, oldest first. */
  listForUser(user_id: string): Promise<TokenRecord[]>;
}

export interface WorkspaceRepository {
  /**
   * Name taken by another (not deleted) workspace of the same owner → `workspace_exists`;
   * same owner + idempotency_key as an existing workspace → that workspace, `created: false`.
   * Unknown owner → `user_not_found`; unknown node → `not_found`.
   */
  create(workspace: NewWorkspace): Promise<WorkspaceCreateResult>;
  get(workspace_id: string): Promise<WorkspaceRecord | undefined>;
  /** The owner's workspace of that name that is not `deleted`. */
  getByName(owner_id: string, workspace_name: string): Promise<WorkspaceRecord | undefined>;
  /** Oldest first. */
  list(owner_id: string, query?: WorkspaceListQuery): Promise<WorkspacePage>;
  /** Every workspace row placed on the node, any status, oldest first. */
  listByNode(node_id: string): Promise<WorkspaceRecord[]>;
  /** All owners, oldest first; without a status filter, every status but `deleted`. */
  listAll(query?: { status?: WorkspaceState | readonly WorkspaceState[] }): Promise<WorkspaceRecord[]>;
  /** Atomic compare-and-set on status (see options). Unknown id → `workspace_not_found`. */
  update(workspace_id: string, patch: WorkspacePatch, options?: WorkspaceUpdateOptions): Promise<WorkspaceRecord>;
  /** Removes the row with its phases, services and port allocations. False when absent. */
  delete(workspace_id: string): Promise<boolean>;
}

export interface PhaseRepository {
  /** Unknown workspace → `workspace_not_found`. */
  record(workspace_id: string, phase: PhaseRecord): Promise<void>;
  /** Ordered by started_at, then by first recording. */
  list(workspace_id: string): Promise<PhaseRecord[]>;
  clear(workspace_id: string): Promise<void>;
}

export interface ServiceRepository {
  /** Unknown workspace → `workspace_not_found`. */
  upsert(workspace_id: string, service: ServiceUpsert): Promise<ServiceRecord>;
  /** In the order first upserted. */
  list(workspace_id: string): Promise<ServiceRecord[]>;
}

export interface NodeRepository {
  /** Same name again → same node_id, fields replaced, status `online`. */
  register(node: NodeRegistration): Promise<NodeRecord>;
  get(node_id: string): Promise<NodeRecord | undefined>;
  /** Ordered by name. */
  list(): Promise<NodeRecord[]>;
  /** Unknown node → `not_found`. */
  heartbeat(node_id: string, beat?: NodeHeartbeat): Promise<NodeRecord>;
  /** Unknown node → `not_found`. */
  setStatus(node_id: string, status: NodeStatus): Promise<NodeRecord>;
}

export interface CommandRepository {
  /** Status `queued`. Unknown node → `not_found`. */
  enqueue(command: NewCommand): Promise<CommandRecord>;
  /**
   * Oldest first: queued commands, and delivered ones not completed within
   * `redeliverAfterMs`; marks them delivered now. Atomic: two concurrent claims never
   * both receive a command inside its redelivery window.
   */
  claim(node_id: string, options: ClaimOptions): Promise<CommandRecord[]>;
  /**
   * Unknown command → `not_found`; another node's command → `forbidden`.
   * Completing again (a duplicate result) returns the first outcome unchanged.
   */
  complete(node_id: string, command_id: string, outcome: CommandOutcome): Promise<CommandRecord>;
  get(command_id: string): Promise<CommandRecord | undefined>;
  /** Queued and delivered (not completed) commands of the node, oldest first. */
  listPending(node_id: string): Promise<CommandRecord[]>;
}

export interface PortRepository {
  /**
   * The lowest free port of the inclusive range on that node, atomically: never the
   * same (node, port) twice, even under concurrent calls. A workspace holds at most one
   * SSH port: asking again returns it (or moves it when the node changed).
   * Range full → `port_pool_exhausted`; unknown workspace → `workspace_not_found`; unknown node → `not_found`.
   */
  allocateSsh(node_id: string, workspace_id: string, range: readonly [number, number]): Promise<number>;
  releaseSsh(workspace_id: string): Promise<void>;
  /**
   * A port on the user's machine, from LOCAL_PORT_BASE upward, unique per user and stable:
   * the same (workspace, service) always gets the same port until released.
   */
  allocateLocal(user_id: string, workspace_id: string, service: string): Promise<number>;
  releaseLocal(workspace_id: string): Promise<void>;
}

export interface Store {
  readonly users: UserRepository;
  readonly tokens: TokenRepository;
  readonly workspaces: WorkspaceRepository;
  readonly phases: PhaseRepository;
  readonly services: ServiceRepository;
  readonly nodes: NodeRepository;
  readonly commands: CommandRepository;
  readonly ports: PortRepository;
  close(): Promise<void>;
}

/** Options every Store implementation accepts. */
export interface StoreOptions {
  /** The clock for timestamps, expiry and redelivery; default `() => new Date()`. */
  now?: () => Date;
}
