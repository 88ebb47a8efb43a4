// An in-process GitHub for tests: the REST endpoints and OAuth device flow nexus uses,
// with state (users, tokens, keys, repositories, forks) and GitHub's failure modes —
// bad tokens, missing scopes, duplicate keys, primary and secondary rate limits, 5xx,
// slow fork creation. Bodies follow GitHub's OpenAPI description; a test validates
// every recorded response against it. Git itself is not served: repositories carry
// a clone_url that tests may point at local repositories.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  atLeast,
  errorBody,
  fullRepository,
  gitRefBody,
  keyBody,
  privateUser,
  type EmulatedKey,
  type EmulatedRepo,
  type EmulatedUser,
  type Permission,
  type Site,
} from "./shapes.js";

export type { EmulatedKey, EmulatedRepo, EmulatedUser, Permission } from "./shapes.js";

export interface GithubEmulatorOptions {
  /** Serve the REST API under this path, as GitHub Enterprise Server does (`/api/v3`). Default: the root. */
  apiPrefix?: string;
  /** clone_url of a repository (default `<web>/<owner>/<name>.git`); point it at local repositories in tests. */
  cloneUrl?: (owner: string, name: string) => string;
  /** ssh_url of a repository (default `git@<host>:<owner>/<name>.git`). */
  sshUrl?: (owner: string, name: string) => string;
}

export interface AddRepoInput {
  owner: string;
  name: string;
  private?: boolean;
  description?: string | null;
  default_branch?: string;
  branches?: string[];
  /** KiB; 0 makes an empty repository (no commits). Default 128. */
  size?: number;
  /** Other users' access. */
  collaborators?: Record<string, Permission>;
  clone_url?: string;
  ssh_url?: string;
}

export type InjectedFailure =
  | { kind: "status"; status: number; message?: string }
  | { kind: "secondary-rate-limit"; retryAfterSeconds?: number }
  | { kind: "primary-rate-limit"; resetAt?: Date; status?: 403 | 429 };

export interface FailureMatch {
  method?: string;
  /** API path without the prefix (`/user`, `/repos/o/r/forks`), or a pattern. */
  path: string | RegExp;
}

export interface DeviceFlowConfig {
  clientId: string;
  /** Who approves the code: the user the token is issued for. */
  login: string;
  /** Token polls answered `authorization_pending` before the outcome (default 1). Infinity waits for approveDevice(). */
  pendingPolls?: number;
  outcome?: "approve" | "deny" | "expire";
  /** Seconds between polls the client is told (default 0 here; GitHub says 5). */
  interval?: number;
}

export interface RecordedExchange {
  /** `api` for the REST API, `web` for the OAuth endpoints. */
  plane: "api" | "web";
  method: string;
  /** Path without the API prefix and without the query. */
  path: string;
  /** The OpenAPI path template that answered (`/repos/{owner}/{repo}`), when one did. */
  operation?: string;
  status: number;
  headers: Record<string, string>;
  requestBody: unknown;
  responseBody: unknown;
}

interface TokenInfo {
  login: string;
  scopes: string[];
}

interface DeviceCode {
  deviceCode: string;
  userCode: string;
  clientId: string;
  scopes: string[];
  polls: number;
  approved: boolean;
  used: boolean;
}

interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  viewer: EmulatedUser | undefined;
  token: TokenInfo | undefined;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

type RouteHandler = (req: Request, params: string[]) => Reply;

interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  handler: RouteHandler;
}

const DOCS = "https://docs.github.com/rest";
const RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api";

export class GithubEmulator {
  /** Origin of the emulator, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** REST API base URL to give clients (NEXUS_GITHUB_API_URL). */
  readonly apiUrl: string;
  /** Web base URL (device flow). */
  readonly webUrl: string;
  /** host:port, as git URLs and `gh --hostname` name it. */
  readonly host: string;
  /** Every request answered, in order. */
  readonly exchanges: RecordedExchange[] = [];
  /** How many GETs a newly created fork answers 404 to. */
  forkDelay = 0;

