import t from "tap";
import { createServer, type Server } from "node:net";
import { readSshBanner } from "@nexus/core";

async function serve(onConnection: (socket: import("node:net").Socket) => void): Promise<{ port: number; server: Server }> {
  const server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as { port: number }).port, server };
}

t.test("reads the identification line, skipping lines the server sends before it", async (t) => {
  const { port, server } = await serve((s) => s.end("welcome\r\nSSH-2.0-OpenSSH_9.2p1 Debian\r\n"));
  t.teardown(() => server.close());
  t.equal(await readSshBanner({ host: "127.0.0.1", port }), "SSH-2.0-OpenSSH_9.2p1 Debian");
});

t.test("a port proxy that accepts and closes is not an SSH server", async (t) => {
  const { port, server } = await serve((s) => s.destroy());
  t.teardown(() => server.close());
  await t.rejects(readSshBanner({ host: "127.0.0.1", port }), /closed before an SSH identification line/);
});

t.test("another protocol, silence, and cancellation are rejected with the reason", async (t) => {
  const http = await serve((s) => s.end("SSH-9.9-nonsense\n"));
  const silent = await serve(() => {});
  t.teardown(() => { http.server.close(); silent.server.close(); });
  await t.rejects(readSshBanner({ host: "127.0.0.1", port: http.port }), /unexpected identification/);
  await t.rejects(readSshBanner({ host: "127.0.0.1", port: silent.port, timeoutMs: 100 }), /no answer in time/);
  const controller = new AbortController();
  const pending = readSshBanner({ host: "127.0.0.1", port: silent.port, signal: controller.signal, timeoutMs: 5_000 });
  controller.abort();
  await t.rejects(pending, /aborted/);
});
