import { NexusError, isNexusError } from "@nexus/core";

/**
 * The error a cancelled call throws: the signal's own NexusError when the caller gave
 * one, otherwise `timeout` naming the phase that was interrupted.
 */
export function abortedError(phase: string, reason: unknown): NexusError {
  if (isNexusError(reason)) return reason;
  const timedOut = (reason as { name?: string } | undefined)?.name === "TimeoutError";
  return new NexusError("timeout", `lxc: ${phase} ${timedOut ? "timed out" : "was cancelled"}`, {
    cause: reason,
    details: { plugin: "lxc", phase, aborted: true },
  });
}

export function throwIfAborted(signal: AbortSignal, phase: string): void {
  if (signal.aborted) throw abortedError(phase, signal.reason);
}
