import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { NexusError } from "@nexus/core";
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

/**
 * One connection attempt: the server's identification line ("SSH-2.0-…"), or
 * undefined when the connection is refused or closed first. Docker's port proxy
 * accepts connections before sshd listens and then drops them, so "connected" alone
 * proves nothing: only the banner does.
 */
export function readBanner(target: SshTarget, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    let received = "";
    const done = (banner: string | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(banner);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      received += chunk;
      const lineEnd = received.indexOf("\n");
      if (lineEnd >= 0) {
        // RFC 4253 allows other lines before the identification string.
        const lines = received.split(/\r?\n/);
        const banner = lines.find((line) => line.startsWith("SSH-"));
        if (banner) done(banner);
        else if (received.length > 8192) done(undefined);
      }
    });
    socket.on("error", () => done(undefined));
    socket.on("close", () => done(undefined));
  });
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
