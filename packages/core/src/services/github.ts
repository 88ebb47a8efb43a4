// Verifies GitHub bearer tokens with `GET /user` on the configured GitHub API (SPEC §5).
// Successful verifications are cached by token hash (never the token itself) for five
// minutes, so a CLI making many calls with a GitHub token costs one GitHub round trip.
import { request } from "undici";
import { z } from "zod";
import { NexusError } from "../errors.js";
import { hashToken } from "../contracts/store.js";
import type { Clock } from "./clock.js";

export interface GithubIdentity {
  login: string;
  id: number;
}

// The two fields of GitHub's `public-user` / `private-user` schemas that identify the account.
const GithubUserSchema = z.object({ login: z.string().min(1), id: z.int().positive() });

const MAX_CACHED = 10_000;

export interface GithubVerifierOptions {
  apiUrl: string;
  clock: Clock;
  ttlMs: number;
  timeoutMs: number;
}

export class GithubVerifier {
  readonly #cache = new Map<string, { identity: GithubIdentity; expires: number }>();

  constructor(private readonly options: GithubVerifierOptions) {}

  async verify(token: string): Promise<GithubIdentity> {
    const key = hashToken(token);
    const now = this.options.clock.now().getTime();
    const cached = this.#cache.get(key);
    if (cached && cached.expires > now) return cached.identity;
    this.#cache.delete(key);
    const identity = await this.#fetchUser(token);
    if (this.#cache.size >= MAX_CACHED) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(key, { identity, expires: now + this.options.ttlMs });
    return identity;
  }

  async #fetchUser(token: string): Promise<GithubIdentity> {
    const url = `${this.options.apiUrl}/user`;
    let response;
    try {
      response = await request(url, {
        method: "GET",
        headers: {
          authorization: `Bearer ${token}`,
          accept: "application/vnd.github+json",
          "x-github-api-version": "2022-11-28",
          "user-agent": "nexus-server",
        },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (cause) {
      const timedOut = cause instanceof Error && (cause.name === "TimeoutError" || cause.name === "AbortError");
      throw new NexusError(timedOut ? "timeout" : "internal_error", `cannot verify the GitHub token: ${url} ${timedOut ? "did not answer in time" : "cannot be reached"}`, {
        details: { github_api_url: this.options.apiUrl },
        hint: "Check the server's --github-api-url (NEXUS_GITHUB_API_URL) and its network access to GitHub.",
        cause,
      });
    }
    const text = await response.body.text();
    if (response.statusCode === 401 || response.statusCode === 403) {
      throw new NexusError("auth_required", "GitHub rejected the token", {
        details: { github_status: response.statusCode },
        hint: "Log in again with `nexus auth github`.",
      });
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const parsed = GithubUserSchema.safeParse(body);
    if (response.statusCode !== 200 || !parsed.success) {
      throw new NexusError("internal_error", `cannot verify the GitHub token: ${url} answered HTTP ${response.statusCode}`, {
        details: { github_api_url: this.options.apiUrl, github_status: response.statusCode },
        hint: "Check the server's --github-api-url (NEXUS_GITHUB_API_URL).",
      });
    }
    return { login: parsed.data.login, id: parsed.data.id };
  }
}
