// End to end, in one process: the real server (startServer: SQLite, single-machine local
// user and token file) with its in-process agent on the FakeProvider, driven by the CLI
// commands. The CLI finds the server and token the way a user's would: NEXUS_HOME's
// server/local-token, with no NEXUS_SERVER or NEXUS_TOKEN.
import t from "tap";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { WorkspaceDetailSchema, createNexus } from "@nexus/core";
import { createFakeProvider, createLogCapture } from "@nexus/testkit";
import { startServer } from "@nexus/server";
import { tempTree } from "@nexus/test-utils";
import { runCli } from "./helpers.js";

t.test("create → list → status → services → stop → start → delete against the real server and agent", async (t) => {
  const tree = tempTree({ shop: { ".nexus": { "config.yaml": "version: 1\nname: shop\n" }, "README.md": "hello\n" }, home: {} });
  t.teardown(tree.cleanup);
  const repo = join(tree.dir, "shop");
  const git = (...args: string[]) => execFileSync("git", ["-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.test", ...args], { stdio: "ignore" });
  git("init", "-q", "-b", "main");
  git("add", ".");
  git("commit", "-q", "-m", "init");

  // The fake runs no sshd: something on the workspace's SSH port must greet like one.
  const banner = createServer((socket) => socket.end("SSH-2.0-OpenSSH_9.2p1 fake\r\n"));
  banner.listen(0, "127.0.0.1");
  await once(banner, "listening");
  t.teardown(() => new Promise<void>((resolve) => banner.close(() => resolve())));
  const sshPort = (banner.address() as AddressInfo).port;

  const home = join(tree.dir, "home");
  const fake = createFakeProvider();
  // The fake's small shell cannot clone or run node: answer those two like the container would.
  fake.control.onExec(({ argv }) => {
    if (argv.includes("nexus-clone")) return { exitCode: 0, stdout: "0123456789abcdef0123456789abcdef01234567\n", stderr: "" };
    if (argv[0] === "node") return { exitCode: 0, stdout: '{"ok":true}\n', stderr: "" };
    return undefined;
  });
  const server = await startServer({
    port: 0,
    dataDir: join(tree.dir, "data"),
    nexusHome: home,
    withAgent: true,
    registry: createNexus({ providers: [fake.descriptor] }),
    provider: "fake",
    agentSshPorts: [sshPort, sshPort],
    closeGraceMs: 500,
    log: createLogCapture().log,
  });
  t.teardown(() => server.close());
  const env = { HOME: home, NEXUS_HOME: home, NEXUS_SERVER: undefined, NEXUS_TOKEN: undefined };

  const create = await runCli(["workspace", "create", repo, "--json"], { env });
  t.equal(create.code, 0, create.stderr);
  const doc = JSON.parse(create.stdout);
  const detail = WorkspaceDetailSchema.parse(doc);
  t.equal(detail.status, "running");
  t.equal(detail.ssh.port, sshPort);
  t.match(detail.repository, { owner: "local", name: "shop", branch: "main" });
  t.ok(["scheduled", "container_created", "ssh_ready", "repo_cloned"].every((p) => detail.phases.some((x) => x.name === p && x.duration_ms !== null)));

  // The CLI stopped following: no event stream is left open on the server (it notices the
  // closed connection asynchronously).
  for (let i = 0; i < 100 && server.services.events.subscriberCount() > 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(server.services.events.subscriberCount(), 0, "the event stream was closed");

  const list = await runCli(["workspace", "list"], { env });
  t.equal(list.code, 0, list.stderr);
  t.match(list.stdout, /shop\s+running\s+fake/);

  const status = await runCli(["workspace", "status", "shop"], { env });
  t.match(status.stdout, new RegExp(`ssh -p ${sshPort} dev@127\\.0\\.0\\.1`));

  const services = await runCli(["workspace", "services", "shop", "--json"], { env });
  t.equal(services.code, 0, services.stderr);
  t.same(JSON.parse(services.stdout).services, []);

  const stop = await runCli(["workspace", "stop", "shop", "--json"], { env });
  t.equal(stop.code, 0, stop.stderr);
  t.equal(JSON.parse(stop.stdout).status, "stopped");
  const start = await runCli(["workspace", "start", "shop", "--json"], { env });
  t.equal(start.code, 0, start.stderr);
  t.equal(JSON.parse(start.stdout).status, "running");
  // A plain delete of the running workspace stops it on the agent first, then deletes it.
  const del = await runCli(["workspace", "rm", "shop", "--json"], { env });
  t.equal(del.code, 0, del.stderr);
  t.equal(JSON.parse(del.stdout).status, "deleted");
  const gone = await runCli(["workspace", "status", "shop"], { env });
  t.equal(gone.code, 4);
});
