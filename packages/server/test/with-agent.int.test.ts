// Single-machine mode with the in-process agent (core's startAgentRuntime) on the
// FakeProvider: the agent registers over loopback and takes a workspace to running.
import t from "tap";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { join } from "node:path";
import { createClient, createNexus } from "@nexus/core";
import { createFakeProvider, createLogCapture } from "@nexus/testkit";
import { startServer } from "@nexus/server";
import { tempTree } from "@nexus/test-utils";

t.test("--with-agent: the local agent registers and creates a workspace from a local repository", async (t) => {
  const tree = tempTree({ repo: { "README.md": "hello\n" } });
  t.teardown(() => tree.cleanup());
  const repo = join(tree.dir, "repo");
  const git = (...args: string[]) => execFileSync("git", ["-C", repo, ...args], { stdio: "ignore" });
  git("init", "-q", "-b", "main");
  git("-c", "user.name=t", "-c", "user.email=t@example.test", "add", ".");
  git("-c", "user.name=t", "-c", "user.email=t@example.test", "commit", "-q", "-m", "init");
  // The fake runs no sshd: something on the workspace's SSH port must say hello like one.
  const banner = createServer((socket) => socket.end("SSH-2.0-OpenSSH_9.2p1 fake\r\n"));
  banner.listen(42220, "127.0.0.1");
  await once(banner, "listening");
  t.teardown(() => new Promise<void>((resolve) => banner.close(() => resolve())));
  const fake = createFakeProvider();
  const logs = createLogCapture();
  const server = await startServer({
    port: 0,
    dataDir: join(tree.dir, "data"),
    nexusHome: join(tree.dir, "home"),
    withAgent: true,
    registry: createNexus({ providers: [fake.descriptor] }),
    provider: "fake",
    agentSshPorts: [42220, 42229],
    log: logs.log,
  });
  t.teardown(() => server.close());
  t.equal(server.agent?.provider, "fake");
  const admin = createClient({ server: server.url, token: server.adminToken });
  const [node] = (await admin.listNodes()).nodes;
  t.equal(node?.status, "online");
  t.same(node?.providers, ["fake"]);
  t.equal(node?.node_id, server.agent?.nodeId);

  const local = createClient({ server: server.url, token: server.localToken! });
  const ws = await local.createWorkspace({ repo: { owner: "local", name: "repo", url: repo, branch: "main" } });
  let status = "";
  for await (const event of local.events(ws.workspace_id)) {
    if (event.type !== "status") continue;
    status = event.status;
    if (status === "running" || status === "error") break;
  }
  const detail = await local.getWorkspace(ws.workspace_id);
  // How far the fake gets is the agent's business (its small shell cannot copy a checkout);
  // what matters here is that commands, phases and the result went through the server.
  t.ok(status === "running" || (status === "error" && detail.error?.phase !== undefined), `agent outcome ${status} ${JSON.stringify(detail.error ?? {})}`);
  t.equal(detail.ssh.port, 42220);
  const reported: string[] = detail.phases.filter((p) => p.duration_ms !== null).map((p) => p.name);
  t.ok(["scheduled", "container_created", "ssh_ready"].every((name) => reported.includes(name)), `phases ${reported}`);
});
