// Numbered schema migrations, kept in code so the server binary carries its schema.
// A migration is never edited once released: changes are new, higher-numbered entries.
import type { DatabaseSync } from "node:sqlite";
import { NexusError } from "@nexus/core";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const INITIAL_SCHEMA = `
CREATE TABLE users (
  user_id    TEXT PRIMARY KEY,
  username   TEXT NOT NULL UNIQUE,
  github_id  INTEGER UNIQUE,
  created_at TEXT NOT NULL
) STRICT;

CREATE TABLE ssh_keys (
  seq         INTEGER PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
  public_key  TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  added_at    TEXT NOT NULL,
  UNIQUE (user_id, fingerprint)
) STRICT;

CREATE TABLE nodes (
  node_id        TEXT PRIMARY KEY,
  name           TEXT NOT NULL UNIQUE,
  providers      TEXT NOT NULL,
  ssh_host       TEXT NOT NULL,
  ssh_port_lo    INTEGER NOT NULL,
  ssh_port_hi    INTEGER NOT NULL,
  capacity       TEXT NOT NULL,
  labels         TEXT NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('online', 'offline')),
  last_heartbeat TEXT,
  info           TEXT NOT NULL,
  registered_at  TEXT NOT NULL,
  updated_at     TEXT NOT NULL,
  CHECK (ssh_port_lo BETWEEN 1 AND ssh_port_hi AND ssh_port_hi <= 65535)
) STRICT;

-- Only hashes: the server hashes every raw token before it reaches the store.
CREATE TABLE api_tokens (
  hash       TEXT PRIMARY KEY,
  kind       TEXT NOT NULL CHECK (kind IN ('api', 'node', 'join')),
  user_id    TEXT REFERENCES users(user_id) ON DELETE CASCADE,
  node_id    TEXT REFERENCES nodes(node_id) ON DELETE CASCADE,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT
) STRICT;
CREATE INDEX api_tokens_by_user ON api_tokens(user_id);

CREATE TABLE workspaces (
  seq             INTEGER PRIMARY KEY,
  workspace_id    TEXT NOT NULL UNIQUE,
  workspace_name  TEXT NOT NULL,
  owner_id        TEXT NOT NULL REFERENCES users(user_id),
  status          TEXT NOT NULL,
  health          TEXT NOT NULL,
  provider        TEXT NOT NULL,
  image           TEXT,
  node_id         TEXT REFERENCES nodes(node_id),
  ssh_port        INTEGER,
  host_key        TEXT,
  repo_owner      TEXT NOT NULL,
  repo_name       TEXT NOT NULL,
  repo_branch     TEXT NOT NULL,
  repo_url        TEXT NOT NULL,
  repo_commit     TEXT,
  repo_upstream   TEXT,
  repo_is_fork    INTEGER NOT NULL CHECK (repo_is_fork IN (0, 1)),
  config          TEXT NOT NULL,
  error           TEXT,
  handle          TEXT,
  idempotency_key TEXT,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
) STRICT;
-- A deleted workspace frees its name.
CREATE UNIQUE INDEX workspaces_owner_name ON workspaces(owner_id, workspace_name) WHERE status <> 'deleted';
CREATE UNIQUE INDEX workspaces_owner_idempotency_key ON workspaces(owner_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX workspaces_by_node ON workspaces(node_id);
CREATE INDEX workspaces_by_status ON workspaces(status);

CREATE TABLE phases (
  seq          INTEGER PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces(workspace_id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  started_at   TEXT NOT NULL,
  duration_ms  REAL NOT NULL,
  UNIQUE (workspace_id, name)
) STRICT;

CREATE TABLE services (
  seq          INTEGER PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces(workspace_id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  status       TEXT NOT NULL,
  health       TEXT NOT NULL,
  port         INTEGER,
  local_port   INTEGER,
  depends_on   TEXT NOT NULL,
  last_check   TEXT,
  last_error   TEXT,
  updated_at   TEXT NOT NULL,
  UNIQUE (workspace_id, name)
) STRICT;

-- workspace_id is not a foreign key: orphan clean-up targets workspaces without a row.
CREATE TABLE commands (
  seq          INTEGER PRIMARY KEY,
  command_id   TEXT NOT NULL UNIQUE,
  node_id      TEXT NOT NULL REFERENCES nodes(node_id) ON DELETE CASCADE,
  workspace_id TEXT,
  type         TEXT NOT NULL,
  payload      TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('queued', 'delivered', 'succeeded', 'failed')),
  attempts     INTEGER NOT NULL,
  created_at   TEXT NOT NULL,
  delivered_at TEXT,
  completed_at TEXT,
  result       TEXT,
  error        TEXT
) STRICT;
CREATE INDEX commands_pending ON commands(node_id, status, seq);

-- SSH ports: the UNIQUE pair is what makes a double allocation impossible.
CREATE TABLE port_allocations (
  node_id      TEXT NOT NULL REFERENCES nodes(node_id) ON DELETE CASCADE,
  port         INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
  workspace_id TEXT NOT NULL UNIQUE REFERENCES workspaces(workspace_id) ON DELETE CASCADE,
  allocated_at TEXT NOT NULL,
  UNIQUE (node_id, port)
) STRICT;

CREATE TABLE local_port_allocations (
  user_id      TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
  port         INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
  workspace_id TEXT NOT NULL REFERENCES workspaces(workspace_id) ON DELETE CASCADE,
  service      TEXT NOT NULL,
  allocated_at TEXT NOT NULL,
  UNIQUE (user_id, port),
  UNIQUE (workspace_id, service)
) STRICT;
`;

export const MIGRATIONS: readonly Migration[] = [{ version: 1, name: "initial", sql: INITIAL_SCHEMA }];

/**
 * Applies the pending migrations in one IMMEDIATE transaction (so two processes opening
 * the same file cannot both migrate) and records each in `schema_version`.
 * Returns the versions applied now (empty when the schema was current).
 */
export function runMigrations(db: DatabaseSync, migrations: readonly Migration[] = MIGRATIONS, now: () => Date = () => new Date()): number[] {
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version <= migrations[i - 1]!.version) throw new NexusError("internal_error", "store migrations must have increasing version numbers");
  }
  const latest = migrations.at(-1)?.version ?? 0;
  const applied: number[] = [];
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT");
    const row = db.prepare("SELECT MAX(version) AS version FROM schema_version").get() as { version: number | null };
    const current = row.version ?? 0;
    if (current > latest) {
      throw new NexusError("internal_error", `the database schema (version ${current}) is newer than this server knows (version ${latest})`, {
        hint: "Upgrade the nexus server, or point it at another data directory.",
        details: { schema_version: current, supported: latest },
      });
    }
    const record = db.prepare("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)");
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, now().toISOString());
      applied.push(migration.version);
    }
    db.exec("COMMIT");
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
  return applied;
}
