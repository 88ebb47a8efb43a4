// Where a GitHub token can come from, each a small function the AuthProvider tries in
// order: the environment, the GitHub CLI's stored login, the OAuth device flow.
import { execFile } from "node:child_process";
import { NexusError, Secret, silentLogger, type DeviceCodePrompt, type Logger } from "@nexus/core";
import type { GithubEndpoints } from "./endpoints.js";

/** Scopes nexus asks for: clone private repos and fork (repo), who you are (read:user), upload SSH keys. */
export const GITHUB_SCOPES = ["repo", "read:user", "admin:public_key"] as const;

// A broader scope covers a narrower one; write:public_key is all a key upload needs.
const COVERED_BY: Record<string, string[]> = { "read:user": ["user"], "admin:public_key": ["write:public_key"] };

/** The scopes nexus needs that a classic token's granted scopes (x-oauth-scopes) lack. */
export function missingScopes(granted: readonly string[]): string[] {
  const has = new Set(granted);
  return GITHUB_SCOPES.filter((scope) => !has.has(scope) && !(COVERED_BY[scope] ?? []).some((broader) => has.has(broader)));
}

export const TOKEN_ENV_VARS = ["NEXUS_GITHUB_TOKEN", "GITHUB_TOKEN"] as const;

// Header-safe: a token goes into `Authorization: token …`.
const TOKEN_PATTERN = /^[\x21-\x7e]{1,512}$/;

/** Validates a token from any source; the value is never echoed. */
export function checkToken(raw: string, from: string): Secret {
  const token = raw.trim();
  if (!TOKEN_PATTERN.test(token)) {
    throw new NexusError("invalid_request", `the GitHub token from ${from} is not a token (empty, too long, or contains spaces or control characters)`, {
      details: { source: from },
      hint: "Pass a GitHub personal access token or OAuth token, e.g. `gh auth token | nexus auth github --with-token`.",
    });
  }
  return new Secret(token);
}

export function tokenFromEnv(env: Readonly<Record<string, string | undefined>>): { token: Secret; variable: string } | null {
  for (const variable of TOKEN_ENV_VARS) {
    const value = env[variable];
    if (value !== undefined && value.trim() !== "") return { token: checkToken(value, variable), variable };
  }
  return null;
}

export interface GhOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** The GitHub host (`github.com` or an Enterprise host). */
  host: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  log?: Logger;
}

/**
 * `gh auth token --hostname HOST`: the token of a logged-in GitHub CLI. null when gh is
 * not installed, not logged in to that host, or does not answer in time. The host is
 * always named, so a GH_HOST in the environment cannot hand us another host's token.
 */
export function tokenFromGh(options: GhOptions): Promise<Secret | null> {
  const log = options.log ?? silentLogger;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.env)) if (value !== undefined) env[key] = value;
  env.GH_PROMPT_DISABLED = "1";
  env.GH_NO_UPDATE_NOTIFIER = "1";
  return new Promise((resolve) => {
    execFile(
      "gh",
      ["auth", "token", "--hostname", options.host],
      { env, timeout: options.timeoutMs ?? 3000, maxBuffer: 64 * 1024, encoding: "utf8", windowsHide: true, ...(options.signal ? { signal: options.signal } : {}) },
      (error, stdout) => {
        if (error) {
          const code = (error as NodeJS.ErrnoException).code;
          log.debug({ code: typeof code === "string" ? code : undefined, exit: typeof code === "number" ? code : undefined }, code === "ENOENT" ? "gh is not installed" : "gh has no token for this host");
          resolve(null);
          return;
        }
        const value = stdout.trim();
        if (!TOKEN_PATTERN.test(value)) {
          log.debug("gh printed no usable token");
          resolve(null);
          return;
        }
        resolve(new Secret(value));
      },
    );
  });
}

export interface DeviceFlowOptions {
  endpoints: GithubEndpoints;
  clientId: string;
  scopes?: readonly string[];
  onDeviceCode: (prompt: DeviceCodePrompt) => void;
  signal?: AbortSignal;
  userAgent?: string;
}

/** The OAuth device flow: shows a code, waits until the user enters it at the verification URL. */
export async function tokenFromDeviceFlow(options: DeviceFlowOptions): Promise<{ token: Secret; scopes: string[] }> {
  const [{ createOAuthDeviceAuth }, { Octokit }] = await Promise.all([import("@octokit/auth-oauth-device"), import("octokit")]);
  // A bare request function: the flow polls at GitHub's own interval, so no retry or throttling layers.
  const { request } = new Octokit({
    baseUrl: options.endpoints.webUrl,
    userAgent: options.userAgent ?? "nexus",
    retry: { enabled: false },
    throttle: { enabled: false },
    ...(options.signal ? { request: { signal: options.signal } } : {}),
  });
  const auth = createOAuthDeviceAuth({
    clientType: "oauth-app",
    clientId: options.clientId,
    scopes: [...(options.scopes ?? GITHUB_SCOPES)],
    request,
    onVerification: (verification) => {
      options.onDeviceCode({
        verificationUri: verification.verification_uri,
        userCode: verification.user_code,
        expiresInSeconds: verification.expires_in,
      });
    },
  });
  try {
    const authentication = await auth({ type: "oauth" });
    return { token: new Secret(authentication.token), scopes: authentication.scopes ?? [] };
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw deviceFlowError(error, options);
  }
}

function deviceFlowError(error: unknown, options: DeviceFlowOptions): NexusError {
  const code = (error as { response?: { data?: { error?: unknown } } }).response?.data?.error;
  const message = (error as Error).message ?? String(error);
  switch (code) {
    case "access_denied":
      return new NexusError("auth_required", "GitHub login was cancelled: the device code was denied", { cause: error, hint: "Run `nexus auth github` again and approve the request." });
    case "expired_token":
      return new NexusError("auth_required", "GitHub login timed out: the device code expired before it was entered", { cause: error, hint: "Run `nexus auth github` again and enter the code within its time limit." });
    case "incorrect_client_credentials":
    case "device_flow_disabled":
    case "unsupported_grant_type":
      return new NexusError("invalid_config", `GitHub refused the device flow for OAuth app ${options.clientId} (${code})`, {
        cause: error,
        details: { client_id: options.clientId, error: code },
        hint: "Set NEXUS_GITHUB_CLIENT_ID to an OAuth app with the device flow enabled, or log in with `gh auth login` or `nexus auth github --with-token`.",
      });
    default:
      return new NexusError("auth_required", `GitHub device login failed: ${message}`, {
        cause: error,
        details: { web_url: options.endpoints.webUrl },
      });
  }
}
