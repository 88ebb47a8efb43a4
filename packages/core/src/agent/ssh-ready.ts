// `ssh_ready`: the workspace's node port answers with an SSH identification line, which
// is what a user's ssh will see first. A TCP connect alone is not enough: a port
// forwarder accepts connections before sshd in the container listens.
import { NexusError } from "../errors.js";
import { readSshBanner } from "../ssh-banner.js";
import { sleep } from "./timing.js";

/** Resolves with the identification line (`SSH-2.0-OpenSSH_9.2p1 …`); polls every 50 ms until the signal aborts. */
export async function waitForSshBanner(host: string, port: number, signal: AbortSignal): Promise<string> {
  let lastError: Error | undefined;
  while (!signal.aborted) {
    try {
      return await readSshBanner({ host, port, signal });
    } catch (error) {
      lastError = error as Error;
    }
    await sleep(50, signal);
  }
  throw new NexusError("provision_failed", `no SSH server answered on ${host}:${port}: ${lastError?.message ?? "cancelled"}`, {
    details: { host, port, phase: "ssh_ready" },
  });
}
