// Proof that an SSH server listens: its identification line. A TCP connect alone proves
// nothing — Incus and Docker port proxies accept connections before sshd in the container
// listens, then drop them.
import { connect } from "node:net";

export interface SshBannerProbe {
  host: string;
  port: number;
  signal?: AbortSignal;
  /** Give up on this one attempt after this long (default 2 s). */
  timeoutMs?: number;
}

/** One attempt: resolves with the identification line (`SSH-2.0-OpenSSH_9.2p1 …`), rejects with why there was none. */
export function readSshBanner(probe: SshBannerProbe): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: probe.host, port: probe.port });
    let data = "";
    const done = (error: Error | undefined, banner?: string) => {
      clearTimeout(timer);
      probe.signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      if (error) reject(error);
      else resolve(banner!);
    };
    const onAbort = () => done(new Error("aborted"));
    const timer = setTimeout(() => done(new Error("no answer in time")), probe.timeoutMs ?? 2_000);
    probe.signal?.addEventListener("abort", onAbort, { once: true });
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      data += chunk;
      // RFC 4253 §4.2: the server may send other lines before the one starting with SSH-.
      const line = data.split("\n").find((l) => l.startsWith("SSH-"));
      if (line !== undefined && data.slice(data.indexOf(line)).includes("\n")) {
        const banner = line.trim();
        if (banner.startsWith("SSH-2.0-") || banner.startsWith("SSH-1.99-")) done(undefined, banner);
        else done(new Error(`unexpected identification ${JSON.stringify(banner.slice(0, 80))}`));
      } else if (data.length > 8192) done(new Error("no SSH identification line in the first 8 KiB"));
    });
    socket.on("error", (error) => done(error));
    socket.on("close", () => done(new Error("the connection closed before an SSH identification line")));
  });
}
