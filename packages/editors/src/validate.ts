// Every value that reaches an editor's argv, a URL or an SSH configuration file passes
// through here first. Failures are invalid_request NexusErrors naming the field, so a
// bad value never becomes an option (`-oProxyCommand=…`), a second config line, or a
// path outside the workspace.
import { isAbsolute } from "node:path";
import { isIP } from "node:net";
import { NexusError, SERVICE_NAME_PATTERN, isValidHostname, isValidName, sshPublicKeyProblem, type EditorTarget } from "@nexus/core";

export const HOST_ALIAS_PREFIX = "nexus-";

function invalid(field: string, value: unknown, why: string): NexusError {
  return new NexusError("invalid_request", `invalid ${field} ${JSON.stringify(value)}: ${why}`, { details: { field, value } });
}

export function assertWorkspaceName(value: unknown, field = "workspace name"): string {
  if (typeof value !== "string" || !isValidName(value)) {
    throw invalid(field, value, "must be 1-63 lower-case letters, digits or '-', starting with a letter or digit");
  }
  return value;
}

/** The SSH host alias of a workspace: `nexus-<workspace>`. */
export function hostAlias(workspaceName: string): string {
  return `${HOST_ALIAS_PREFIX}${assertWorkspaceName(workspaceName)}`;
}

/** Accepts only `nexus-<valid workspace name>`, which can never be read as an option. */
export function assertHostAlias(value: unknown): string {
  if (typeof value !== "string" || !value.startsWith(HOST_ALIAS_PREFIX) || !isValidName(value.slice(HOST_ALIAS_PREFIX.length))) {
    throw invalid("SSH host alias", value, `must be ${HOST_ALIAS_PREFIX}<workspace name>`);
  }
  return value;
}

const PATH_SEGMENT = /^[A-Za-z0-9._@+-]+$/;
const MAX_REMOTE_PATH = 1024;

/**
 * A folder inside the container: absolute, no `.`/`..` segments, and only characters
 * that need no quoting in a URL, a shell word or an SSH argument.
 */
export function assertRemotePath(value: unknown): string {
  if (typeof value !== "string" || !value.startsWith("/") || value.length > MAX_REMOTE_PATH) {
    throw invalid("remote path", value, "must be an absolute path");
  }
  if (value === "/") return value;
  const segments = value.replace(/\/$/, "").slice(1).split("/");
  for (const segment of segments) {
    if (segment === "." || segment === ".." || segment === "") throw invalid("remote path", value, "may not contain '.', '..' or empty segments");
    if (!PATH_SEGMENT.test(segment)) throw invalid("remote path", value, "may only contain letters, digits, '.', '_', '@', '+', '-' and '/'");
  }
  return `/${segments.join("/")}`;
}

/** A validated editor target: the host is `nexus-<workspaceName>` and the path is safe. */
export function assertEditorTarget(target: EditorTarget): EditorTarget {
  if (typeof target !== "object" || target === null) throw invalid("editor target", target, "must be an object");
  const host = assertHostAlias(target.host);
  const workspaceName = assertWorkspaceName(target.workspaceName);
  if (host !== `${HOST_ALIAS_PREFIX}${workspaceName}`) {
    throw invalid("SSH host alias", host, `does not belong to workspace ${workspaceName} (expected ${HOST_ALIAS_PREFIX}${workspaceName})`);
  }
  return { host, workspaceName, remotePath: assertRemotePath(target.remotePath) };
}

/** A DNS name, IPv4 or IPv6 address: what may follow `HostName`. */
export function assertSshHostName(value: unknown): string {
  if (typeof value !== "string" || !(isValidHostname(value) || isIP(value) === 6)) {
    throw invalid("SSH host name", value, "must be a DNS host name or an IP address");
  }
  return value;
}

export function assertPort(value: unknown, field = "port"): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw invalid(field, value, "must be an integer between 1 and 65535");
  }
  return value;
}

// `"` cannot be escaped in ssh_config; control characters would end the line.
const UNSAFE_CONFIG_PATH = /["\x00-\x1f\x7f]/;

/** An absolute local path that can be written into ssh_config (quoted when it has spaces). */
export function assertLocalPath(value: unknown, field: string): string {
  if (typeof value !== "string" || !isAbsolute(value) || UNSAFE_CONFIG_PATH.test(value)) {
    throw invalid(field, value, "must be an absolute path without quotes or control characters");
  }
  return value;
}

/** `<type> <base64>` of a host public key; a trailing comment is accepted and dropped. */
export function assertHostKey(value: unknown): string {
  const problem = typeof value === "string" ? sshPublicKeyProblem(value.trim()) : "is not a string";
  if (problem) throw invalid("host key", value, problem);
  const [type, blob] = (value as string).trim().split(" ");
  return `${type} ${blob}`;
}

export function assertServiceName(value: unknown): string {
  if (typeof value !== "string" || !SERVICE_NAME_PATTERN.test(value)) {
    throw invalid("service name", value, "must be letters, digits, '_', '.' or '-'");
  }
  return value;
}
