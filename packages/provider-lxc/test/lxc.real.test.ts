// What the conformance suite cannot know about Incus: OpenSSH logins and host keys,
// network isolation between workspaces, what destroy leaves behind, CA injection.
import t from "tap";
import { once } from "node:events";
import { createServer, connect } from "node:net";
import { join } from "node:path";
import { createPortAllocator, testWorkspaceSpec } from "@nexus/testkit";
import type { Handle, Observed } from "@nexus/core";
import { waitForSshBanner } from "../src/ssh-ready.js";
import { SSH_DEVICE } from "../src/naming.js";
import { TEST_RUN, op, rawClient, realProvider, requireSocket, sshAsDev, sshKeyPair, sweep } from "./real-support.js";

const socket = await requireSocket();
const provider = realProvider();
const api = rawClient(socket);
const keys = await sshKeyPair();
const nextPort = createPortAllocator("0.0.0.0");
let counter = 0;

t.teardown(async () => {
  await sweep(provider);
  await provider.dispose();
  await api.close();
  keys.cleanup();
});

async function spec(tag: string, extra: Partial<Parameters<typeof testWorkspaceSpec>[0]> = {}) {
  return testWorkspaceSpec({ suffix: `${tag}-${process.pid}-${counter++}`, testRun: TEST_RUN, sshPort: await nextPort(), authorizedKeys: [keys.publicKey], ...extra });
}

