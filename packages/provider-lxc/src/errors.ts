// Backend errors become catalog codes here, at the provider's edge.
import { NexusError, isNexusError, toNexusError } from "@nexus/core";
import { IncusApiError } from "./incus/client.js";

export const PLUGIN = "lxc";

export function isNotFound(error: unknown): boolean {
  return error instanceof IncusApiError && (error.status === 404 || /\bnot found\b/i.test(error.backendMessage));
}

export interface ErrorContext {
  /** What was being done, for the message ("provision", "exec", "stop"...). */
  action: string;
  instance?: string;
}

/** The base image alias is not on the node (Incus then says "Image not provided for instance creation"). */
export function imageMissingError(image: string, cause: unknown): NexusError {
  const backend = cause instanceof IncusApiError ? cause.backendMessage : String(cause);
  return new NexusError("provision_failed", `lxc: image ${JSON.stringify(image)} is not available on the node (${backend})`, {
    cause,
    details: { plugin: PLUGIN, image, backend },
    hint: `Run \`nexus node image build\` to build and import ${image}, or set the lxc provider's \`image\` option.`,
  });
}

export function mapIncusError(error: unknown, context: ErrorContext): NexusError {
  if (isNexusError(error)) return error;
  if (!(error instanceof IncusApiError)) return toNexusError(error, { plugin: PLUGIN });
  const details = {
    plugin: PLUGIN,
    action: context.action,
    ...(context.instance ? { instance: context.instance } : {}),
    status: error.status,
    backend: error.backendMessage,
  };
  if (context.instance && isNotFound(error)) {
    return new NexusError("workspace_not_found", `lxc: container ${context.instance} does not exist`, { cause: error, details });
  }
  if (/instance is not running/i.test(error.backendMessage)) {
    return new NexusError("invalid_transition", `lxc: ${context.instance ?? "the container"} is not running`, {
      cause: error,
      details,
      hint: "Start the workspace first: `nexus workspace start <name>`.",
    });
  }
  if (context.action === "provision") {
    const portBusy = /address already in use/i.test(error.backendMessage);
    return new NexusError("provision_failed", `lxc: could not create ${context.instance ?? "the container"}: ${error.backendMessage}`, {
      cause: error,
      details,
      ...(portBusy ? { hint: "The SSH port is taken on the node by another process; free it or use another port." } : {}),
    });
  }
  return new NexusError("internal_error", `lxc: ${context.action} failed: ${error.backendMessage}`, { cause: error, details });
}
