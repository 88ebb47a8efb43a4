import { setTimeout as sleep } from "node:timers/promises";
import { NexusError, readSshBanner } from "@nexus/core";
import { cancelled } from "./engine/errors.js";

export interface SshTarget {
  host: string;
  port: number;
}

/** The address to probe for a port published on `bindAddress` (a wildcard bind is probed on loopback). */
export function probeHost(bindAddress: string | undefined): string {
  if (!bindAddress || bindAddress === "0.0.0.0") return "127.0.0.1";
  if (bindAddress === "::") return "::1";
  return bindAddress;
}

/** One connection attempt: the identification line, or undefined when there was none. */
export function readBanner(target: SshTarget, timeoutMs: number): Promise<string | undefined> {
  return readSshBanner({ ...target, timeoutMs }).catch(() => undefined);
}

export interface WaitForSshOptions {
  signal: AbortSignal;
  timeoutMs: number;
  /** Called between attempts (at most every `checkEveryMs`); throws to stop waiting, e.g. when the container exited. */
  check?: () => Promise<void>;
  checkEveryMs?: number;
}

/** Polls until sshd answers with its banner; `timeout` (phase ssh_ready) when it never does. */
export async function waitForSshBanner(target: SshTarget, options: WaitForSshOptions): Promise<string> {
  const started = Date.now();
  const checkEveryMs = options.checkEveryMs ?? 500;
  let lastCheck = started;
  let pause = 20;
  for (;;) {
    if (options.signal.aborted) throw cancelled(options.signal, "waiting for sshd");
    const banner = await readBanner(target, Math.min(2_000, options.timeoutMs));
    if (banner) return banner;
    const now = Date.now();
    if (now - started >= options.timeoutMs) {
      throw new NexusError("timeout", `docker: sshd did not answer on ${target.host}:${target.port} within ${Math.round(options.timeoutMs / 1000)} s`, {
        details: { provider: "docker", phase: "ssh_ready", host: target.host, port: target.port },
      });
    }
    if (options.check && now - lastCheck >= checkEveryMs) {
      lastCheck = now;
      await options.check();
    }
    try {
      await sleep(pause, undefined, { signal: options.signal });
    } catch {
      throw cancelled(options.signal, "waiting for sshd");
    }
    pause = Math.min(pause * 2, 100);
  }
}