/** DHCP runs in the container after sshd may already be up: wait for the bridge address. */
async function addressOf(handle: Handle): Promise<string> {
  let observed: Observed = { state: "absent" };
  for (let i = 0; i < 150; i++) {
    observed = await provider.inspect(handle, op());
    if (observed.address) return observed.address;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${handle.id} got no address on the bridge (last state ${observed.state})`);
}

/** Whether the node itself can open a TCP connection to address:port. */
function nodeReaches(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, timeout: 5_000 });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("timeout", () => (socket.destroy(), resolve(false)));
    socket.once("error", () => resolve(false));
  });
}

t.test("OpenSSH logs in as dev with the authorized key; the host key it records is the handle's", async (t) => {
  const workspace = await spec("ssh");
  const started = performance.now();
  const handle = await provider.provision(workspace, op());
  const provisioned = performance.now();
  const banner = await waitForSshBanner({ port: workspace.sshPort });
  t.comment(`provision ${Math.round(provisioned - started)} ms, then SSH banner after ${Math.round(performance.now() - provisioned)} ms`);
  t.match(banner, /^SSH-2\.0-OpenSSH/);

  const knownHosts = join(keys.dir, `known_hosts_${handle.id}`);
  const login = await sshAsDev(keys.keyFile, workspace.sshPort, "echo OK; id -un; id -u; sudo -n id -u", knownHosts);
  t.equal(login.stdout, "OK\ndev\n1000\n0\n", "dev (uid 1000) with passwordless sudo");
  t.equal(login.hostKey, handle.hostKey, "known_hosts holds the host key provision() reported");

  const perms = await provider.exec(handle, ["stat", "-c", "%a %U", "/home/dev/.ssh", "/home/dev/.ssh/authorized_keys"], op());
  t.equal(perms.stdout, "700 dev\n600 dev\n");

  // After a restart sshd comes back (with the same key) and start() waits for it.
  await provider.stop(handle, op());
  await t.rejects(provider.exec(handle, ["true"], op()), { code: "invalid_transition" }, "exec in a stopped workspace");
  await provider.start(handle, op());
  const again = await sshAsDev(keys.keyFile, workspace.sshPort, "echo back", knownHosts);
  t.equal(again.stdout, "back\n");
  t.equal(again.hostKey, handle.hostKey, "the host key survives a restart");
});

t.test("two workspaces cannot reach each other; the node reaches both", async (t) => {
  const [a, b] = await Promise.all([provider.provision(await spec("iso-a"), op()), provider.provision(await spec("iso-b"), op())]);
  const [addressA, addressB] = await Promise.all([addressOf(a!), addressOf(b!)]);
  t.not(addressA, addressB);
  t.ok(await nodeReaches(addressA, 22), "the node reaches A's sshd over the bridge");
  t.ok(await nodeReaches(addressB, 22), "the node reaches B's sshd over the bridge");

  const probe = (from: Handle, to: string) => provider.exec(from, ["timeout", "3", "bash", "-c", `exec 3<>/dev/tcp/${to}/22 && echo CONNECTED`], op());
  const aToB = await probe(a!, addressB);
  t.not(aToB.exitCode, 0, `A cannot open a TCP connection to B (${aToB.stdout}${aToB.stderr})`);
  t.notMatch(aToB.stdout, /CONNECTED/);
  const bToA = await probe(b!, addressA);
  t.not(bToA.exitCode, 0, "B cannot open a TCP connection to A");

  // Even a root user routing through the gateway gets no connection: B's replies to A are dropped at the bridge.
  const gateway = (await provider.exec(a!, ["sh", "-c", "ip -4 route show default | cut -d' ' -f3"], op())).stdout.trim();
  t.match(gateway, /^\d+\.\d+\.\d+\.\d+$/);
  const hairpin = await provider.exec(a!, ["sh", "-c", `ip route replace ${addressB}/32 via ${gateway} dev eth0 && timeout 3 bash -c 'exec 3<>/dev/tcp/${addressB}/22 && echo CONNECTED'`], op());
  t.notMatch(hairpin.stdout, /CONNECTED/, "no connection through the gateway either");

  const egress = await provider.exec(a!, ["bash", "-c", `exec 3<>/dev/tcp/${gateway}/53 && echo ok`], op());
  t.equal(egress.stdout, "ok\n", "the bridge gateway (DNS, NAT) stays reachable");
});

t.test("destroy leaves no instance and no proxy device behind, and frees the SSH port", async (t) => {
  const workspace = await spec("gone");
  const handle = await provider.provision(workspace, op());
  const instance = await api.sync<{ devices: Record<string, Record<string, string>> }>("GET", `/1.0/instances/${handle.id}`);
  t.same(instance.devices[SSH_DEVICE], { type: "proxy", listen: `tcp:0.0.0.0:${workspace.sshPort}`, connect: "tcp:127.0.0.1:22", bind: "host" });
  await provider.destroy(handle, op());

  const gone = await api.sync("GET", `/1.0/instances/${handle.id}`).then(() => "present", (e: { status?: number }) => e.status);
  t.equal(gone, 404, "the instance is gone");
  const all = await api.sync<{ name: string; devices: Record<string, Record<string, string>> }[]>("GET", "/1.0/instances", { query: { recursion: 1 } });
  t.notOk(all.some((i) => Object.values(i.devices ?? {}).some((d) => d.listen?.endsWith(`:${workspace.sshPort}`))), "no proxy device listens on the port");
  const server = createServer();
  server.listen(workspace.sshPort, "0.0.0.0");
  await once(server, "listening");
  t.pass(`port ${workspace.sshPort} can be bound again`);
  server.close();
});

t.test("provision fails cleanly when the SSH port is taken on the node", async (t) => {
  const workspace = await spec("busy");
  const squatter = createServer();
  squatter.listen(workspace.sshPort, "0.0.0.0");
  await once(squatter, "listening");
  t.teardown(() => void squatter.close());
  await t.rejects(provider.provision(workspace, op()), { code: "provision_failed" });
  t.same((await provider.list(op())).filter((h) => h.workspaceId === workspace.workspaceId), [], "no half-made container is left");
});

t.test("injecting the node's CA bundle lets the workspace verify TLS through the node's proxy", async (t) => {
  const injecting = realProvider({ injectCaBundle: true });
  t.teardown(() => injecting.dispose());
  const handle = await injecting.provision(await spec("ca"), op());
  // Only certificates the image lacks are injected; on a node without extra CAs there is nothing to add.
  const injected = (await injecting.exec(handle, ["test", "-s", "/usr/local/share/ca-certificates/nexus-node.crt"], op())).exitCode === 0;
  const env = await injecting.exec(handle, ["cat", "/etc/environment"], op());
  if (injected) t.match(env.stdout, /^NODE_EXTRA_CA_CERTS=\/usr\/local\/share\/ca-certificates\/nexus-node\.crt$/m, "node trusts the injected CAs too");
  else t.comment("the node's bundle has no certificate the image lacks; nothing was injected");
  const curl = await injecting.exec(handle, ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20", "https://registry.npmjs.org/"], op());
  t.equal(curl.stderr, "", "no certificate error");
  t.equal(curl.exitCode, 0, `curl verified the registry's certificate chain (HTTP ${curl.stdout})`);
});
