// Repository URL checks (SPEC §6). A clone runs on a node, so a URL is an instruction
// to that node: without these checks a user could make it read its own files
// (`file:///etc`), probe its network (`https://10.0.0.1:6443/`), run commands
// (`ext::sh -c …`) or pass options to git (`--upload-pack=…`). The grammar below is
// deliberately narrower than git's, so that git can never read a URL differently
// from how it was checked.
import { posix } from "node:path";
import { fileURLToPath } from "node:url";
import { NexusError } from "../errors.js";
import { isValidGithubOwner, isValidHostname, isValidRepoName } from "./validation.js";

export type RepositoryUrlKind = "https" | "http" | "ssh" | "scp" | "file" | "path";

export interface ParsedRepositoryUrl {
  kind: RepositoryUrlKind;
  /** The URL exactly as given: it was checked in this form and is what git receives. */
  url: string;
  /** Lower-cased host for network kinds. */
  host?: string;
  /** An explicit port, when the URL names one. */
  port?: number;
  /** The SSH user (`git` in `git@github.com:…`). */
  user?: string;
  /** URL path (network kinds) or the absolute local path (`file`, `path`). */
  path: string;
  /** Set when the path is exactly `/<owner>/<name>[.git]` with valid GitHub names. */
  owner?: string;
  name?: string;
}

export type RepositoryUrlParse = { ok: true; value: ParsedRepositoryUrl } | { ok: false; reason: string };

export interface RepositoryUrlPolicy {
  /** The configured GitHub host (`github.com`, or a GitHub Enterprise host[:port]). */
  githubHost: string;
  /** More hosts an admin allows, as `host` or `host:port`. */
  allowedHosts?: readonly string[];
  /** `file://` URLs and absolute local paths: single-machine mode only. */
  allowLocal?: boolean;
  /** Plain `http://` to an allowed host (local git servers in tests); off by default. */
  allowHttp?: boolean;
}

const MAX_URL_LENGTH = 2048;
const DEFAULT_PORTS: Record<string, number> = { https: 443, http: 80, ssh: 22, scp: 22 };
const SSH_USER_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;
const PATH_SEGMENT_PATTERN = /^[A-Za-z0-9._~-]+$/;
const SUPPORTED_FORMS = "https://HOST/OWNER/REPO.git, ssh://git@HOST/OWNER/REPO.git or git@HOST:OWNER/REPO.git";

/** Replaces userinfo (`user:password@`) in a URL-like string so it can be logged or shown. */
export function redactRepositoryUrl(url: string): string {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url)) return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, "$1***@");
  // scp-like `user:password@host:path`: a ':' before the '@' can only be a password.
  const at = url.indexOf("@");
  return at > 0 && url.slice(0, at).includes(":") ? `***${url.slice(at)}` : url;
}

/** Syntax only: which form the URL has and its parts. Host policy is checkRepositoryUrl's job. */
export function parseRepositoryUrl(url: string): RepositoryUrlParse {
  if (typeof url !== "string" || url.length === 0) return fail("is empty");
  if (url.length > MAX_URL_LENGTH) return fail(`is longer than ${MAX_URL_LENGTH} characters`);
  // Local paths first: they may legitimately contain spaces.
  if (url.startsWith("/")) return parseLocalPath(url, "path");
  if (url.startsWith("-")) return fail("starts with '-' and would be read by git as an option");
  if (/[\x00-\x20\x7f]/.test(url)) return fail("contains whitespace or control characters");
  if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(url)) return fail("uses git's remote-helper syntax (`transport::address`), which is not allowed");
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1];
  if (scheme !== undefined) {
    switch (scheme) {
      case "https":
      case "http":
      case "ssh":
        return parseHierarchical(url, scheme);
      case "file":
        return parseFileUrl(url);
      default:
        return fail(`uses the unsupported scheme '${scheme}://'; use ${SUPPORTED_FORMS}`);
    }
  }
  return parseScpLike(url);
}

/**
 * Checks a repository URL against the node's policy and returns its parts; anything
 * not allowed is an `invalid_request` that says why. Credentials are never echoed.
 */
