// Users, their SSH keys, and token hashes, over node:sqlite.
import {
  NexusError,
  newId,
  toIsoTimestamp,
  type NewToken,
  type NewUser,
  type SshKeyRecord,
  type TokenKind,
  type TokenRecord,
  type TokenRepository,
  type UserRecord,
  type UserRepository,
} from "@nexus/core";
import { requireNode, requireUser, type SqliteDb } from "./sqlite-db.js";

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
