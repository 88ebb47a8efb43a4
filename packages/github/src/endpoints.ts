// Where GitHub lives: the REST API base URL and the web base URL (device flow, git host).
// github.com splits them across hosts; GitHub Enterprise Server serves the API under
// /api/v3 on the web host; GHE.com data residency uses api.<name>.ghe.com.
import { NexusError } from "@nexus/core";

export const DEFAULT_GITHUB_API_URL = "https://api.github.com";

export interface GithubEndpoints {
  /** REST API base URL without a trailing slash, e.g. `https://api.github.com`, `https://ghe.example.com/api/v3`. */
  apiUrl: string;
  /** Web base URL without a trailing slash, e.g. `https://github.com`: device flow and git. */
  webUrl: string;
  /** Host (and port, when not the default) of the web URL: what git URLs and `gh --hostname` name. */
  host: string;
  /** Host name alone (no port). */
  hostname: string;
}

export interface EndpointInput {
  apiUrl?: string | undefined;
  webUrl?: string | undefined;
  env?: Readonly<Record<string, string | undefined>>;
}

/** The API base URL for a web host: `github.com` → api.github.com, anything else → Enterprise `/api/v3`. */
export function githubApiUrlForHost(host: string): string {
  return host.toLowerCase() === "github.com" ? DEFAULT_GITHUB_API_URL : `https://${host}/api/v3`;
}

/** Resolves the endpoints from explicit options, then NEXUS_GITHUB_API_URL, then github.com. */
export function githubEndpoints(input: EndpointInput = {}): GithubEndpoints {
  const apiText = input.apiUrl ?? input.env?.NEXUS_GITHUB_API_URL ?? DEFAULT_GITHUB_API_URL;
  const api = checkedUrl(apiText, "GitHub API URL");
  const apiUrl = stripSlash(api.href);
  const web = input.webUrl === undefined ? deriveWebUrl(api) : checkedUrl(input.webUrl, "GitHub web URL");
  const webUrl = stripSlash(web.href);
  return { apiUrl, webUrl, host: web.host, hostname: web.hostname };
}

function deriveWebUrl(api: URL): URL {
  const web = new URL(api.href);
  if (api.hostname === "api.github.com") return new URL("https://github.com");
  if (/^api\.[a-z0-9-]+\.ghe\.com$/.test(api.hostname)) {
    web.hostname = api.hostname.slice("api.".length);
    web.pathname = "/";
    return web;
  }
  // Enterprise Server (and the emulator when mounted like one): strip the /api/v3 suffix.
  web.pathname = api.pathname.replace(/\/api\/v3\/?$/, "/");
  return web;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

// Tokens travel in these requests: refuse plain http except to this machine (the emulator).
function checkedUrl(text: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(what, text, "is not a URL");
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
    throw invalid(what, text, "must use https:// (plain http:// is allowed only for 127.0.0.1/localhost)");
  }
  if (url.username || url.password) throw invalid(what, url.host, "must not contain credentials");
  if (url.search || url.hash) throw invalid(what, text, "must not have a query or fragment");
  return url;
}

function invalid(what: string, shown: string, reason: string): NexusError {
  return new NexusError("invalid_config", `${what} ${JSON.stringify(shown)} ${reason}`, {
    details: { url: shown },
    hint: "Set NEXUS_GITHUB_API_URL to https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server.",
  });
}

function stripSlash(href: string): string {
  return href.replace(/\/+$/, "");
}
