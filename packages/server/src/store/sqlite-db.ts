// The shared plumbing of the SQLite repositories: statement cache, IMMEDIATE
// transactions, JSON columns, and the error boundary that turns driver errors into
// NexusErrors.
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
      throw new NexusError("internal_error", `store: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
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
