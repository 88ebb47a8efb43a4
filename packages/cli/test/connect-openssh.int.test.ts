// workspace connect's SSH check with the real OpenSSH client against an in-process SSH
// server (ssh2): the check goes through ~/.ssh/config's Include, the pinned host key is
// enforced, and ssh's real messages map to the right reasons.
import t, { type Test } from "tap";
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { timingSafeEqual } from "node:crypto";
import ssh2 from "ssh2";
import { generateEd25519Pair } from "@nexus/github";
import { tempTree } from "@nexus/test-utils";
import { runCli } from "./helpers.js";
import { startFakeServer } from "./workspace-fake-server.js";

/** Accepts `dev` with `userKey`; runs nothing but answers an exec with `OK` when it is `echo OK`. */
async function startSshd(t: Test, userKey: string) {
  const host = generateEd25519Pair();
  const allowed = ssh2.utils.parseKey(userKey);
  if (allowed instanceof Error) throw allowed;
  const commands: string[] = [];
  const server = new ssh2.Server({ hostKeys: [host.private] }, (client) => {
    client.on("error", () => {});
    client.on("authentication", (ctx) => {
      if (ctx.method !== "publickey" || ctx.username !== "dev") return ctx.reject(["publickey"]);
      const key = allowed.getPublicSSH();
      if (ctx.key.algo !== allowed.type || ctx.key.data.length !== key.length || !timingSafeEqual(ctx.key.data, key)) return ctx.reject(["publickey"]);
      if (ctx.signature && allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(["publickey"]);
      ctx.accept();
    });
    client.on("ready", () => {
      client.on("session", (accept) => {
        accept().on("exec", (acceptExec, _reject, info) => {
          const stream = acceptExec();
          commands.push(info.command);
          if (info.command === "echo OK") stream.write("OK\n");
          stream.exit(0);
          stream.end();
        });
      });
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, hostKey: host.public.split(" ").slice(0, 2).join(" "), commands };
}

async function closedPort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, "127.0.0.1");
  await once(probe, "listening");
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function harness(t: Test, options: { advertisedKey?: string; acceptedKey?: string; port?: number } = {}) {
  const tree = tempTree({ home: { ".ssh": {} } });
  t.teardown(tree.cleanup);
  const home = join(tree.dir, "home");
  const user = generateEd25519Pair();
  writeFileSync(join(home, ".ssh", "id_ed25519"), user.private, { mode: 0o600 });
  const sshd = await startSshd(t, options.acceptedKey ?? user.private);
  const server = await startFakeServer({ ssh: { host: "127.0.0.1", port: options.port ?? sshd.port, hostKey: options.advertisedKey ?? sshd.hostKey } });
  t.teardown(() => server.close());
  server.seed("api", "running");
  const nexusHome = join(home, ".nexus");
  t.teardown(() => {
    spawnSync("ssh", ["-F", join(nexusHome, "ssh", "config"), "-O", "exit", "nexus-api"], { stdio: "ignore", timeout: 5000 });
  });
  const env = { HOME: home, NEXUS_HOME: nexusHome, NEXUS_SERVER: server.url, NEXUS_TOKEN: server.options.token };
  return { sshd, env, home };
}

t.test("the check passes through ~/.ssh/config with the pinned key, and does not wait for the shared connection", async (t) => {
  const h = await harness(t);
  const r = await runCli(["workspace", "connect", "api", "--editor", "none", "--json"], { env: h.env });
  t.equal(r.code, 0, r.stderr);
  t.same(h.sshd.commands, ["echo OK"]);
  const doc = JSON.parse(r.stdout);
  t.equal(doc.ssh.check[2], join(h.home, ".ssh", "config"));
  t.equal(doc.ssh.connection_sharing, true, "ControlPersist keeps a master running; the check still returned");
  t.same(doc.ssh.command, ["ssh", "nexus-api"]);
});

t.test("real ssh messages: host key mismatch, refused key, refused connection", async (t) => {
  const wrongKey = generateEd25519Pair().public.split(" ").slice(0, 2).join(" ");
  const mismatch = await harness(t, { advertisedKey: wrongKey });
  const r1 = await runCli(["workspace", "connect", "api", "--editor", "none", "--json"], { env: mismatch.env });
  t.equal(r1.code, 3);
  t.match(JSON.parse(r1.stdout), { error: "forbidden", details: { reason: "host_key_mismatch" } });
  t.same(mismatch.sshd.commands, [], "nothing ran on a server with the wrong key");

  const stranger = generateEd25519Pair().private;
  const refusedKey = await harness(t, { acceptedKey: stranger });
  const r2 = await runCli(["workspace", "connect", "api", "--editor", "none", "--json"], { env: refusedKey.env });
  t.equal(r2.code, 3);
  t.match(JSON.parse(r2.stdout), { error: "auth_required", details: { reason: "auth_failed", stderr: /Permission denied/ } });

  const closed = await harness(t, { port: await closedPort() });
  const r3 = await runCli(["workspace", "connect", "api", "--editor", "none"], { env: closed.env });
  t.equal(r3.code, 8);
  t.match(r3.stderr, /\[provider_unavailable\] SSH check of nexus-api failed: nothing accepts SSH connections/);
  t.match(r3.stderr, /ssh -v nexus-api/);
});
