// What a benchmark (or a caller that wants proof) needs after provision: the node port
// answering with an SSH banner.
import { NexusError, readSshBanner } from "@nexus/core";
import { abortedError } from "./incus/abort.js";

export interface SshBannerOptions {
  host?: string;
  port: number;
  signal?: AbortSignal;
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Pause between attempts while the port refuses or closes (default 20 ms). */
  retryMs?: number;
}

/** Resolves with the server's identification line (`SSH-2.0-OpenSSH_9.2p1 …`) once the port answers. */
export async function waitForSshBanner(options: SshBannerOptions): Promise<string> {
  const host = options.host ?? "127.0.0.1";
  const deadline = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  let lastError: unknown;
  while (!signal.aborted) {
    try {
      return await readSshBanner({ host, port: options.port, signal });
    } catch (error) {
      lastError = error;
      await new Promise((r) => setTimeout(r, options.retryMs ?? 20));
    }
  }
  if (options.signal?.aborted) throw abortedError(`wait for sshd on ${host}:${options.port}`, options.signal.reason);
  throw new NexusError("timeout", `no SSH banner from ${host}:${options.port}: ${(lastError as Error | undefined)?.message ?? "timed out"}`, {
    details: { phase: "ssh", host, port: options.port },
  });
}
