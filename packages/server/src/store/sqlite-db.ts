// The shared plumbing of the SQLite repositories: statement cache, IMMEDIATE
// transactions, JSON columns, existence checks, and the error boundary that turns driver
// errors into NexusErrors. Every SQL text in the repositories is a constant; input only
// ever travels as bound parameters. node:sqlite is synchronous, so a method body runs to
// completion before any other call in this process; IMMEDIATE transactions extend that
// to other processes sharing the file.
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { NexusError, isNexusError } from "@nexus/core";

export class SqliteDb {
  private readonly statements = new Map<string, StatementSync>();

  constructor(
    readonly db: DatabaseSync,
    readonly now: () => Date,
  ) {}

  timestamp(): string {
    return this.now().toISOString();
  }

  /** A prepared statement for a constant SQL text (never built from input), cached. */
  sql(text: string): StatementSync {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  /**
   * Runs `fn` in a BEGIN IMMEDIATE transaction: the write lock is taken up front, so a
   * read-then-write (CAS, lowest free port) cannot interleave with another connection.
   * Driver errors leave as NexusErrors.
   */
  write<T>(fn: () => T): T {
    return this.guard(() => {
      this.db.exec("BEGIN IMMEDIATE");
      try {
        const result = fn();
        this.db.exec("COMMIT");
        return result;
      } catch (error) {
        // SQLite may already have rolled back on its own (e.g. SQLITE_FULL).
        if (this.db.isTransaction) this.db.exec("ROLLBACK");
        throw error;
      }
    });
  }

  /** Reads and single-statement writes (atomic by themselves), with the same error boundary. */
  run<T>(fn: () => T): T {
    return this.guard(fn);
  }

  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      if (isNexusError(error)) throw error;
      if (isDiskFull(error)) {
        throw new NexusError("internal_error", "the server's disk is full: the database cannot grow (SQLite: database or disk is full)", {
          details: { reason: "disk_full" },
          hint: "Free space on the disk that holds the server's data directory, then try again; reads keep working meanwhile.",
          cause: error,
        });
      }
      throw new NexusError("internal_error", `store: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
}

/** SQLite's primary result code for a write that found no room (SQLITE_FULL). */
const SQLITE_FULL = 13;

function isDiskFull(error: unknown): boolean {
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  return typeof errcode === "number" && (errcode & 0xff) === SQLITE_FULL;
}

export function toJson(value: unknown): string {
  return JSON.stringify(value);
}

export function fromJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

export function fromJsonOrNull<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

export function requireUser(d: SqliteDb, user_id: string): void {
  if (!d.sql("SELECT 1 FROM users WHERE user_id = ?").get(user_id)) {
    throw new NexusError("user_not_found", `no user ${user_id}`, { details: { user_id } });
  }
}

export function requireNode(d: SqliteDb, node_id: string): void {
  if (!d.sql("SELECT 1 FROM nodes WHERE node_id = ?").get(node_id)) {
    throw new NexusError("not_found", `no node ${node_id}`, { details: { node_id } });
  }
}

export function requireWorkspace(d: SqliteDb, workspace_id: string): void {
  if (!d.sql("SELECT 1 FROM workspaces WHERE workspace_id = ?").get(workspace_id)) {
    throw new NexusError("workspace_not_found", `no workspace ${workspace_id}`, { details: { workspace_id } });
  }
}
