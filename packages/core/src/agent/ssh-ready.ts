// `ssh_ready`: the workspace's node port answers with an SSH identification line, which
// is what a user's ssh will see first. A TCP connect alone is not enough: a port
// forwarder accepts connections before sshd in the container listens.
import { connect } from "node:net";
import { NexusError } from "../errors.js";
import { sleep } from "./timing.js";

function readBanner(host: string, port: number, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let data = "";
    const done = (error: Error | undefined, banner?: string) => {
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      if (error) reject(error);
      else resolve(banner!);
    };
    const onAbort = () => done(new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      data += chunk;
      // RFC 4253 §4.2: the server may send other lines before the one starting with SSH-.
      const line = data.split("\n").find((l) => l.startsWith("SSH-"));
      if (line !== undefined && data.slice(data.indexOf(line)).includes("\n")) done(undefined, line.trim());
      else if (data.length > 8192) done(new Error("no SSH identification line in the first 8 KiB"));
    });
    socket.on("error", (error) => done(error));
    socket.on("close", () => done(new Error("the connection closed before an SSH identification line")));
  });
}

/** Resolves with the identification line (`SSH-2.0-OpenSSH_9.2p1 …`); polls every 50 ms until the signal aborts. */
export async function waitForSshBanner(host: string, port: number, signal: AbortSignal): Promise<string> {
  let lastError: Error | undefined;
  while (!signal.aborted) {
    try {
      const banner = await readBanner(host, port, signal);
      if (banner.startsWith("SSH-2.0-") || banner.startsWith("SSH-1.99-")) return banner;
      lastError = new Error(`unexpected identification ${JSON.stringify(banner.slice(0, 80))}`);
    } catch (error) {
      lastError = error as Error;
    }
    await sleep(50, signal);
  }
  throw new NexusError("provision_failed", `no SSH server answered on ${host}:${port}: ${lastError?.message ?? "cancelled"}`, {
    details: { host, port, phase: "ssh_ready" },
  });
}
