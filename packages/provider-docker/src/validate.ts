// Every string from a spec or a caller that reaches the Engine (names, labels, argv,
// paths, file contents) is checked here first; failures are invalid_request.
import { isIP } from "node:net";
import { posix } from "node:path";
import { NexusError, type ExecOptions, type WorkspaceSpec } from "@nexus/core";

const WORKSPACE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const WORKSPACE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const LABEL_KEY = /^[a-z0-9.-]+$/;
export const IMAGE_REFERENCE = /^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$/;
const PUBLIC_KEY = /^(?:ssh-ed25519|ssh-rsa|ssh-dss|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}(?: [^\r\n\0]*)?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const USER_NAME = /^(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?|\d{1,10})(?::(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}|\d{1,10}))?$/;
/** Docker refuses less than 6 MiB of memory. */
const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

function invalid(message: string, details: Record<string, unknown>): NexusError {
  return new NexusError("invalid_request", `docker: ${message}`, { details: { provider: "docker", ...details } });
}

function hasNul(value: string): boolean {
  return value.includes("\0");
}

export function validateSpec(spec: WorkspaceSpec): void {
  if (typeof spec.workspaceId !== "string" || !WORKSPACE_ID.test(spec.workspaceId)) {
    throw invalid("workspaceId must be 1-64 letters, digits, '_' or '-'", { field: "workspaceId", value: spec.workspaceId });
  }
  if (typeof spec.name !== "string" || !WORKSPACE_NAME.test(spec.name)) {
    throw invalid(`workspace name must match ${WORKSPACE_NAME}`, { field: "name", value: spec.name });
  }
  if (!Number.isInteger(spec.sshPort) || spec.sshPort < 1 || spec.sshPort > 65535) {
    throw invalid("sshPort must be an integer between 1 and 65535", { field: "sshPort", value: spec.sshPort });
  }
  if (spec.sshBindAddress !== undefined && isIP(spec.sshBindAddress) === 0) {
    throw invalid("sshBindAddress must be an IPv4 or IPv6 address", { field: "sshBindAddress", value: spec.sshBindAddress });
  }
  if (spec.image !== undefined && !IMAGE_REFERENCE.test(spec.image)) {
    throw invalid("image is not a Docker image reference", { field: "image", value: spec.image });
  }
  if (!Array.isArray(spec.authorizedKeys)) throw invalid("authorizedKeys must be a list", { field: "authorizedKeys" });
  spec.authorizedKeys.forEach((key, index) => {
    if (typeof key !== "string" || !PUBLIC_KEY.test(key.trim())) {
      throw invalid("authorizedKeys entries must be single-line OpenSSH public keys", { field: `authorizedKeys.${index}` });
    }
  });
  const cpu = spec.resources?.cpu;
  if (cpu !== undefined && (!Number.isFinite(cpu) || cpu <= 0)) {
    throw invalid("resources.cpu must be a positive number", { field: "resources.cpu", value: cpu });
  }
  const memory = spec.resources?.memoryBytes;
  if (memory !== undefined && (!Number.isInteger(memory) || memory < MIN_MEMORY_BYTES)) {
    throw invalid("resources.memoryBytes must be an integer of at least 6 MiB", { field: "resources.memoryBytes", value: memory });
  }
  if (spec.caBundle !== undefined && (typeof spec.caBundle !== "string" || hasNul(spec.caBundle) || (spec.caBundle.trim() !== "" && !spec.caBundle.includes("-----BEGIN CERTIFICATE-----")))) {
    throw invalid("caBundle must be PEM certificates", { field: "caBundle" });
  }
  for (const [key, value] of Object.entries(spec.labels ?? {})) {
    if (!LABEL_KEY.test(key)) throw invalid(`label key ${JSON.stringify(key)} must match ${LABEL_KEY}`, { field: `labels.${key}` });
    if (typeof value !== "string" || hasNul(value) || value.length > 1024) {
      throw invalid(`label ${key} must be a string of at most 1024 characters`, { field: `labels.${key}` });
    }
  }
}

export function validateExec(argv: readonly string[], options: ExecOptions): void {
  if (!Array.isArray(argv) || argv.length === 0) throw invalid("exec needs a non-empty argv", { field: "argv" });
  argv.forEach((arg, index) => {
    if (typeof arg !== "string" || hasNul(arg)) throw invalid("argv entries must be strings without NUL bytes", { field: `argv.${index}` });
  });
  if (argv[0] === "") throw invalid("argv[0] must name a program", { field: "argv.0" });
  const { user, cwd, env } = options;
  if (typeof user === "number" ? !Number.isInteger(user) || user < 0 : user !== undefined && !USER_NAME.test(user)) {
    throw invalid("user must be a user name or uid (optionally with :group)", { field: "user", value: user });
  }
  if (cwd !== undefined && (typeof cwd !== "string" || !cwd.startsWith("/") || hasNul(cwd))) {
    throw invalid("cwd must be an absolute path", { field: "cwd", value: cwd });
  }
  for (const [key, value] of Object.entries(env ?? {})) {
    if (!ENV_NAME.test(key)) throw invalid(`environment variable name ${JSON.stringify(key)} is invalid`, { field: `env.${key}` });
    if (typeof value !== "string" || hasNul(value)) throw invalid(`environment variable ${key} must be a string without NUL bytes`, { field: `env.${key}` });
  }
}

/** An absolute, normalised path to a file (not a directory), split for the archive API. */
export function splitFilePath(path: string): { dir: string; base: string } {
  if (typeof path !== "string" || !path.startsWith("/") || hasNul(path) || path.endsWith("/") || posix.normalize(path) !== path) {
    throw invalid("file path must be absolute and normalised (no '..', '//' or trailing '/')", { field: "path", value: path });
  }
  return { dir: posix.dirname(path), base: posix.basename(path) };
}
