// What the user typed for a repository — `owner/repo`, an https URL, `git@host:owner/repo.git`
// or `ssh://git@host/owner/repo.git` — reduced to a checked owner and name. URL syntax
// and the GitHub name rules are core's, so the server and the CLI agree on them.
import { NexusError, isValidGithubOwner, parseRepositoryUrl, redactRepositoryUrl, repoNameProblem } from "@nexus/core";

export interface RepoRef {
  owner: string;
  name: string;
  /** Host the reference named, lower-cased, when it was a URL. */
  host?: string;
}

export interface ParseRepoRefOptions {
  /** The GitHub host nexus talks to (`github.com`, an Enterprise host): URLs must point at it. */
  host?: string;
}

const HINT = "Use OWNER/REPO, https://github.com/OWNER/REPO, git@github.com:OWNER/REPO.git or ssh://git@github.com/OWNER/REPO.git.";

export function parseRepoRef(input: string, options: ParseRepoRefOptions = {}): RepoRef {
  const text = typeof input === "string" ? input.trim() : "";
  const shorthand = /^([^/:@\s]+)\/([^/:@\s]+)$/.exec(text);
  if (shorthand && !text.startsWith(".")) {
    const [, owner = "", name = ""] = shorthand;
    return { owner: checkOwner(owner, text), name: checkName(name, text) };
  }
  const parsed = parseRepositoryUrl(text);
  if (!parsed.ok) throw invalid(text, parsed.reason);
  const url = parsed.value;
  if (url.kind === "file" || url.kind === "path") throw invalid(text, "is a local path, not a GitHub repository");
  if (url.owner === undefined || url.name === undefined) {
    const segments = url.path.replace(/^\/|\/$/g, "").replace(/\.git$/i, "").split("/");
    if (segments.length === 2) {
      checkOwner(segments[0] ?? "", text);
      checkName(segments[1] ?? "", text);
    }
    throw invalid(text, "must name exactly one repository as OWNER/REPO");
  }
  const host = url.host === "www.github.com" ? "github.com" : url.host;
  if (options.host !== undefined && host !== hostnameOf(options.host)) {
    throw new NexusError("invalid_request", `repository ${JSON.stringify(text)} is on ${host}, but nexus is set up for GitHub at ${options.host}`, {
      details: { input: text, host, github_host: options.host },
      hint: "Set NEXUS_GITHUB_API_URL to that host's API (https://HOST/api/v3 for GitHub Enterprise), or give OWNER/REPO.",
    });
  }
  return { owner: url.owner, name: url.name, ...(host ? { host } : {}) };
}

function hostnameOf(host: string): string {
  return host.toLowerCase().replace(/:\d+$/, "");
}

function checkOwner(owner: string, input: string): string {
  if (!isValidGithubOwner(owner)) {
    throw invalid(input, `has an invalid owner ${JSON.stringify(owner)} (1-39 letters, digits or single '-', not at either end)`);
  }
  return owner;
}

function checkName(name: string, input: string): string {
  const problem = repoNameProblem(name);
  if (problem) throw invalid(input, `has an invalid repository name: ${JSON.stringify(name)} ${problem}`);
  return name;
}

function invalid(input: string, reason: string): NexusError {
  // A URL may carry a password or token: never echo it.
  const redacted = redactRepositoryUrl(input);
  const shown = redacted.length > 200 ? `${redacted.slice(0, 200)}…` : redacted;
  return new NexusError("invalid_request", `repository ${JSON.stringify(shown)} ${reason}`, { details: { input: shown, reason }, hint: HINT });
}
