// The "github" AuthProvider: a token from the environment, then `gh auth token`, then
// (interactive only) the OAuth device flow. Tokens are Secrets from the moment they
// are read; identify() verifies one with GET /user.
import { z } from "zod";
import {
  NexusError,
  PLUGIN_API_VERSION,
  defineAuthProvider,
  type AuthProviderInstance,
  type Credentials,
  type PluginContext,
} from "@nexus/core";
import { githubEndpoints } from "./endpoints.js";

export const TOKEN_SOURCES = ["env", "gh", "device"] as const;
export type TokenSource = (typeof TOKEN_SOURCES)[number];

export const GithubAuthOptionsSchema = z.object({
  /** REST API base URL; default env NEXUS_GITHUB_API_URL, else https://api.github.com. */
  apiUrl: z.string().optional(),
  /** Web base URL for the device flow; default derived from apiUrl. */
  webUrl: z.string().optional(),
  /** OAuth app client id for the device flow; default env NEXUS_GITHUB_CLIENT_ID. */
  clientId: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, "must be an OAuth app client id").optional(),
  /** Which sources to try, in order. */
  sources: z.array(z.enum(TOKEN_SOURCES)).min(1).default([...TOKEN_SOURCES]),
  /** How long `gh auth token` may take. */
  ghTimeoutMs: z.number().int().positive().max(60_000).default(3000),
});
export type GithubAuthOptions = z.input<typeof GithubAuthOptionsSchema>;

/** Credentials plus where exactly they came from (the variable name for `env`). */
export interface GithubCredentials extends Credentials {
  origin?: string;
}

export interface GithubAuthInstance extends AuthProviderInstance {
  resolve(...args: Parameters<AuthProviderInstance["resolve"]>): Promise<GithubCredentials | null>;
}

export const githubAuth = defineAuthProvider<z.output<typeof GithubAuthOptionsSchema>>({
  name: "github",
  apiVersion: PLUGIN_API_VERSION,
  description: "GitHub login: NEXUS_GITHUB_TOKEN/GITHUB_TOKEN, `gh auth token`, or the OAuth device flow",
  options: GithubAuthOptionsSchema,
  create: (ctx, options) => createGithubAuth(ctx, options),
});

export function createGithubAuth(ctx: PluginContext, input: GithubAuthOptions = {}): GithubAuthInstance {
  const options = GithubAuthOptionsSchema.parse(input);
  const endpoints = githubEndpoints({ apiUrl: options.apiUrl, webUrl: options.webUrl, env: ctx.env });
  const clientId = options.clientId ?? ctx.env.NEXUS_GITHUB_CLIENT_ID;
  return {
    async resolve(op, { interactive, onDeviceCode }) {
      const sources = await import("./token-sources.js");
      for (const source of options.sources) {
        if (op.signal.aborted) throw op.signal.reason;
        if (source === "env") {
          const found = sources.tokenFromEnv(ctx.env);
          if (found) {
            op.log.debug({ variable: found.variable }, "GitHub token from the environment");
            return { token: found.token, source: "env", origin: found.variable };
          }
        } else if (source === "gh") {
          const token = await sources.tokenFromGh({ env: ctx.env, host: endpoints.host, timeoutMs: options.ghTimeoutMs, signal: op.signal, log: op.log });
          if (token) {
            op.log.debug({ host: endpoints.host }, "GitHub token from gh");
            return { token, source: "gh", origin: "gh auth token" };
          }
        } else if (interactive) {
          if (!clientId) {
            throw new NexusError("auth_required", "no GitHub token found, and the device flow has no OAuth client id", {
              details: { tried: options.sources.filter((s) => s !== "device") },
              hint: "Set NEXUS_GITHUB_TOKEN, run `gh auth login`, pipe a token to `nexus auth github --with-token`, or set NEXUS_GITHUB_CLIENT_ID to your OAuth app's client id.",
            });
          }
          const { token } = await sources.tokenFromDeviceFlow({
            endpoints,
            clientId,
            onDeviceCode: onDeviceCode ?? ((prompt) => op.log.warn({ verification_uri: prompt.verificationUri, user_code: prompt.userCode }, "enter the code to log in to GitHub")),
            signal: op.signal,
          });
          return { token, source: "device", origin: "device flow" };
        }
      }
      return null;
    },
    async identify(token, op) {
      const { createGithubClient } = await import("./client.js");
      const user = await createGithubClient({ token, apiUrl: endpoints.apiUrl, webUrl: endpoints.webUrl, log: op.log }).getAuthenticatedUser({ signal: op.signal });
      return { login: user.login, id: user.id, name: user.name };
    },
  };
}
