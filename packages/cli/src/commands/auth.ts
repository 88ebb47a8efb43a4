// `nexus auth github|status|logout`: GitHub login (env token → `gh auth token` → OAuth
// device flow, or a token piped with --with-token), stored in NEXUS_HOME/credentials.json
// (0600). A token is never printed: not in human output, JSON, errors or logs.
import type { Command } from "commander";
import { NexusError, Secret, createClient, createLogger, isNexusError, silentLogger, type CredentialSource, type DeviceCodePrompt, type Logger, type Op } from "@nexus/core";
import type { GithubClient, GithubEndpoints, GithubUser } from "@nexus/github";
import { nexusHome, readCredentials, writeCredentials, type StoredCredentials } from "../home.js";
import type { CliIO, CommandContext } from "../io.js";
import { action } from "../program.js";
import { serverSession } from "../session.js";

/** How each source is named in "token from …". */
const SOURCE_LABELS: Record<CredentialSource, string> = {
  env: "the environment",
  gh: "gh",
  device: "the device flow",
  argument: "stdin",
  stored: "stored credentials",
};

export interface GithubSession {
  token: Secret;
  source: CredentialSource;
  /** Human name of the source: `NEXUS_GITHUB_TOKEN`, `gh`, `stored credentials`… */
  origin: string;
  user: GithubUser;
  endpoints: GithubEndpoints;
  client: GithubClient;
}

function commandLog(ctx: CommandContext): Logger {
  return ctx.verbose ? createLogger({ level: "debug" }, ctx.io.stderr) : silentLogger;
}

function commandOp(ctx: CommandContext): Op {
  return { signal: new AbortController().signal, log: commandLog(ctx) };
}

/** The device code goes to stderr even with --quiet or --json: without it the login cannot finish. */
function showDeviceCode(ctx: CommandContext, prompt: DeviceCodePrompt): void {
  const minutes = Math.max(1, Math.round(prompt.expiresInSeconds / 60));
  ctx.io.stderr.write(
    `! First copy your one-time code: ${ctx.colors.bold(prompt.userCode)}\n` +
      `  Then open ${prompt.verificationUri} in your browser and enter it (it expires in ${minutes} minutes).\n`,
  );
}

/** Whether a person can see the device code and act on it. */
function canPrompt(ctx: CommandContext): boolean {
  return Boolean(ctx.io.stderr.isTTY) && ctx.io.env.CI !== "true";
}

async function githubClient(ctx: CommandContext, token: Secret): Promise<GithubClient> {
  const { createGithubClient } = await import("@nexus/github");
  return createGithubClient({ token, env: ctx.io.env, log: commandLog(ctx) });
}

async function verify(ctx: CommandContext, token: Secret): Promise<{ user: GithubUser; client: GithubClient }> {
  const client = await githubClient(ctx, token);
  return { user: await client.getAuthenticatedUser(), client };
}

function sourceLabel(source: CredentialSource, origin: string | undefined): string {
  return source === "env" && origin ? origin : SOURCE_LABELS[source];
}

/** A stored login counts only for the GitHub it was made against. */
function storedLogin(credentials: StoredCredentials, endpoints: GithubEndpoints): StoredCredentials["github"] | undefined {
  const stored = credentials.github;
  if (!stored) return undefined;
  return (stored.api_url ?? "https://api.github.com") === endpoints.apiUrl ? stored : undefined;
}

/**
 * The GitHub login other commands use: NEXUS_GITHUB_TOKEN/GITHUB_TOKEN, else the stored
 * login, else `gh auth token` or (on a terminal) the device flow — a device-flow token is
 * stored so the user is not asked again. auth_required when there is none.
 */
export async function githubSession(ctx: CommandContext): Promise<GithubSession> {
  const github = await import("@nexus/github");
  const endpoints = github.githubEndpoints({ env: ctx.io.env });
  const home = nexusHome(ctx.io.env);
  const fromEnv = github.tokenFromEnv(ctx.io.env);
  let found: { token: Secret; source: CredentialSource; origin: string } | null = fromEnv ? { token: fromEnv.token, source: "env", origin: fromEnv.variable } : null;
  if (!found) {
    const stored = storedLogin(readCredentials(home), endpoints);
    if (stored) found = { token: new Secret(stored.token), source: "stored", origin: SOURCE_LABELS.stored };
  }
  if (!found) {
    const auth = github.createGithubAuth({ log: commandLog(ctx), env: ctx.io.env, dataDir: home }, { sources: ["gh", "device"] });
    const resolved = await auth.resolve(commandOp(ctx), { interactive: canPrompt(ctx), onDeviceCode: (prompt) => showDeviceCode(ctx, prompt) });
    if (resolved) found = { token: resolved.token, source: resolved.source, origin: sourceLabel(resolved.source, resolved.origin) };
  }
  if (!found) {
    throw new NexusError("auth_required", `not logged in to GitHub (${endpoints.webUrl})`, {
      details: { api_url: endpoints.apiUrl },
      hint: "Run `nexus auth github` (or set NEXUS_GITHUB_TOKEN).",
    });
  }
  const { user, client } = await verify(ctx, found.token);
  if (found.source === "device") storeLogin(home, found.token, found.source, user.login, endpoints.apiUrl);
  return { ...found, user, endpoints, client };
}

