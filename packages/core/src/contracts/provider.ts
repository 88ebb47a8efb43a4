import type { Op } from "./common.js";

/** Label keys every provider writes on what it creates (Incus: `user.` prefix). */
export const LABELS = {
  managed: "nexus.managed",
  workspace: "nexus.workspace",
  name: "nexus.name",
  testRun: "nexus.test-run",
} as const;

/** Handle labels with what the agent checked out, read back by the server. */
export const REPO_LABELS = { branch: "nexus.repo-branch", commit: "nexus.repo-commit" } as const;

export interface ResourceLimits {
  /** CPU cores (may be fractional on Docker). */
  cpu?: number;
  memoryBytes?: number;
  diskBytes?: number;
}

export interface WorkspaceSpec {
  /** Server-issued id (`ws_…`); becomes the `nexus.workspace` label. */
  workspaceId: string;
  /** Workspace name (`^[a-z0-9][a-z0-9-]{0,62}$`); providers derive the container name from it and the id. */
  name: string;
  /** Provider-specific image reference; undefined = the provider's base image. */
  image?: string;
  /** Node port forwarded to the container's port 22. */
  sshPort: number;
  /** Address on the node the SSH port binds to (default 0.0.0.0). */
  sshBindAddress?: string;
  /** OpenSSH public keys written to /home/dev/.ssh/authorized_keys. */
  authorizedKeys: string[];
  resources?: ResourceLimits;
  /** Extra PEM certificates appended to the container's CA bundle (corporate / intercepting proxies). */
  caBundle?: string;
  /** Extra labels (e.g. `nexus.test-run`). Keys must match `^[a-z0-9.-]+$`. */
  labels?: Record<string, string>;
}

/** A reference to a provider resource. Serialisable: it crosses the agent protocol. */
export interface Handle {
  provider: string;
  /** The backend's own id or name of the container. */
  id: string;
  workspaceId: string;
  labels: Record<string, string>;
  /** The container's SSH host public key (`ssh-ed25519 AAAA…`), known after provision. */
  hostKey?: string;
  sshPort?: number;
}

export type ObservedState = "running" | "stopped" | "creating" | "error" | "absent";

export interface Observed {
  state: ObservedState;
  /** Container address on the node's bridge, when running. */
  address?: string;
  sshPort?: number;
  labels?: Record<string, string>;
  reason?: string;
}

export interface ExecOptions {
  /** Run as this user (name or uid); default root. */
  user?: string | number;
  cwd?: string;
  env?: Record<string, string>;
  /** Bytes written to the process's stdin, then closed. */
  stdin?: string | Uint8Array;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface WriteFileOptions {
  mode?: number;
  uid?: number;
  gid?: number;
}

export interface ProviderHealth {
  ok: boolean;
  version?: string;
  reason?: string;
  warnings?: string[];
}

export interface ProviderCapabilities {
  exec: boolean;
  logs: boolean;
  snapshot: boolean;
}

export interface ProviderInstance {
  /** Never throws because the backend is down: returns ok:false with a reason. */
  health(op: Op): Promise<ProviderHealth>;
  /** Creates and starts the container, labelled; returns a handle with hostKey. Idempotent per workspaceId. */
  provision(spec: WorkspaceSpec, op: Op): Promise<Handle>;
  /** Idempotent: starting a running container is a no-op. */
  start(handle: Handle, op: Op): Promise<void>;
  /** Idempotent: stopping a stopped container is a no-op. */
  stop(handle: Handle, op: Op): Promise<void>;
  /** Removes the container and everything it owns; absent is success. */
  destroy(handle: Handle, op: Op): Promise<void>;
  /** Absent resources are `{ state: "absent" }`, not an error. */
  inspect(handle: Handle, op: Op): Promise<Observed>;
  /** Only nexus-labelled resources. */
  list(op: Op): Promise<Handle[]>;
  /** argv is passed as an array: never through a shell built from input. */
  exec(handle: Handle, argv: string[], op: Op, options?: ExecOptions): Promise<ExecResult>;
  /** Writes one file into the container (parents must exist). */
  writeFile(handle: Handle, path: string, data: string | Uint8Array, op: Op, options?: WriteFileOptions): Promise<void>;
  logs?(handle: Handle, op: Op): AsyncIterable<string>;
  snapshot?(handle: Handle, op: Op): Promise<{ id: string }>;
  dispose(): Promise<void>;
}
