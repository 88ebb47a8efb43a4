// How workspaces map onto Incus objects: instance names, `user.*` config keys for
// labels, and image sources.
import { createHash } from "node:crypto";
import { LABELS, NexusError, type WorkspaceSpec } from "@nexus/core";
import { IMAGE_REFERENCE } from "./options.js";

export const WORKSPACE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const WORKSPACE_ID = /^[A-Za-z0-9_-]{1,128}$/;
export const LABEL_KEY = /^[a-z0-9.-]+$/;
/** Incus instance names are hostnames: at most 63 characters. */
const MAX_INSTANCE_NAME = 63;
const INSTANCE_PREFIX = "nx-";
const SHORT_ID_LENGTH = 8;

/** The proxy device forwarding the node's SSH port to the container's sshd. */
export const SSH_DEVICE = "nexus-ssh";

/** Instance config keys carry labels under Incus's free-form `user.` namespace. */
export const USER_PREFIX = "user.";
export const configKey = (label: string): string => `${USER_PREFIX}${label}`;

function invalid(message: string, details: Record<string, unknown>): NexusError {
  return new NexusError("invalid_request", `lxc: ${message}`, { details: { plugin: "lxc", ...details } });
}

/** A stable 8-character id derived from the workspace id (ids may be case-sensitive; hostnames are not). */
export function shortId(workspaceId: string): string {
  return createHash("sha256").update(workspaceId).digest("hex").slice(0, SHORT_ID_LENGTH);
}

/** `nx-<name>-<short id>`, the workspace name shortened so the whole fits in 63 characters. */
export function instanceName(name: string, workspaceId: string): string {
  if (!WORKSPACE_NAME.test(name)) throw invalid(`workspace name ${JSON.stringify(name)} must match ${WORKSPACE_NAME}`, { name });
  if (!WORKSPACE_ID.test(workspaceId)) throw invalid(`workspace id ${JSON.stringify(workspaceId)} must match ${WORKSPACE_ID}`, { workspaceId });
  const room = MAX_INSTANCE_NAME - INSTANCE_PREFIX.length - 1 - SHORT_ID_LENGTH;
  const trimmed = name.slice(0, room).replace(/-+$/, "");
  return `${INSTANCE_PREFIX}${trimmed}-${shortId(workspaceId)}`;
}

/** The instance's `user.*` config: nexus's own labels plus the caller's. */
export function labelConfig(spec: WorkspaceSpec): Record<string, string> {
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(spec.labels ?? {})) {
    if (!LABEL_KEY.test(key)) throw invalid(`label key ${JSON.stringify(key)} must match ${LABEL_KEY}`, { label: key });
    if (typeof value !== "string" || /[\0\n\r]/.test(value)) throw invalid(`label ${key} must be a single-line string`, { label: key });
    config[configKey(key)] = value;
  }
  config[configKey(LABELS.managed)] = "true";
  config[configKey(LABELS.workspace)] = spec.workspaceId;
  config[configKey(LABELS.name)] = spec.name;
  return config;
}

/** Labels back from an instance's (unexpanded) config. */
export function labelsFromConfig(config: Record<string, string> | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(config ?? {})) {
    if (key.startsWith(USER_PREFIX) && LABEL_KEY.test(key.slice(USER_PREFIX.length))) labels[key.slice(USER_PREFIX.length)] = value;
  }
  return labels;
}

/** Well-known simplestreams image servers, as the `incus` client names them. */
export const IMAGE_REMOTES: Readonly<Record<string, string>> = {
  images: "https://images.linuxcontainers.org",
  ubuntu: "https://cloud-images.ubuntu.com/releases",
  "ubuntu-daily": "https://cloud-images.ubuntu.com/daily",
};

export type ImageSource =
  | { type: "image"; alias: string }
  | { type: "image"; alias: string; server: string; protocol: "simplestreams"; mode: "pull" };

/** `nexus/debian-12` → a local alias; `images:debian/12` → the alias on a simplestreams server. */
export function imageSource(reference: string): ImageSource {
  if (!IMAGE_REFERENCE.test(reference)) throw invalid(`image ${JSON.stringify(reference)} must be an alias or remote:alias`, { image: reference });
  const colon = reference.indexOf(":");
  if (colon === -1) return { type: "image", alias: reference };
  const remote = reference.slice(0, colon);
  const server = IMAGE_REMOTES[remote];
  if (!server) {
    throw invalid(`unknown image remote ${JSON.stringify(remote)} in ${JSON.stringify(reference)}`, { image: reference, knownRemotes: Object.keys(IMAGE_REMOTES) });
  }
  return { type: "image", alias: reference.slice(colon + 1), server, protocol: "simplestreams", mode: "pull" };
}