  readonly #server: ReturnType<typeof createServer>;
  readonly #prefix: string;
  readonly #options: GithubEmulatorOptions;
  readonly #users = new Map<string, EmulatedUser>();
  readonly #tokens = new Map<string, TokenInfo>();
  readonly #repos = new Map<string, EmulatedRepo>();
  readonly #keys: EmulatedKey[] = [];
  readonly #failures: Array<{ match: FailureMatch; failure: InjectedFailure; remaining: number }> = [];
  readonly #deviceCodes = new Map<string, DeviceCode>();
  readonly #routes: Route[];
  #rateLimit: { resetAt: Date; status: 403 | 429 } | undefined;
  #deviceFlow: DeviceFlowConfig | undefined;
  #nextId = 1000;

  private constructor(server: ReturnType<typeof createServer>, origin: string, options: GithubEmulatorOptions) {
    this.#server = server;
    this.#options = options;
    this.#prefix = (options.apiPrefix ?? "").replace(/\/+$/, "");
    this.url = origin;
    this.apiUrl = `${origin}${this.#prefix}`;
    this.webUrl = origin;
    this.host = new URL(origin).host;
    this.#routes = this.#defineRoutes();
  }

  static async start(options: GithubEmulatorOptions = {}): Promise<GithubEmulator> {
    let emulator: GithubEmulator | undefined;
    const server = createServer((req, res) => {
      // A bug in a handler answers 500 (and shows in the recorded exchanges) instead of crashing the test run.
      emulator!.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json; charset=utf-8" });
        res.end(JSON.stringify(errorBody(`emulator error: ${(error as Error).message}`, 500, DOCS)));
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    emulator = new GithubEmulator(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, options);
    return emulator;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // ---- state

  addUser(login: string, init: { name?: string | null; email?: string | null; id?: number } = {}): EmulatedUser {
    return this.#addAccount(login, "User", init);
  }

  addOrg(login: string): EmulatedUser {
    return this.#addAccount(login, "Organization", {});
  }

  #addAccount(login: string, type: EmulatedUser["type"], init: { name?: string | null; email?: string | null; id?: number }): EmulatedUser {
    const user: EmulatedUser = {
      login,
      id: init.id ?? this.#nextId++,
      type,
      name: init.name === undefined ? login : init.name,
      email: init.email ?? null,
      created_at: "2020-01-01T00:00:00Z",
    };
    this.#users.set(login.toLowerCase(), user);
    return user;
  }

  user(login: string): EmulatedUser | undefined {
    return this.#users.get(login.toLowerCase());
  }

  /** A classic token for the user (default scopes: what nexus asks for). */
  issueToken(login: string, options: { token?: string; scopes?: string[] } = {}): string {
    if (!this.user(login)) throw new Error(`emulator: no user ${login}`);
    const token = options.token ?? `gho_${randomBytes(18).toString("base64url")}`;
    this.#tokens.set(token, { login, scopes: options.scopes ?? ["repo", "read:user", "admin:public_key"] });
    return token;
  }

  revokeToken(token: string): void {
    this.#tokens.delete(token);
  }

  addRepo(input: AddRepoInput): EmulatedRepo {
    const owner = this.user(input.owner) ?? this.addUser(input.owner);
    const now = "2024-01-01T00:00:00Z";
    const defaultBranch = input.default_branch ?? "main";
    const repo: EmulatedRepo = {
      id: this.#nextId++,
      owner,
      name: input.name,
      description: input.description ?? null,
      private: input.private ?? false,
      fork: false,
      default_branch: defaultBranch,
      branches: input.branches ?? [defaultBranch],
      size: input.size ?? 128,
      clone_url: input.clone_url ?? this.#cloneUrl(owner.login, input.name),
      ssh_url: input.ssh_url ?? this.#sshUrl(owner.login, input.name),
      collaborators: new Map(Object.entries(input.collaborators ?? {}).map(([login, permission]) => [login.toLowerCase(), permission])),
      created_at: now,
      updated_at: now,
      pushed_at: now,
      hiddenGets: 0,
    };
    this.#repos.set(repoKey(owner.login, input.name), repo);
    return repo;
  }

  repo(owner: string, name: string): EmulatedRepo | undefined {
    return this.#repos.get(repoKey(owner, name));
  }

  repos(): EmulatedRepo[] {
    return [...this.#repos.values()];
  }

  keysOf(login: string): EmulatedKey[] {
    return this.#keys.filter((k) => k.login.toLowerCase() === login.toLowerCase());
  }

  addKey(login: string, key: string, title = "existing key"): EmulatedKey {
    const entry: EmulatedKey = { id: this.#nextId++, login, key: normaliseKey(key), title, created_at: "2024-01-01T00:00:00Z" };
    this.#keys.push(entry);
    return entry;
  }

  /** The next `times` requests matching `match` fail as described. */
  failNext(match: FailureMatch, failure: InjectedFailure, times = 1): void {
    this.#failures.push({ match, failure, remaining: times });
  }

  /** Every API request is refused as over the primary rate limit until `resetAt`; null lifts it. */
  setRateLimit(limit: { resetAt: Date; status?: 403 | 429 } | null): void {
    this.#rateLimit = limit ? { resetAt: limit.resetAt, status: limit.status ?? 403 } : undefined;
  }

  configureDeviceFlow(config: DeviceFlowConfig): void {
    this.#deviceFlow = config;
  }

  /** Approves a device code as the configured user, as if they entered it on the web. */
  approveDevice(userCode: string): void {
    for (const code of this.#deviceCodes.values()) if (code.userCode === userCode) code.approved = true;
  }

  #cloneUrl(owner: string, name: string): string {
    return this.#options.cloneUrl?.(owner, name) ?? `${this.webUrl}/${owner}/${name}.git`;
  }

  #sshUrl(owner: string, name: string): string {
    return this.#options.sshUrl?.(owner, name) ?? `git@${new URL(this.webUrl).hostname}:${owner}/${name}.git`;
  }

  get #site(): Site {
    return { apiUrl: this.apiUrl, webUrl: this.webUrl, host: this.host };
  }

  // ---- HTTP

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", this.url);
    const method = (req.method ?? "GET").toUpperCase();
    const body = parseBody(text, req.headers["content-type"]);
    if (url.pathname.startsWith("/login/")) {
      const reply = this.#web(method, url.pathname, body);
      return this.#send(res, { plane: "web", method, path: url.pathname, requestBody: body }, reply);
    }
    const inPrefix = this.#prefix === "" || url.pathname === this.#prefix || url.pathname.startsWith(`${this.#prefix}/`);
    const path = inPrefix ? url.pathname.slice(this.#prefix.length) || "/" : url.pathname;
    const exchange = { plane: "api" as const, method, path, requestBody: body };
    if (!inPrefix) return this.#send(res, exchange, { status: 404, body: errorBody("Not Found", 404, DOCS) });

    const auth = /^(?:token|bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const token = auth === undefined ? undefined : this.#tokens.get(auth);
    const viewer = token ? this.user(token.login) : undefined;
    const limits = this.#limitHeaders(viewer);
    const scopeHeaders: Record<string, string> = token ? { "x-oauth-scopes": token.scopes.join(", ") } : {};
    const reply = (r: Reply, operation?: string): Promise<void> =>
      this.#send(res, { ...exchange, ...(operation ? { operation } : {}) }, { ...r, headers: { ...limits, ...scopeHeaders, ...r.headers } });

    const route = this.#match(method, path);
    if (auth !== undefined && !token) return reply({ status: 401, body: errorBody("Bad credentials", 401, DOCS) }, route?.route.template);
    if (this.#rateLimit) {
      const limited = this.#primaryRateLimited(viewer, this.#rateLimit.resetAt, this.#rateLimit.status);
      return reply(limited, route?.route.template);
    }
    const failure = this.#takeFailure(method, path);
    if (failure) return reply(this.#failureReply(failure, viewer), route?.route.template);
    if (!route) return reply({ status: 404, body: errorBody("Not Found", 404, DOCS) });
    return reply(route.route.handler({ method, path, query: url.searchParams, body, viewer, token }, route.params), route.route.template);
  }

  async #send(res: ServerResponse, exchange: Omit<RecordedExchange, "status" | "headers" | "responseBody">, reply: Reply): Promise<void> {
    const headers: Record<string, string> = {
      "content-type": "application/json; charset=utf-8",
      "x-github-request-id": `${randomBytes(2).toString("hex").toUpperCase()}:${randomBytes(3).toString("hex").toUpperCase()}:${randomBytes(4).toString("hex").toUpperCase()}`,
      ...(exchange.plane === "api" ? { "x-github-api-version-selected": "2022-11-28" } : {}),
      ...reply.headers,
    };
    this.exchanges.push({ ...exchange, status: reply.status, headers, responseBody: reply.body });
    res.writeHead(reply.status, headers);
    res.end(reply.body === undefined ? "" : JSON.stringify(reply.body));
  }

  #match(method: string, path: string): { route: Route; params: string[] } | undefined {
    for (const route of this.#routes) {
      if (route.method !== method) continue;
      const found = route.pattern.exec(path);
      if (found) return { route, params: found.slice(1).map((p) => decodeURIComponent(p)) };
    }
    return undefined;
  }

  #limitHeaders(viewer: EmulatedUser | undefined): Record<string, string> {
    const limit = viewer ? 5000 : 60;
    const used = this.exchanges.filter((e) => e.plane === "api").length + 1;
    const reset = this.#rateLimit?.resetAt ?? new Date(Date.now() + 3600_000);
    return {
      "x-ratelimit-limit": String(limit),
      "x-ratelimit-remaining": this.#rateLimit ? "0" : String(Math.max(limit - used, 1)),
      "x-ratelimit-reset": String(Math.floor(reset.getTime() / 1000)),
      "x-ratelimit-used": String(this.#rateLimit ? limit : used),
      "x-ratelimit-resource": "core",
    };
  }

  #primaryRateLimited(viewer: EmulatedUser | undefined, resetAt: Date, status: 403 | 429): Reply {
    const who = viewer ? `user ID ${viewer.id}` : "127.0.0.1";
    return {
      status,
      headers: {
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": String(Math.floor(resetAt.getTime() / 1000)),
        "x-ratelimit-limit": viewer ? "5000" : "60",
        "x-ratelimit-used": viewer ? "5000" : "60",
      },
      body: errorBody(`API rate limit exceeded for ${who}.`, status, `${RATE_LIMIT_DOCS}#primary-rate-limit`),
    };
  }

  #takeFailure(method: string, path: string): InjectedFailure | undefined {
    const index = this.#failures.findIndex(({ match }) =>
      (match.method === undefined || match.method.toUpperCase() === method) && (typeof match.path === "string" ? match.path === path : match.path.test(path)),
    );
    if (index === -1) return undefined;
    const entry = this.#failures[index]!;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.#failures.splice(index, 1);
    return entry.failure;
  }

  #failureReply(failure: InjectedFailure, viewer: EmulatedUser | undefined): Reply {
    switch (failure.kind) {
      case "status":
        return { status: failure.status, body: errorBody(failure.message ?? (failure.status >= 500 ? "Server Error" : "Failure"), failure.status, DOCS) };
      case "secondary-rate-limit":
        return {
          status: 403,
          headers: { "retry-after": String(failure.retryAfterSeconds ?? 1) },
          body: errorBody(
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.",
            403,
            `${RATE_LIMIT_DOCS}#about-secondary-rate-limits`,
          ),
        };
      case "primary-rate-limit":
        return this.#primaryRateLimited(viewer, failure.resetAt ?? new Date(Date.now() + 3600_000), failure.status ?? 403);
    }
  }

  // ---- REST routes

  #defineRoutes(): Route[] {
    const seg = "([^/]+)";
    const route = (method: string, template: string, pattern: RegExp, handler: RouteHandler): Route => ({ method, template, pattern, handler });
    return [
      route("GET", "/user", /^\/user$/, (req) => this.#getUser(req)),
      route("GET", "/user/keys", /^\/user\/keys$/, (req) => this.#listKeys(req)),
      route("POST", "/user/keys", /^\/user\/keys$/, (req) => this.#createKey(req)),
      route("GET", "/repos/{owner}/{repo}", new RegExp(`^/repos/${seg}/${seg}$`), (req, [o, r]) => this.#getRepo(req, o!, r!)),
      route("POST", "/repos/{owner}/{repo}/forks", new RegExp(`^/repos/${seg}/${seg}/forks$`), (req, [o, r]) => this.#createFork(req, o!, r!)),
      route("GET", "/repos/{owner}/{repo}/git/ref/{ref}", new RegExp(`^/repos/${seg}/${seg}/git/ref/(.+)$`), (req, [o, r, ref]) => this.#getRef(req, o!, r!, ref!)),
    ];
  }

  #requireUser(req: Request, scopes?: { any: string[] }): Reply | EmulatedUser {
    if (!req.viewer || !req.token) return { status: 401, body: errorBody("Requires authentication", 401, DOCS) };
    if (scopes && !scopes.any.some((s) => req.token!.scopes.includes(s))) {
      // Classic tokens without the scope get a 404, as on GitHub.
      return { status: 404, headers: { "x-accepted-oauth-scopes": scopes.any.join(", ") }, body: errorBody("Not Found", 404, DOCS) };
    }
    return req.viewer;
  }

  #getUser(req: Request): Reply {
    const viewer = this.#requireUser(req);
    if (!("login" in viewer)) return viewer;
    const owned = this.repos().filter((r) => r.owner === viewer);
    return {
      status: 200,
      headers: { "x-accepted-oauth-scopes": "" },
      body: privateUser(this.#site, viewer, { publicRepos: owned.filter((r) => !r.private).length, privateRepos: owned.filter((r) => r.private).length }),
    };
  }

  #listKeys(req: Request): Reply {
    const viewer = this.#requireUser(req, { any: ["read:public_key", "write:public_key", "admin:public_key"] });
    if (!("login" in viewer)) return viewer;
    const all = this.keysOf(viewer.login);
    const perPage = Math.min(Math.max(Number(req.query.get("per_page") ?? 30) || 30, 1), 100);
    const page = Math.max(Number(req.query.get("page") ?? 1) || 1, 1);
    const pages = Math.max(Math.ceil(all.length / perPage), 1);
    const headers: Record<string, string> = { "x-accepted-oauth-scopes": "admin:public_key, read:public_key, write:public_key" };
    if (page < pages) {
      const link = (p: number) => `<${this.apiUrl}/user/keys?per_page=${perPage}&page=${p}>`;
      headers.link = `${link(page + 1)}; rel="next", ${link(pages)}; rel="last"`;
    }
    return { status: 200, headers, body: all.slice((page - 1) * perPage, page * perPage).map((k) => keyBody(this.#site, k)) };
  }

  #createKey(req: Request): Reply {
    const viewer = this.#requireUser(req, { any: ["write:public_key", "admin:public_key"] });
    if (!("login" in viewer)) return viewer;
    const body = (req.body ?? {}) as { key?: unknown; title?: unknown };
    const docs = "https://docs.github.com/rest/users/keys#create-a-public-ssh-key-for-the-authenticated-user";
    const invalid = (message: string): Reply => ({
      status: 422,
      body: { message: "Validation Failed", errors: [{ resource: "PublicKey", code: "custom", field: "key", message }], documentation_url: docs, status: "422" },
    });
    if (typeof body.key !== "string" || !/^ssh-(rsa|dss|ed25519) |^ecdsa-sha2-nistp(256|384|521) /.test(body.key)) {
      return invalid("key is invalid. You must supply a key in OpenSSH public key format");
    }
    const key = normaliseKey(body.key);
    if (this.#keys.some((k) => k.key === key)) return invalid("key is already in use");
    const entry: EmulatedKey = { id: this.#nextId++, login: viewer.login, key, title: typeof body.title === "string" ? body.title : "", created_at: new Date().toISOString().replace(/\.\d+Z$/, "Z") };
    this.#keys.push(entry);
    return { status: 201, body: keyBody(this.#site, entry) };
  }

  /** Whether the viewer can see the repository, and with which permission. */
  #access(req: Request, repo: EmulatedRepo): { visible: boolean; permission: Permission | undefined } {
    const viewer = req.viewer;
    let permission: Permission | undefined;
    if (viewer && repo.owner === viewer) permission = "admin";
    else if (viewer) permission = repo.collaborators.get(viewer.login.toLowerCase());
    if (!permission && !repo.private && viewer) permission = "pull";
    const canReadPrivate = req.token?.scopes.includes("repo") ?? false;
    const visible = !repo.private || (permission !== undefined && canReadPrivate);
    return { visible, permission: repo.private && !canReadPrivate ? undefined : permission };
  }

  #forkCount(repo: EmulatedRepo): number {
    return this.repos().filter((r) => r.parent === repo).length;
  }

  #getRepo(req: Request, owner: string, name: string): Reply {
    const repo = this.repo(owner, name);
    const notFound: Reply = { status: 404, body: errorBody("Not Found", 404, "https://docs.github.com/rest/repos/repos#get-a-repository") };
    if (!repo) return notFound;
    if (repo.hiddenGets > 0) {
      repo.hiddenGets -= 1;
      return notFound;
    }
    const access = this.#access(req, repo);
    if (!access.visible) return notFound;
    return { status: 200, body: fullRepository(this.#site, repo, { permission: access.permission, forks: this.#forkCount(repo) }) };
  }

  #createFork(req: Request, owner: string, name: string): Reply {
    const viewer = this.#requireUser(req, { any: ["repo", "public_repo"] });
    if (!("login" in viewer)) return viewer;
    const upstream = this.repo(owner, name);
    const docs = "https://docs.github.com/rest/repos/forks#create-a-fork";
    if (!upstream || !this.#access(req, upstream).visible) return { status: 404, body: errorBody("Not Found", 404, docs) };
    const body = (req.body ?? {}) as { organization?: unknown; name?: unknown; default_branch_only?: unknown };
    let target = viewer;
    if (typeof body.organization === "string") {
      const org = this.user(body.organization);
      if (!org || org.type !== "Organization") return { status: 422, body: { message: "Validation Failed", errors: [{ resource: "Fork", code: "invalid", field: "organization" }], documentation_url: docs, status: "422" } };
      target = org;
    }
    const existing = this.repos().find((r) => r.owner === target && r.parent === upstream);
    if (existing) return { status: 202, body: fullRepository(this.#site, existing, { permission: "admin", forks: this.#forkCount(existing) }) };
    if (upstream.owner === target) return { status: 422, body: { message: "Validation Failed", errors: [{ resource: "Fork", code: "custom", message: "Cannot fork a repository you own" }], documentation_url: docs, status: "422" } };
    const wanted = typeof body.name === "string" ? body.name : upstream.name;
    let forkName = wanted;
    for (let n = 1; this.repo(target.login, forkName); n++) forkName = `${wanted}-${n}`;
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const fork: EmulatedRepo = {
      ...upstream,
      id: this.#nextId++,
      owner: target,
      name: forkName,
      fork: true,
      parent: upstream,
      source: upstream.source ?? upstream,
      branches: body.default_branch_only === true ? [upstream.default_branch] : [...upstream.branches],
      clone_url: this.#cloneUrl(target.login, forkName),
      ssh_url: this.#sshUrl(target.login, forkName),
      collaborators: new Map(),
      created_at: now,
      updated_at: now,
      hiddenGets: this.forkDelay,
    };
    this.#repos.set(repoKey(target.login, forkName), fork);
    return { status: 202, body: fullRepository(this.#site, fork, { permission: "admin", forks: 0 }) };
  }

  #getRef(req: Request, owner: string, name: string, ref: string): Reply {
    const repo = this.repo(owner, name);
    const docs = "https://docs.github.com/rest/git/refs#get-a-reference";
    if (!repo || repo.hiddenGets > 0 || !this.#access(req, repo).visible) return { status: 404, body: errorBody("Not Found", 404, docs) };
    if (repo.size === 0) return { status: 409, body: errorBody("Git Repository is empty.", 409, docs) };
    const branch = ref.replace(/^heads\//, "");
    if (!ref.startsWith("heads/") || !repo.branches.includes(branch)) return { status: 404, body: errorBody("Not Found", 404, docs) };
    return { status: 200, body: gitRefBody(this.#site, repo, branch) };
  }

  // ---- OAuth device flow (web host)

  #web(method: string, path: string, body: unknown): Reply {
    const params = (body ?? {}) as Record<string, unknown>;
    const oauthError = (error: string, description: string): Reply => ({
      status: 200,
      body: { error, error_description: description, error_uri: `https://docs.github.com/developers/apps/authorizing-oauth-apps#${error}` },
    });
    const flow = this.#deviceFlow;
    if (method === "POST" && path === "/login/device/code") {
      if (!flow || params.client_id !== flow.clientId) return oauthError("incorrect_client_credentials", "The client_id is not valid.");
      const code: DeviceCode = {
        deviceCode: randomBytes(20).toString("hex"),
        userCode: `${randomLetters(4)}-${randomLetters(4)}`,
        clientId: flow.clientId,
        scopes: typeof params.scope === "string" ? params.scope.split(/[ ,]+/).filter(Boolean) : [],
        polls: 0,
        approved: false,
        used: false,
      };
      this.#deviceCodes.set(code.deviceCode, code);
      return {
        status: 200,
        body: { device_code: code.deviceCode, user_code: code.userCode, verification_uri: `${this.webUrl}/login/device`, expires_in: 899, interval: flow.interval ?? 0 },
      };
    }
    if (method === "POST" && path === "/login/oauth/access_token") {
      if (!flow || params.client_id !== flow.clientId) return oauthError("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.");
      if (params.grant_type !== "urn:ietf:params:oauth:grant-type:device_code") return oauthError("unsupported_grant_type", "The grant type is not supported.");
      const code = typeof params.device_code === "string" ? this.#deviceCodes.get(params.device_code) : undefined;
      if (!code || code.used) return oauthError("incorrect_device_code", "The device_code provided is not valid.");
      code.polls += 1;
      if (flow.outcome === "deny") return oauthError("access_denied", "The authorization request was denied.");
      if (flow.outcome === "expire") return oauthError("expired_token", "The device_code has expired.");
      if (!code.approved && code.polls <= (flow.pendingPolls ?? 1)) return oauthError("authorization_pending", "The authorization request is still pending.");
      code.used = true;
      const token = this.issueToken(flow.login, { scopes: code.scopes });
      return { status: 200, body: { access_token: token, token_type: "bearer", scope: code.scopes.join(",") } };
    }
    return { status: 404, body: errorBody("Not Found", 404, DOCS) };
  }
}

/** Starts an emulator on 127.0.0.1 with a random port. */
export function startGithubEmulator(options: GithubEmulatorOptions = {}): Promise<GithubEmulator> {
  return GithubEmulator.start(options);
}

function repoKey(owner: string, name: string): string {
  return `${owner.toLowerCase()}/${name.toLowerCase()}`;
}

function normaliseKey(key: string): string {
  return key.trim().split(/\s+/).slice(0, 2).join(" ");
}

function randomLetters(count: number): string {
  const alphabet = "BCDFGHJKLMNPQRSTVWXZ";
  return [...randomBytes(count)].map((b) => alphabet[b % alphabet.length]).join("");
}

function parseBody(text: string, contentType: string | undefined): unknown {
  if (text === "") return undefined;
  if (contentType?.includes("application/x-www-form-urlencoded")) return Object.fromEntries(new URLSearchParams(text));
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
