// workspace exec / ssh with the real OpenSSH client against an in-process SSH server
// (ssh2) standing in for the workspace's sshd: the pinned host key is enforced, the
// user's key is offered, argv survives quoting, and the remote exit status comes back.
import t, { type Test } from "tap";
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { timingSafeEqual } from "node:crypto";
import ssh2 from "ssh2";
import { generateEd25519Pair } from "@nexus/github";
import { tempTree } from "@nexus/test-utils";
import { sshArgv } from "../src/commands/workspace/ssh.js";
import { runCli } from "./helpers.js";
import { startFakeServer } from "./workspace-fake-server.js";

interface FakeSshd {
  port: number;
  hostKey: string;
  /** Commands received, as the remote shell would get them. */
  commands: string[];
}

/** Accepts `dev` with `userKey`; an exec prints the command it got and exits with the N of an `exit N` in it. */
async function startSshd(t: Test, userKey: string): Promise<FakeSshd> {
  const host = generateEd25519Pair();
  const allowed = ssh2.utils.parseKey(userKey);
  if (allowed instanceof Error) throw allowed;
  const commands: string[] = [];
  const server = new ssh2.Server({ hostKeys: [host.private] }, (client) => {
    client.on("error", () => {});
    client.on("authentication", (ctx) => {
      if (ctx.method !== "publickey" || ctx.username !== "dev") return ctx.reject(["publickey"]);
      const key = allowed.getPublicSSH();
      const sameKey = ctx.key.algo === allowed.type && ctx.key.data.length === key.length && timingSafeEqual(ctx.key.data, key);
      if (!sameKey) return ctx.reject(["publickey"]);
      if (ctx.signature && allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(["publickey"]);
      ctx.accept();
    });
    client.on("ready", () => {
      client.on("session", (accept) => {
        const session = accept();
        // An interactive login: a shell session (a pty only when the client has a terminal).
        session.on("pty", (acceptPty) => acceptPty?.());
        session.on("shell", (acceptShell) => {
          const stream = acceptShell();
          commands.push("<shell>");
          stream.write("interactive shell for dev\n");
          stream.exit(0);
          stream.end();
        });
        session.on("exec", (acceptExec, _reject, info) => {
          const stream = acceptExec();
          commands.push(info.command);
          stream.write(`remote got: ${info.command}\n`);
          stream.stderr.write("remote stderr line\n");
          const code = /exit (\d+)/.exec(info.command)?.[1];
          stream.exit(code === undefined ? 0 : Number(code));
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

async function harness(t: Test, options: { wrongHostKey?: boolean; otherKey?: boolean } = {}) {
  const tree = tempTree({ home: { ".ssh": {}, keys: {} } });
  t.teardown(tree.cleanup);
  const home = join(tree.dir, "home");
  const user = generateEd25519Pair();
  writeFileSync(join(home, ".ssh", "id_ed25519"), user.private, { mode: 0o600 });
  writeFileSync(join(home, ".ssh", "id_ed25519.pub"), `${user.public}\n`);
  // With otherKey, the workspace accepts only ~/keys/work, not the default key.
  const other = generateEd25519Pair();
  writeFileSync(join(home, "keys", "work"), other.private, { mode: 0o600 });
  const sshd = await startSshd(t, options.otherKey ? other.private : user.private);
  const advertised = options.wrongHostKey ? generateEd25519Pair().public.split(" ").slice(0, 2).join(" ") : sshd.hostKey;
  const server = await startFakeServer({ ssh: { host: "127.0.0.1", port: sshd.port, hostKey: advertised } });
  t.teardown(() => server.close());
  server.seed("api", "running");
  const nexusHome = join(home, ".nexus");
  const env = { HOME: home, NEXUS_HOME: nexusHome, NEXUS_SERVER: server.url, NEXUS_TOKEN: server.options.token };
  // A shared connection outlives the command; end it with the test.
  t.teardown(() => {
    spawnSync("ssh", ["-F", join(nexusHome, "ssh", "config"), "-O", "exit", "nexus-api"], { stdio: "ignore", timeout: 5000 });
  });
  return { sshd, server, env, home, nexusHome };
}

t.test("exec runs argv in the workspace through the pinned host key and passes the exit status through", async (t) => {
  const { sshd, env, nexusHome, home } = await harness(t);
  const ok = await runCli(["workspace", "exec", "api", "--", "ls", "-la", "my dir"], { env });
  t.equal(ok.code, 0, ok.stderr);
  t.equal(sshd.commands[0], "ls -la 'my dir'", "several words are an argv, each quoted");
  t.match(ok.stdout, /remote got: ls -la 'my dir'/);
  t.match(ok.stderr, /remote stderr line/);

  const knownHosts = readFileSync(join(nexusHome, "ssh", "known_hosts"), "utf8");
  t.match(knownHosts, `[127.0.0.1]:${sshd.port} ${sshd.hostKey}`, "the host key is pinned for [host]:port");
  const config = readFileSync(join(nexusHome, "ssh", "config"), "utf8");
  t.match(config, /Host nexus-api\n\s+HostName 127\.0\.0\.1\n\s+Port \d+\n\s+User dev/);
  t.match(config, `IdentityFile ${join(home, ".ssh", "id_ed25519")}`);
  t.match(config, /StrictHostKeyChecking yes/);
  t.match(config, /ControlMaster auto/, "with connection sharing, which must not keep exec waiting");

  const failing = await runCli(["workspace", "exec", "api", "--", "sh -c 'exit 3'"], { env });
  t.equal(failing.code, 3, "the remote exit status is the CLI's");
  t.equal(sshd.commands[1], "sh -c 'exit 3'", "one word is passed as a shell command line");

  const json = await runCli(["workspace", "exec", "api", "--json", "--", "echo", "hi"], { env });
  t.equal(json.code, 0, json.stderr);
  t.match(JSON.parse(json.stdout), { workspace: "api", command: ["echo", "hi"], exit_code: 0, stdout: "remote got: echo hi\n", stderr: "remote stderr line\n" });
});

t.test("a host key that differs from the one the server reported is refused", async (t) => {
  const { sshd, env } = await harness(t, { wrongHostKey: true });
  const r = await runCli(["workspace", "exec", "api", "--", "true"], { env });
  t.equal(r.code, 255);
  t.match(r.stderr, /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
  t.equal(sshd.commands.length, 0, "nothing ran");
});

t.test("ssh with a command behaves like exec; exec without a command is a usage error", async (t) => {
  const { sshd, env } = await harness(t);
  const r = await runCli(["workspace", "ssh", "api", "--", "uptime"], { env });
  t.equal(r.code, 0, r.stderr);
  t.equal(sshd.commands[0], "uptime");
  const usage = await runCli(["workspace", "exec", "api"], { env });
  t.equal(usage.code, 2);
});

t.test("ssh without a command opens a login shell in the workspace", async (t) => {
  const { sshd, env } = await harness(t);
  const r = await runCli(["workspace", "ssh", "api"], { env });
  t.equal(r.code, 0, r.stderr);
  t.same(sshd.commands, ["<shell>"], "a shell session, not an exec");
  t.match(r.stdout, /interactive shell for dev/);
  const target = { configFile: "/cfg", alias: "nexus-api" };
  t.same(sshArgv("ssh", target, [], true), ["-F", "/cfg", "nexus-api"], "ssh picks the terminal itself for a login");
  t.same(sshArgv("ssh", target, ["htop"], true), ["-F", "/cfg", "-t", "nexus-api", "--", "htop"], "a command on a terminal gets one (-t)");
  t.same(sshArgv("ssh", target, ["htop"], false), ["-F", "/cfg", "nexus-api", "--", "htop"]);
});

t.test("exec on a stopped workspace says how to start it", async (t) => {
  const { server, env } = await harness(t);
  server.seed("web", "stopped");
  const r = await runCli(["workspace", "exec", "web", "--", "true"], { env });
  t.equal(r.code, 5);
  t.match(r.stderr, /workspace web is stopped, not running/);
  t.match(r.stderr, /nexus workspace start web/);
});

t.test("no ssh on PATH is a clear error, not a crash", async (t) => {
  const { env } = await harness(t);
  const r = await runCli(["workspace", "exec", "api", "--", "true"], { env: { ...env, PATH: "/nonexistent" } });
  t.equal(r.code, 2);
  t.match(r.stderr, /ssh is not installed/);
});

t.test("--key offers another key, and the entry keeps it for the next commands", async (t) => {
  const { sshd, env, home, nexusHome } = await harness(t, { otherKey: true });
  const refused = await runCli(["workspace", "exec", "api", "--", "true"], { env });
  t.equal(refused.code, 255, "the default key is refused");
  const chosen = await runCli(["workspace", "exec", "api", "--key", "~/keys/work", "--", "echo", "one"], { env });
  t.equal(chosen.code, 0, chosen.stderr);
  t.match(readFileSync(join(nexusHome, "ssh", "config"), "utf8"), `IdentityFile ${join(home, "keys", "work")}`);
  const again = await runCli(["workspace", "exec", "api", "--", "echo", "two"], { env });
  t.equal(again.code, 0, again.stderr);
  t.match(readFileSync(join(nexusHome, "ssh", "config"), "utf8"), `IdentityFile ${join(home, "keys", "work")}`, "the entry still names the chosen key");
  t.same(sshd.commands, ["echo one", "echo two"]);
  const missing = await runCli(["workspace", "exec", "api", "--key", "/nonexistent/key", "--", "true"], { env });
  t.equal(missing.code, 2);
  t.match(missing.stderr, /SSH key \/nonexistent\/key does not exist/);
});
