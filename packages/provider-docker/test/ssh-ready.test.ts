import { createServer, type Server } from "node:net";
import t from "tap";
import { probeHost, waitForSshBanner } from "../src/ssh-ready.js";

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

t.test("connections dropped before the banner (Docker's port proxy) are retried until sshd answers", async (t) => {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    if (connections < 4) socket.destroy();
    else socket.end("a pre-banner line\r\nSSH-2.0-OpenSSH_9.2p1 Debian\r\n");
  });
  const port = await listen(server);
  t.teardown(() => server.close());
  const banner = await waitForSshBanner({ host: "127.0.0.1", port }, { signal: AbortSignal.timeout(10_000), timeoutMs: 10_000 });
  t.equal(banner, "SSH-2.0-OpenSSH_9.2p1 Debian");
  t.equal(connections, 4);
});

t.test("the check callback can stop the wait", async (t) => {
  const server = createServer((socket) => socket.destroy());
  const port = await listen(server);
  t.teardown(() => server.close());
  await t.rejects(
    waitForSshBanner({ host: "127.0.0.1", port }, { signal: AbortSignal.timeout(10_000), timeoutMs: 10_000, checkEveryMs: 0, check: async () => { throw new Error("container exited"); } }),
    /container exited/,
  );
});

t.test("gives up with timeout in phase ssh_ready, or when cancelled", async (t) => {
  const server = createServer((socket) => socket.destroy());
  const port = await listen(server);
  t.teardown(() => server.close());
  await t.rejects(waitForSshBanner({ host: "127.0.0.1", port }, { signal: AbortSignal.timeout(10_000), timeoutMs: 100 }), { code: "timeout", details: { phase: "ssh_ready" } });
  await t.rejects(waitForSshBanner({ host: "127.0.0.1", port }, { signal: AbortSignal.abort(), timeoutMs: 10_000 }), { code: "timeout", message: /cancelled/ });
});

t.test("wildcard binds are probed on loopback", async (t) => {
  t.equal(probeHost(undefined), "127.0.0.1");
  t.equal(probeHost("0.0.0.0"), "127.0.0.1");
  t.equal(probeHost("::"), "::1");
  t.equal(probeHost("10.1.2.3"), "10.1.2.3");
});
