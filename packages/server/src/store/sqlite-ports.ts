// SSH and local port allocation, over node:sqlite.
import {
  LOCAL_PORT_BASE,
  LOCAL_PORT_MAX,
  NexusError,
  assertPortRange,
  type PortRepository,
} from "@nexus/core";
import { requireNode, requireUser, requireWorkspace, type SqliteDb } from "./sqlite-db.js";

// The lowest port of [lo, hi] not in the table: lo itself, or the first allocated port
// (within the range) whose successor is free. Never NULL (when lo is taken, the MIN runs
// over a set holding lo); the caller checks the result is <= hi.
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
