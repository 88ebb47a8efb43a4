// Nodes and their command queues, over node:sqlite.
import {
  NexusError,
  assertPortRange,
  newId,
  toIsoTimestamp,
  type ClaimOptions,
  type CommandError,
  type CommandOutcome,
  type CommandRecord,
  type CommandRepository,
  type CommandStatus,
  type JsonObject,
  type NewCommand,
  type NodeCapacity,
  type NodeHeartbeat,
  type NodeRecord,
  type NodeRegistration,
  type NodeRepository,
  type NodeStatus,
} from "@nexus/core";
import { fromJson, fromJsonOrNull, requireNode, toJson, type SqliteDb } from "./sqlite-db.js";

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
           VALUES (:node_id, :name, :providers, :ssh_host, :lo, :hi, :capacity, :labels, 'online', :now, COALESCE(:info, '{}'), :now, :now)
           ON CONFLICT (name) DO UPDATE SET providers = excluded.providers, ssh_host = excluded.ssh_host, ssh_port_lo = excluded.ssh_port_lo,
             ssh_port_hi = excluded.ssh_port_hi, capacity = excluded.capacity, labels = excluded.labels, status = 'online',
             last_heartbeat = excluded.last_heartbeat, info = COALESCE(:info, info), updated_at = excluded.updated_at
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
          info: input.info === undefined ? null : toJson(input.info),
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
