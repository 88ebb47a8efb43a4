// The embedded default Store: one SQLite file through node:sqlite (no native addon).
import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Store, StoreOptions } from "@nexus/core";
import { runMigrations } from "./migrations.js";
import { SqliteDb } from "./sqlite-db.js";
import { SqliteCommands, SqliteNodes } from "./sqlite-nodes.js";
import { SqlitePorts } from "./sqlite-ports.js";
import { SqliteTokens, SqliteUsers } from "./sqlite-users.js";
import { SqlitePhases, SqliteServices, SqliteWorkspaces } from "./sqlite-workspaces.js";

export interface SqliteStoreOptions extends StoreOptions {
  /** Path of the database file, or `:memory:`. Missing parent directories are created 0700. */
  file: string;
  /** How long a write waits for another connection's lock before failing (default 5000 ms). */
  busyTimeoutMs?: number;
}

const IN_MEMORY = ":memory:";

export class SqliteStore implements Store {
  readonly users: SqliteUsers;
  readonly tokens: SqliteTokens;
  readonly workspaces: SqliteWorkspaces;
  readonly phases: SqlitePhases;
  readonly services: SqliteServices;
  readonly nodes: SqliteNodes;
  readonly commands: SqliteCommands;
  readonly ports: SqlitePorts;

  /** The underlying connection, for diagnostics (`PRAGMA integrity_check`) and tests. */
  readonly db: DatabaseSync;

  constructor(db: DatabaseSync, now: () => Date) {
    this.db = db;
    const d = new SqliteDb(db, now);
    this.users = new SqliteUsers(d);
    this.tokens = new SqliteTokens(d);
    this.workspaces = new SqliteWorkspaces(d);
    this.phases = new SqlitePhases(d);
    this.services = new SqliteServices(d);
    this.nodes = new SqliteNodes(d);
    this.commands = new SqliteCommands(d);
    this.ports = new SqlitePorts(d);
  }

  async close(): Promise<void> {
    this.commands.dropSecrets();
    if (this.db.isOpen) this.db.close();
  }
}

/** Opens (creating if needed) the database, applies pending migrations, and returns the store. */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const now = options.now ?? (() => new Date());
  if (options.file !== IN_MEMORY) prepareFile(resolve(options.file));
  const db = new DatabaseSync(options.file, { timeout: options.busyTimeoutMs ?? 5000, enableForeignKeyConstraints: true });
  try {
    // WAL lets readers run while one writer holds the lock.
    db.exec("PRAGMA foreign_keys = ON");
    if (options.file !== IN_MEMORY) {
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = NORMAL");
    }
    runMigrations(db, undefined, now);
  } catch (error) {
    db.close();
    throw error;
  }
  return new SqliteStore(db, now);
}

/**
 * The database holds token hashes and workspace details: its directory is created 0700
 * and the file 0600 before SQLite opens it (SQLite gives its -wal and -shm files the
 * database file's mode).
 */
function prepareFile(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, "a", 0o600));
  chmodSync(file, 0o600);
}
