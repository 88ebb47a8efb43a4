// `nexus server start|stop` launches the built server binary as a child process. The
// CLI runs as its own process here (from source), exactly as a user starts it; the
// server is @nexus/server's dist/main.js (built by bootstrap / `npm run build`).
import t from "tap";
import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { once } from "node:events";
import { tempTree } from "@nexus/test-utils";

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const cliMain = join(root, "packages", "cli", "src", "main.ts");
const serverMain = join(root, "packages", "server", "dist", "main.js");

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function nexus(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--conditions=nexus-source", "--import=tsx", cliMain, ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", HOME: env.NEXUS_HOME ?? "", NO_COLOR: "1", ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

t.test("server start --background writes a pid file and log, waits for /health; stop ends it", async (t) => {
  t.ok(existsSync(serverMain), `the server is built (${serverMain}); run \`npm run build -w @nexus/server\``);
  if (!existsSync(serverMain)) return;
  const tree = tempTree();
  t.teardown(() => tree.cleanup());
  const home = join(tree.dir, "home");
  const port = await freePort();
  const env = { NEXUS_HOME: home };

  const started = await nexus(["server", "start", "--background", "--port", String(port), "--json"], env);
  t.equal(started.code, 0, started.stderr);
  const body = JSON.parse(started.stdout);
  t.equal(body.url, `http://127.0.0.1:${port}`);
  t.equal(body.started, true);
  const pid = Number(readFileSync(join(home, "server", "server.pid"), "utf8"));
  t.equal(body.pid, pid);
  t.teardown(() => {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  });
  const health = (await (await fetch(`${body.url}/health`)).json()) as { status: string };
  t.equal(health.status, "ok");
  t.ok(existsSync(join(home, "server", "nexus.db")), "the default data directory is $NEXUS_HOME/server");
  t.equal(statSync(join(home, "server", "server.log")).mode & 0o777, 0o600);

  const again = await nexus(["server", "start", "--background", "--port", String(port), "--json"], env);
  t.equal(again.code, 0);
  t.same(JSON.parse(again.stdout).started, false, "already running: reused");

  const stopped = await nexus(["server", "stop", "--json"], env);
  t.equal(stopped.code, 0, stopped.stderr);
  t.same(JSON.parse(stopped.stdout), { stopped: true, pid, killed: false });
  t.throws(() => process.kill(pid, 0), "the server process is gone");
  t.notOk(existsSync(join(home, "server", "server.pid")), "the pid file is removed");
  t.match(readFileSync(join(home, "server", "server.log"), "utf8"), "SIGTERM: shutting down");

  const idle = await nexus(["server", "stop"], env);
  t.equal(idle.code, 0);
  t.match(idle.stdout, "no background nexus server is running");
});

t.test("server start in the foreground passes the server's exit status through", async (t) => {
  if (!existsSync(serverMain)) return t.fail(`build the server first: ${serverMain}`);
  const tree = tempTree();
  t.teardown(() => tree.cleanup());
  const busy = createServer().listen(0, "127.0.0.1");
  await once(busy, "listening");
  t.teardown(() => busy.close());
  const port = (busy.address() as { port: number }).port;
  const res = await nexus(["server", "start", "--port", String(port), "--data", join(tree.dir, "data")], { NEXUS_HOME: join(tree.dir, "home") });
  t.equal(res.code, 2, "invalid_request's exit status");
  t.match(res.stderr, "the port is in use");
  const mismatched = await nexus(["server", "start", "--tls-cert", "cert.pem"], { NEXUS_HOME: join(tree.dir, "home") });
  t.equal(mismatched.code, 2);
  t.match(mismatched.stderr, "--tls-cert and --tls-key go together");
});