function storeLogin(home: string, token: Secret, source: CredentialSource, login: string, apiUrl: string): void {
  const credentials = readCredentials(home);
  writeCredentials(home, { ...credentials, github: { token: token.reveal(), source, login, api_url: apiUrl } });
}

async function readStdin(ctx: CommandContext): Promise<string> {
  const stdin = ctx.io.stdin;
  if (!stdin) throw new NexusError("invalid_request", "--with-token reads the token from standard input, but there is none");
  if (stdin.isTTY) ctx.io.stderr.write("Paste the token, then press Ctrl-D.\n");
  let text = "";
  for await (const chunk of stdin) {
    text += typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8");
    if (text.length > 64 * 1024) throw new NexusError("invalid_request", "standard input is too long to be a token");
  }
  return text;
}

export interface AuthGithubResult {
  login: string;
  id: number;
  source: CredentialSource;
  api_url: string;
  scopes?: string[];
  missing_scopes?: string[];
}

/** `nexus auth github`: find a token, verify it (GET /user), store it. */
export async function authGithub(ctx: CommandContext, options: { device?: boolean; withToken?: boolean } = {}): Promise<AuthGithubResult> {
  if (options.device && options.withToken) {
    throw new NexusError("invalid_request", "--device and --with-token cannot be used together", { hint: "Pick one way to log in." });
  }
  const github = await import("@nexus/github");
  const endpoints = github.githubEndpoints({ env: ctx.io.env });
  const home = nexusHome(ctx.io.env);
  let token: Secret;
  let source: CredentialSource;
  let origin: string | undefined;
  if (options.withToken) {
    token = github.checkToken(await readStdin(ctx), "stdin");
    source = "argument";
  } else {
    const auth = github.createGithubAuth({ log: commandLog(ctx), env: ctx.io.env, dataDir: home }, options.device ? { sources: ["device"] } : {});
    const resolved = await auth.resolve(commandOp(ctx), {
      interactive: options.device === true || canPrompt(ctx),
      onDeviceCode: (prompt) => showDeviceCode(ctx, prompt),
    });
    if (!resolved) {
      throw new NexusError("auth_required", "no GitHub token found: NEXUS_GITHUB_TOKEN and GITHUB_TOKEN are unset and `gh` has no login", {
        details: { api_url: endpoints.apiUrl },
        hint: "Run `nexus auth github --device` to log in in the browser, or pipe a token: `nexus auth github --with-token < token.txt`.",
      });
    }
    ({ token, source, origin } = resolved);
  }
  const { user } = await verify(ctx, token);
  storeLogin(home, token, source, user.login, endpoints.apiUrl);
  const missing = user.scopes ? github.missingScopes(user.scopes) : [];
  const result: AuthGithubResult = {
    login: user.login,
    id: user.id,
    source,
    api_url: endpoints.apiUrl,
    ...(user.scopes ? { scopes: user.scopes } : {}),
    ...(missing.length ? { missing_scopes: missing } : {}),
  };
  ctx.say(`${ctx.colors.green("✓")} Logged in to GitHub as ${ctx.colors.bold(user.login)} (token from ${sourceLabel(source, origin)})`);
  if (missing.length) {
    ctx.warn(`${ctx.colors.yellow("warning")} the token lacks the scope${missing.length > 1 ? "s" : ""} ${missing.join(", ")}; forks, private repositories or SSH key upload may fail (log in with \`nexus auth github --device\`)`);
  }
  ctx.result(result);
  return result;
}

export interface AuthStatusResult {
  github: { login: string; id: number; source: CredentialSource; api_url: string };
  server: { url: string; token_source: string; registered: boolean; user_id?: string; github_username?: string };
}

