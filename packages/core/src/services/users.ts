// Users (SPEC §5): registration with a verified GitHub identity, who-am-I, and the local
// user of single-machine mode.
import { NexusError } from "../errors.js";
import { hashToken, type Store, type UserRecord } from "../contracts/store.js";
import { sshPublicKeyFingerprint, sshPublicKeyProblem } from "../wire/validation.js";
import type { MeResponse, RegisterGithubResponse } from "../wire/users.js";
import type { GithubIdentity } from "./github.js";
import { TOKEN_PREFIXES, newToken } from "./tokens.js";

/** The account single-machine mode creates; it has no GitHub identity. */
export const LOCAL_USERNAME = "local";

export interface RegisterGithubInput {
  github_username: string;
  github_id: number;
  ssh_pubkey: string;
}

export class UserService {
  constructor(private readonly store: Store) {}

  /** 201 for a new user, 200 for a known one (the key is added when new); a new API token either way. */
  async registerGithub(identity: GithubIdentity, body: RegisterGithubInput): Promise<{ status: 200 | 201; response: RegisterGithubResponse }> {
    if (identity.id !== body.github_id || identity.login.toLowerCase() !== body.github_username.toLowerCase()) {
      throw new NexusError("forbidden", `the GitHub token belongs to ${identity.login} (id ${identity.id}), not ${body.github_username} (id ${body.github_id})`, {
        details: { token_login: identity.login, token_id: identity.id },
        hint: "Register with the account the token belongs to (`nexus auth status`).",
      });
    }
    let user = await this.store.users.getByGithubId(identity.id);
    const created = user === undefined;
    user ??= await this.store.users.create({ username: identity.login, github_id: identity.id });
    const fingerprint = sshPublicKeyFingerprint(body.ssh_pubkey);
    await this.store.users.addKey(user.user_id, { public_key: body.ssh_pubkey, fingerprint });
    const apiToken = await this.issueApiToken(user);
    return {
      status: created ? 201 : 200,
      response: {
        user_id: user.user_id,
        github_username: user.username,
        ssh_pubkey_fingerprint: fingerprint,
        registered_at: user.created_at,
        api_token: apiToken,
      },
    };
  }

  async me(user: UserRecord): Promise<MeResponse> {
    const keys = await this.store.users.listKeys(user.user_id);
    return {
      user_id: user.user_id,
      github_username: user.username,
      keys: keys.map((key) => ({ fingerprint: key.fingerprint, added_at: key.added_at })),
    };
  }

  /** Revokes the user's own API token (the bearer of the request); a GitHub token is revoked on GitHub, not here. */
  async revokeApiToken(user: UserRecord, token: string): Promise<{ revoked: boolean }> {
    if (!token.startsWith(TOKEN_PREFIXES.api)) {
      throw new NexusError("invalid_request", "only a nexus API token (nxs_…) can be revoked here", {
        hint: "A GitHub token is revoked on GitHub (Settings → Applications); `nexus auth logout` forgets it locally.",
      });
    }
    const hash = hashToken(token);
    const record = await this.store.tokens.findByHash(hash);
    if (record?.kind !== "api" || record.user_id !== user.user_id) return { revoked: false };
    return { revoked: await this.store.tokens.revoke(hash) };
  }

  async issueApiToken(user: UserRecord): Promise<string> {
    const token = newToken("api");
    await this.store.tokens.create({ hash: hashToken(token), kind: "api", user_id: user.user_id });
    return token;
  }

  /**
   * Single-machine mode: the local user, created on first start, and an API token for it.
   * `existingToken` (from the token file of an earlier start) is kept when still valid.
   */
  async ensureLocalUser(existingToken?: string): Promise<{ user: UserRecord; apiToken: string }> {
    const user = (await this.store.users.getByUsername(LOCAL_USERNAME)) ?? (await this.store.users.create({ username: LOCAL_USERNAME, github_id: null }));
    if (existingToken !== undefined) {
      const record = await this.store.tokens.findByHash(hashToken(existingToken));
      if (record?.kind === "api" && record.user_id === user.user_id) return { user, apiToken: existingToken };
    }
    return { user, apiToken: await this.issueApiToken(user) };
  }

  /** Registers valid OpenSSH public keys for the user (already known ones are left alone); returns how many were usable. */
  async addKeys(user: UserRecord, keys: readonly string[]): Promise<number> {
    let usable = 0;
    for (const raw of keys) {
      const key = raw.trim();
      if (key === "" || sshPublicKeyProblem(key) !== undefined) continue;
      await this.store.users.addKey(user.user_id, { public_key: key, fingerprint: sshPublicKeyFingerprint(key) });
      usable++;
    }
    return usable;
  }
}
