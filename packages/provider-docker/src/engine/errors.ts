import { NexusError, isNexusError } from "@nexus/core";

/** A non-2xx answer from the Engine, before it is mapped to a catalog code at the provider's edge. */
export class DockerApiError extends Error {
  readonly status: number;
  readonly method: string;
  readonly path: string;

  constructor(status: number, message: string, request: { method: string; path: string }) {
    super(message);
    this.name = "DockerApiError";
    this.status = status;
    this.method = request.method;
    this.path = request.path;
  }
}

/** Errors of the transport itself: the Engine is not there (or not ours to talk to). */
const UNREACHABLE_CODES = new Set([
  "ENOENT", "ECONNREFUSED", "EACCES", "EPERM", "ECONNRESET", "EPIPE", "ENOTFOUND", "EAI_AGAIN",
  "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_SOCKET", "UND_ERR_CLOSED", "UND_ERR_DESTROYED",
]);

export function transportErrorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 4; current = (current as { cause?: unknown }).cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && UNREACHABLE_CODES.has(code)) return code;
  }
  return undefined;
}

export function unreachable(endpoint: string, error: unknown, code: string): NexusError {
  const hint = code === "EACCES" || code === "EPERM"
    ? `Give this user access to the Docker socket (e.g. add it to the \`docker\` group), then run \`nexus doctor\`.`
    : code === "ENOENT"
      ? "Start the Docker daemon (dockerd) or point the provider at it with the `socket`/`host` option or DOCKER_HOST."
      : "Check that dockerd is running and reachable, then run `nexus doctor`.";
  return new NexusError("provider_unavailable", `docker: cannot reach the Docker Engine at ${endpoint} (${code})`, {
    cause: error,
    details: { provider: "docker", endpoint, code },
    hint,
  });
}

/** Turns the caller's cancellation into an error: its own NexusError reason, or a timeout naming the operation. */
export function cancelled(signal: AbortSignal, operation: string): NexusError {
  const reason: unknown = signal.reason;
  if (isNexusError(reason)) return reason;
  return new NexusError("timeout", `docker: ${operation} was cancelled`, {
    cause: reason,
    details: { provider: "docker", operation },
  });
}

export const IMAGE_HINT = "Build and import the base image with `nexus node image build --provider docker`.";

export interface ErrorContext {
  /** What was being done, for the message: "create container", "exec". */
  operation: string;
  /** The code for Engine errors nothing more specific matches. */
  fallback: "provision_failed" | "internal_error";
  image?: string;
  sshPort?: number;
  containerId?: string;
}

/** The provider's edge: every Engine failure leaves as a NexusError with a catalog code. */
export function toProviderError(error: unknown, context: ErrorContext): NexusError {
  if (isNexusError(error)) return error;
  const details: Record<string, unknown> = { provider: "docker", operation: context.operation };
  if (context.containerId) details.container = context.containerId;
  if (!(error instanceof DockerApiError)) {
    const message = error instanceof Error ? error.message : String(error);
    return new NexusError("internal_error", `docker: ${context.operation} failed: ${message}`, { cause: error, details });
  }
  details.status = error.status;
  details.engineMessage = error.message;
  if (/no such container/i.test(error.message)) {
    const which = context.containerId ? `container ${context.containerId}` : "the container";
    return new NexusError("workspace_not_found", `docker: ${which} does not exist`, { cause: error, details });
  }
  if (/no such image|pull access denied|repository does not exist/i.test(error.message)) {
    return new NexusError("provision_failed", `docker: image ${context.image ?? "(unknown)"} is not present on this node`, {
      cause: error,
      details: { ...details, image: context.image },
      hint: IMAGE_HINT,
    });
  }
  if (/port is already allocated|address already in use/i.test(error.message)) {
    const port = context.sshPort === undefined ? "the SSH port" : `SSH port ${context.sshPort}`;
    return new NexusError("provision_failed", `docker: ${port} is already in use on this node`, {
      cause: error,
      details: { ...details, sshPort: context.sshPort },
      hint: "Another container or process holds the port; the server should allocate a free one. Run `nexus doctor` to find the holder.",
    });
  }
  return new NexusError(context.fallback, `docker: ${context.operation} failed: ${error.message}`, { cause: error, details });
}