/** `nexus auth status`: who GitHub says we are, and how the server is reached. */
export async function authStatus(ctx: CommandContext): Promise<AuthStatusResult> {
  const github = await import("@nexus/github");
  const endpoints = github.githubEndpoints({ env: ctx.io.env });
  const home = nexusHome(ctx.io.env);
  const credentials = readCredentials(home);
  const fromEnv = github.tokenFromEnv(ctx.io.env);
  const stored = storedLogin(credentials, endpoints);
  const active = fromEnv ? { token: fromEnv.token, source: "env" as const, origin: fromEnv.variable } : stored ? { token: new Secret(stored.token), source: "stored" as const, origin: `stored credentials, from ${SOURCE_LABELS[stored.source as CredentialSource] ?? stored.source}` } : undefined;
  if (!active) {
    throw new NexusError("auth_required", `not logged in to GitHub (${endpoints.webUrl})`, {
      details: { api_url: endpoints.apiUrl },
      hint: "Run `nexus auth github`.",
    });
  }
  const { user } = await verify(ctx, active.token);
  const session = serverSession(ctx);
  const registration = credentials.servers[session.url];
  const result: AuthStatusResult = {
    github: { login: user.login, id: user.id, source: active.source, api_url: endpoints.apiUrl },
    server: {
      url: session.url,
      token_source: session.tokenSource,
      registered: registration !== undefined,
      ...(registration?.user_id ? { user_id: registration.user_id } : {}),
      ...(registration?.github_username ? { github_username: registration.github_username } : {}),
    },
  };
  ctx.say(`GitHub ${endpoints.webUrl}: logged in as ${ctx.colors.bold(user.login)} (token from ${active.origin})`);
  ctx.say(
    registration
      ? `Server ${session.url}: registered as ${registration.github_username ?? user.login}${registration.user_id ? ` (${registration.user_id})` : ""}`
      : `Server ${session.url}: not registered (${session.tokenSource === "none" ? "no API token" : `token from ${session.tokenSource}`}); run \`nexus ssh setup\``,
  );
  ctx.result(result);
  return result;
}

export interface AuthLogoutResult {
  github_removed: boolean;
  servers_removed: string[];
  /** With --revoke: the servers that revoked their API token. */
  servers_revoked?: string[];
}

/** How long --revoke waits for each server. */
const REVOKE_TIMEOUT_MS = 5_000;

/** `nexus auth logout [--revoke]`: forgets the stored GitHub token and every server API token (revoking them first with --revoke). */
export async function authLogout(ctx: CommandContext, options: { revoke?: boolean } = {}): Promise<AuthLogoutResult> {
  const home = nexusHome(ctx.io.env);
  const credentials = readCredentials(home);
  const { github, servers, ...rest } = credentials;
  const result: AuthLogoutResult = { github_removed: github !== undefined, servers_removed: Object.keys(servers) };
  if (options.revoke) {
    result.servers_revoked = [];
    for (const [server, registration] of Object.entries(servers)) {
      try {
        await createClient({ server, token: registration.api_token, timeoutMs: REVOKE_TIMEOUT_MS }).revokeToken();
        result.servers_revoked.push(server);
      } catch (error) {
        // auth_required: the server no longer accepts the token, which is what revoking is for.
        if (isNexusError(error) && error.code === "auth_required") result.servers_revoked.push(server);
        // Forgetting the token locally still goes ahead: the user asked to log out.
        else ctx.warn(`${ctx.colors.yellow("note")} could not revoke the API token on ${server}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  if (result.github_removed || result.servers_removed.length) writeCredentials(home, { ...rest, servers: {} });
  ctx.say(result.github_removed ? `${ctx.colors.green("✓")} Logged out of GitHub${github?.login ? ` (${github.login})` : ""}` : "Not logged in to GitHub");
  if (result.servers_removed.length) ctx.say(`Removed the API token${result.servers_removed.length > 1 ? "s" : ""} for ${result.servers_removed.join(", ")}`);
  if (result.servers_revoked?.length) ctx.say(`Revoked on ${result.servers_revoked.join(", ")}`);
  for (const variable of ["NEXUS_GITHUB_TOKEN", "GITHUB_TOKEN", "NEXUS_TOKEN"]) {
    if (ctx.io.env[variable]) ctx.warn(`${ctx.colors.yellow("note")} ${variable} is still set in the environment and will still be used`);
  }
  ctx.result(result);
  return result;
}

export function registerAuthCommands(program: Command, io: CliIO): void {
  const auth = program.command("auth").description("log in to GitHub and see who you are");
  action(
    auth
      .command("github")
      .description("log in to GitHub: NEXUS_GITHUB_TOKEN/GITHUB_TOKEN, then `gh auth token`, then the browser (device flow)")
      .option("--device", "log in in the browser with a one-time code, even when a token is available")
      .option("--with-token", "read the token from standard input")
      .addHelpText("after", "\nExamples:\n  $ nexus auth github\n  $ nexus auth github --device\n  $ gh auth token | nexus auth github --with-token"),
    io,
    async (ctx, options: { device?: boolean; withToken?: boolean }) => {
      await authGithub(ctx, options);
    },
  );
  action(auth.command("status").description("show the GitHub login and the server registration (exit 3 when logged out)"), io, async (ctx) => {
    await authStatus(ctx);
  });
  action(
    auth
      .command("logout")
      .description("forget the stored GitHub token and server API tokens")
      .option("--revoke", "revoke the API tokens on their servers first, so that copies of them stop working too"),
    io,
    async (ctx, options: { revoke?: boolean }) => {
      await authLogout(ctx, options);
    },
  );
}
