// Who is calling (SPEC §5 "Auth"): the bearer token decides, and the route's auth kind
// says who may call it. Missing or unknown credentials are auth_required (401); valid
// credentials of the wrong kind, or a node token on another node's path, are forbidden (403).
import { NexusError } from "../errors.js";
import { hashToken, type Store, type TokenRecord, type UserRecord } from "../contracts/store.js";
import type { RouteAuth } from "../wire/routes.js";
import type { GithubIdentity, GithubVerifier } from "./github.js";
import { TOKEN_PREFIXES, sameSecret } from "./tokens.js";

export type Principal =
  | { kind: "none" }
  | { kind: "user"; user: UserRecord }
  | { kind: "github"; identity: GithubIdentity }
  | { kind: "join"; token: TokenRecord }
  | { kind: "node"; nodeId: string }
  | { kind: "admin" };

export interface AuthContext {
  /** The `:id` of a node route, as given in the path. */
  nodeId?: string;
}

const BEARER = /^Bearer[ \t]+(\S{1,8192})[ \t]*$/i;

export class AuthService {
  constructor(
    private readonly store: Store,
    private readonly github: GithubVerifier,
    private readonly adminToken: string | undefined,
  ) {}

  /** The bearer token of an Authorization header, or undefined. */
  static bearer(header: string | undefined): string | undefined {
    return header === undefined ? undefined : BEARER.exec(header)?.[1];
  }

  async authenticate(header: string | undefined, required: RouteAuth, context: AuthContext = {}): Promise<Principal> {
    if (required === "none") return { kind: "none" };
    const token = AuthService.bearer(header);
    if (token === undefined) {
      throw new NexusError("auth_required", header === undefined ? "this request needs a bearer token" : "the Authorization header is not `Bearer <token>`", {
        details: { auth: required },
        hint: authHint(required),
      });
    }
    if (this.adminToken !== undefined && sameSecret(token, this.adminToken)) {
      if (required === "admin") return { kind: "admin" };
      throw wrongKind("the admin token", required);
    }
    if (token.startsWith(TOKEN_PREFIXES.api)) {
      const record = await this.#live(token, "api", required);
      if (required !== "user") throw wrongKind("an API token", required);
      const user = record.user_id === null ? undefined : await this.store.users.get(record.user_id);
      if (!user) throw invalidToken(required);
      return { kind: "user", user };
    }
    if (token.startsWith(TOKEN_PREFIXES.node)) {
      const record = await this.#live(token, "node", required);
      if (required !== "node") throw wrongKind("a node token", required);
      if (record.node_id === null || record.node_id !== context.nodeId) {
        throw new NexusError("forbidden", "this node token belongs to another node", { details: { node_id: context.nodeId ?? null } });
      }
      return { kind: "node", nodeId: record.node_id };
    }
    if (token.startsWith(TOKEN_PREFIXES.join)) {
      const record = await this.#live(token, "join", required);
      if (required !== "join") throw wrongKind("a join token", required);
      return { kind: "join", token: record };
    }
    // Anything else can only be a GitHub token, which user routes accept.
    if (required !== "user" && required !== "github") throw invalidToken(required);
    const identity = await this.github.verify(token);
    if (required === "github") return { kind: "github", identity };
    const user = await this.store.users.getByGithubId(identity.id);
    if (!user) {
      throw new NexusError("user_not_found", `GitHub user ${identity.login} is not registered with this server`, {
        details: { github_username: identity.login },
        hint: "Run `nexus ssh setup` to register.",
      });
    }
    return { kind: "user", user };
  }

  async #live(token: string, kind: TokenRecord["kind"], required: RouteAuth): Promise<TokenRecord> {
    const record = await this.store.tokens.findByHash(hashToken(token));
    if (!record || record.kind !== kind) throw invalidToken(required);
    return record;
  }
}

function authHint(required: RouteAuth): string {
  switch (required) {
    case "join":
      return "Pass a join token from `nexus node token create` to `nexus agent start --join-token`.";
    case "node":
      return "Restart the agent so that it registers again.";
    case "admin":
      return "Use the server's admin token (NEXUS_ADMIN_TOKEN, or admin-token in the server's data directory).";
    default:
      return "Run `nexus auth github`.";
  }
}

function invalidToken(required: RouteAuth): NexusError {
  return new NexusError("auth_required", "the bearer token is not valid (unknown, expired or revoked)", { details: { auth: required }, hint: authHint(required) });
}

function wrongKind(what: string, required: RouteAuth): NexusError {
  const needs = { user: "a user's API or GitHub token", github: "a GitHub token", join: "a join token", node: "the node's token", admin: "the admin token", none: "nothing" }[required];
  return new NexusError("forbidden", `${what} cannot be used here: this route needs ${needs}`, { details: { auth: required } });
}