export function checkRepositoryUrl(url: string, policy: RepositoryUrlPolicy): ParsedRepositoryUrl {
  const parsed = parseRepositoryUrl(url);
  if (!parsed.ok) throw rejected(url, parsed.reason);
  const value = parsed.value;
  if (value.kind === "file" || value.kind === "path") {
    if (!policy.allowLocal) throw rejected(url, "local repositories are only allowed in single-machine mode");
    return value;
  }
  if (value.kind === "http" && !policy.allowHttp) throw rejected(url, "plain http:// is not allowed; use https://");
  const isGithub = hostMatches(value, policy.githubHost);
  if (!isGithub && !(policy.allowedHosts ?? []).some((entry) => hostMatches(value, entry))) {
    const allowed = [policy.githubHost, ...(policy.allowedHosts ?? [])].join(", ");
    throw rejected(url, `host ${hostLabel(value)} is not allowed (allowed: ${allowed})`);
  }
  if (isGithub && value.owner === undefined) {
    throw rejected(url, `a ${policy.githubHost} URL must name exactly one repository as OWNER/REPO with valid GitHub names`);
  }
  return value;
}

function fail(reason: string): RepositoryUrlParse {
  return { ok: false, reason };
}

function rejected(url: string, reason: string): NexusError {
  const shown = redactRepositoryUrl(typeof url === "string" ? url : String(url));
  const clipped = shown.length > 200 ? `${shown.slice(0, 200)}…` : shown;
  return new NexusError("invalid_request", `repository URL ${JSON.stringify(clipped)} ${reason}`, {
    details: { url: clipped, reason },
    hint: `Use ${SUPPORTED_FORMS}; pass access tokens as clone_token, never inside the URL.`,
  });
}

function hostLabel(value: ParsedRepositoryUrl): string {
  return value.port === undefined ? value.host ?? "" : `${value.host}:${value.port}`;
}

/** `entry` is `host` (default port only) or `host:port`. */
function hostMatches(value: ParsedRepositoryUrl, entry: string): boolean {
  const [entryHost, entryPort] = entry.toLowerCase().split(":", 2) as [string, string | undefined];
  if (value.host !== entryHost.replace(/\.$/, "")) return false;
  const defaultPort = DEFAULT_PORTS[value.kind];
  const port = value.port ?? defaultPort;
  return entryPort === undefined ? port === defaultPort : port === Number(entryPort);
}

function parseHierarchical(url: string, scheme: "https" | "http" | "ssh"): RepositoryUrlParse {
  const rest = url.slice(scheme.length + 3);
  const slash = rest.indexOf("/");
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? "" : rest.slice(slash);
  let hostPort = authority;
  let user: string | undefined;
  const at = authority.lastIndexOf("@");
  if (at !== -1) {
    const userinfo = authority.slice(0, at);
    if (scheme !== "ssh" || userinfo.includes(":")) {
      return fail("contains credentials; pass the token as clone_token instead");
    }
    if (!SSH_USER_PATTERN.test(userinfo)) return fail("has an invalid SSH user name");
    user = userinfo;
    hostPort = authority.slice(at + 1);
  }
  const host = splitHostPort(hostPort);
  if (typeof host === "string") return fail(host);
  const parsedPath = parseRemotePath(path);
  if (typeof parsedPath === "string") return fail(parsedPath);
  return {
    ok: true,
    value: { kind: scheme, url, host: host.host, ...(host.port === undefined ? {} : { port: host.port }), ...(user ? { user } : {}), ...parsedPath },
  };
}

