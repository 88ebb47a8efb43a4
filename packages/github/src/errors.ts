// GitHub's HTTP failures mapped to the nexus catalog at this package's edge, so callers
// only ever see NexusError. Messages carry GitHub's own words; never a token.
import { NexusError, isNexusError, type ErrorCode } from "@nexus/core";

export interface GithubErrorContext {
  /** What was being done, for the message: "GET /user", "upload the SSH key". */
  action: string;
  /** The API base URL, named when GitHub cannot be reached. */
  apiUrl: string;
  /** Code for a 404 (default `not_found`); repository lookups use `repo_not_found`. */
  notFound?: ErrorCode;
  /** Extra details for the error (owner/name of a repository...). */
  details?: Record<string, unknown>;
}

interface HttpErrorLike {
  status: number;
  message: string;
  response?: { headers: Record<string, string | undefined>; data?: unknown };
}

function isHttpError(error: unknown): error is HttpErrorLike {
  return error instanceof Error && error.name === "HttpError" && typeof (error as { status?: unknown }).status === "number";
}

/** Rate limit facts from a 403/429, or undefined when the response is not a rate limit. */
export function rateLimitOf(status: number, headers: Record<string, string | undefined>, message: string, now = Date.now()): {
  kind: "primary" | "secondary";
  resetAt?: string;
  retryAfterSeconds: number;
  limit?: number;
  resource?: string;
} | undefined {
  if (status !== 403 && status !== 429) return undefined;
  if (headers["x-ratelimit-remaining"] === "0") {
    const resetEpoch = Number(headers["x-ratelimit-reset"]);
    const resetMs = Number.isFinite(resetEpoch) && resetEpoch > 0 ? resetEpoch * 1000 : now + 60_000;
    return {
      kind: "primary",
      resetAt: new Date(resetMs).toISOString(),
      retryAfterSeconds: Math.max(0, Math.ceil((resetMs - now) / 1000)),
      ...(headers["x-ratelimit-limit"] ? { limit: Number(headers["x-ratelimit-limit"]) } : {}),
      ...(headers["x-ratelimit-resource"] ? { resource: headers["x-ratelimit-resource"] } : {}),
    };
  }
  if (headers["retry-after"] !== undefined || /\bsecondary rate limit\b/i.test(message)) {
    const retryAfter = Number(headers["retry-after"]);
    return { kind: "secondary", retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : 60 };
  }
  return undefined;
}

/** GitHub's message without the documentation URL octokit appends. */
function githubMessage(error: HttpErrorLike): string {
  const data = error.response?.data as { message?: unknown } | undefined;
  if (data && typeof data.message === "string") return data.message;
  return error.message.replace(/ - https:\/\/docs\.github\.com\S*$/, "");
}

export function toGithubError(error: unknown, context: GithubErrorContext): NexusError {
  if (isNexusError(error)) return error;
  if (error instanceof Error && error.name === "AbortError") {
    return new NexusError("timeout", `${context.action}: GitHub did not answer in time`, {
      cause: error,
      details: { phase: "github", api_url: context.apiUrl, ...context.details },
      hint: "Try again; check NEXUS_GITHUB_API_URL and your network.",
    });
  }
  if (!isHttpError(error)) {
    return new NexusError("internal_error", `${context.action}: ${error instanceof Error ? error.message : String(error)}`, { cause: error, details: { ...context.details } });
  }
  const headers = error.response?.headers ?? {};
  const requestId = headers["x-github-request-id"];
  const details = { status: error.status, ...(requestId ? { github_request_id: requestId } : {}), ...context.details };
  if (!error.response) {
    return new NexusError("internal_error", `${context.action}: GitHub at ${context.apiUrl} cannot be reached (${error.message})`, {
      cause: error,
      details: { api_url: context.apiUrl, ...context.details },
      hint: "Check your network, or NEXUS_GITHUB_API_URL when you use GitHub Enterprise.",
    });
  }
  const message = githubMessage(error);
  const limit = rateLimitOf(error.status, headers, message);
  if (limit) {
    const when = limit.resetAt ? `resets at ${limit.resetAt}` : `retry in ${limit.retryAfterSeconds} s`;
    return new NexusError("rate_limited", `${context.action}: GitHub ${limit.kind} rate limit exceeded (${when})`, {
      cause: error,
      details: {
        ...details,
        kind: limit.kind,
        retry_after_seconds: limit.retryAfterSeconds,
        ...(limit.resetAt ? { reset_at: limit.resetAt } : {}),
        ...(limit.limit !== undefined ? { limit: limit.limit } : {}),
        ...(limit.resource ? { resource: limit.resource } : {}),
      },
      hint: limit.resetAt
        ? `GitHub allows more requests after ${limit.resetAt}; try again then.`
        : `Wait ${limit.retryAfterSeconds} s, then try again.`,
    });
  }
  switch (error.status) {
    case 401:
      return new NexusError("auth_required", `${context.action}: GitHub rejected the token (${message})`, {
        cause: error,
        details,
        hint: "Run `nexus auth github` to log in again.",
      });
    case 403:
      return new NexusError("forbidden", `${context.action}: GitHub refused (${message})`, { cause: error, details });
    case 404: {
      const code = context.notFound ?? "not_found";
      return new NexusError(code, `${context.action}: not found on GitHub (${message})`, { cause: error, details });
    }
    case 422:
      return new NexusError("invalid_request", `${context.action}: GitHub refused the request (${message})`, {
        cause: error,
        details: { ...details, errors: (error.response.data as { errors?: unknown } | undefined)?.errors ?? [] },
      });
    default:
      return new NexusError("internal_error", `${context.action}: GitHub answered ${error.status} (${message})`, {
        cause: error,
        details,
        hint: error.status >= 500 ? "GitHub is having trouble; try again in a minute." : undefined,
      });
  }
}