// scp-like form `[user@]host:path`: git uses it only when no '/' comes before the first ':'.
function parseScpLike(url: string): RepositoryUrlParse {
  const colon = url.indexOf(":");
  const slash = url.indexOf("/");
  if (colon === -1 || (slash !== -1 && slash < colon)) {
    return fail(`is not a repository URL (local paths must be absolute); use ${SUPPORTED_FORMS}`);
  }
  const target = url.slice(0, colon);
  const path = url.slice(colon + 1);
  let user: string | undefined;
  let hostText = target;
  const at = target.lastIndexOf("@");
  if (at !== -1) {
    user = target.slice(0, at);
    hostText = target.slice(at + 1);
    if (!SSH_USER_PATTERN.test(user)) return fail("has an invalid SSH user name");
  } else if (url.indexOf("@") > colon) {
    // `user:password@host:path` puts the '@' after the first ':'.
    return fail("contains credentials; pass the token as clone_token instead");
  }
  if (hostText.startsWith("[")) return fail("uses an IPv6 literal host, which is not supported");
  if (!isValidHostname(hostText)) return fail(`has an invalid host ${JSON.stringify(hostText)}`);
  if (path.startsWith("/")) return fail("has an absolute path after ':'; use HOST:OWNER/REPO.git");
  if (/^\d+(\/|$)/.test(path)) return fail("looks like it carries a port, which scp-style URLs cannot; use ssh://HOST:PORT/OWNER/REPO.git");
  const parsedPath = parseRemotePath(`/${path}`);
  if (typeof parsedPath === "string") return fail(parsedPath);
  return { ok: true, value: { kind: "scp", url, host: hostText.toLowerCase().replace(/\.$/, ""), ...(user ? { user } : {}), ...parsedPath } };
}

function splitHostPort(text: string): { host: string; port?: number } | string {
  if (text.startsWith("[")) return "uses an IPv6 literal host, which is not supported";
  const match = /^([^:]*)(?::(\d{1,5}))?$/.exec(text);
  if (!match) return `has an invalid host ${JSON.stringify(text)}`;
  const [, host = "", portText] = match;
  if (!isValidHostname(host)) return `has an invalid host ${JSON.stringify(host)}`;
  if (portText === undefined) return { host: host.toLowerCase().replace(/\.$/, "") };
  const port = Number(portText);
  if (port < 1 || port > 65535) return `has an invalid port ${portText}`;
  return { host: host.toLowerCase().replace(/\.$/, ""), port };
}

/** A remote path: `/seg/seg…[/]`, plain segments only (no `.`/`..`, no %-escapes, no query). */
function parseRemotePath(path: string): { path: string; owner?: string; name?: string } | string {
  if (path === "" || path === "/") return "does not name a repository path";
  if (/[?#]/.test(path)) return "cannot have a query or fragment";
  if (path.includes("%")) return "cannot contain %-escapes";
  const segments = path.slice(1).replace(/\/$/, "").split("/");
  for (const segment of segments) {
    if (segment === "") return "has an empty path segment ('//')";
    if (segment === "." || segment === "..") return "cannot contain '.' or '..' path segments";
    if (segment.startsWith("-")) return "has a path segment starting with '-'";
    if (!PATH_SEGMENT_PATTERN.test(segment)) return `has a path segment with unsupported characters (${JSON.stringify(segment)})`;
  }
  if (segments.length === 2) {
    const [owner, rawName] = segments as [string, string];
    const name = rawName.replace(/\.git$/i, "");
    if (isValidGithubOwner(owner) && isValidRepoName(name)) return { path, owner, name };
  }
  return { path };
}

function parseFileUrl(url: string): RepositoryUrlParse {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail("is not a valid file:// URL");
  }
  if (parsed.host !== "" && parsed.host !== "localhost") return fail("names a remote host in a file:// URL");
  if (parsed.search !== "" || parsed.hash !== "") return fail("cannot have a query or fragment");
  let localPath: string;
  try {
    localPath = fileURLToPath(parsed);
  } catch {
    return fail("is not a valid file:// URL");
  }
  const result = parseLocalPath(localPath, "file");
  return result.ok ? { ok: true, value: { ...result.value, url } } : result;
}

function parseLocalPath(path: string, kind: "file" | "path"): RepositoryUrlParse {
  if (/[\x00-\x1f\x7f]/.test(path)) return fail("contains control characters");
  if (!posix.isAbsolute(path)) return fail("is not an absolute path");
  const normal = posix.normalize(path);
  if (normal !== path && `${normal}/` !== path) return fail("is not a normalised path (no '.', '..' or '//')");
  return { ok: true, value: { kind, url: path, path: normal === "/" ? normal : normal.replace(/\/$/, "") } };
}
