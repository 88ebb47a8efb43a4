// Real Docker + real OpenSSH: login as dev with the recorded host key, restarts keep
// the host key, workspaces cannot reach each other (ICC off) while the node reaches
// both, the CA bundle lands, and destroy frees the container and the published port.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { LABELS, silentLogger, type Handle, type WorkspaceSpec } from "@nexus/core";
import { tempTree } from "@nexus/test-utils";
import { createPortAllocator, testWorkspaceSpec } from "@nexus/testkit";
import t from "tap";
import { dockerOptionsSchema } from "../src/options.js";
import { createDockerProvider } from "../src/provider.js";
import { readBanner } from "../src/ssh-ready.js";
import { engineClient, op, requireEngine, sweep, TEST_RUN } from "./real-engine.js";

const run = promisify(execFile);

await requireEngine();
const dir = tempTree();
t.teardown(async () => {
  await sweep();
  dir.cleanup();
});

const keyFile = join(dir.dir, "id_ed25519");
await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "nexus-real-test", "-f", keyFile]);
const userKey = (await readFile(`${keyFile}.pub`, "utf8")).trim();
const nextPort = createPortAllocator("0.0.0.0");
const provider = createDockerProvider({ log: silentLogger, env: process.env, dataDir: dir.dir }, dockerOptionsSchema.parse({}));
t.teardown(() => provider.dispose());

async function spec(suffix: string, extra: Partial<WorkspaceSpec> = {}): Promise<WorkspaceSpec> {
  return { ...testWorkspaceSpec({ suffix: `${suffix}-${TEST_RUN.slice(0, 6)}`, testRun: TEST_RUN, sshPort: await nextPort(), authorizedKeys: [userKey] }), ...extra };
}

async function ssh(handle: Handle, knownHosts: string, command: string): Promise<string> {
  const { stdout } = await run("ssh", [
    "-i", keyFile, "-p", String(handle.sshPort),
    "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "StrictHostKeyChecking=accept-new", "-o", "HashKnownHosts=no",
    "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10",
    "dev@127.0.0.1", command,
  ], { timeout: 30_000 });
  return stdout;
}

async function hostKeyOf(knownHosts: string): Promise<string> {
  const line = (await readFile(knownHosts, "utf8")).split("\n").find((l) => l.includes("ssh-ed25519"));
  return line?.split(" ").slice(1, 3).join(" ") ?? "";
}

t.test("OpenSSH logs in as dev; the host key it records is the handle's, and survives a restart", async (t) => {
  const started = performance.now();
  const handle = await provider.provision(await spec("ssh"), op());
  t.comment(`provision → sshd banner: ${Math.round(performance.now() - started)} ms`);
  const knownHosts = join(dir.dir, "known_hosts_ssh");
  t.equal(await ssh(handle, knownHosts, "echo OK"), "OK\n");
  t.equal(await hostKeyOf(knownHosts), handle.hostKey, "known_hosts holds the host key provision reported");
  t.equal(await ssh(handle, knownHosts, "id -un; sudo -n id -u; stat -c '%a %U' ~/.ssh ~/.ssh/authorized_keys"), "dev\n0\n700 dev\n600 dev\n");

  await provider.stop(handle, op());
  await provider.start(handle, op());
  t.equal(await ssh(handle, knownHosts, "echo again"), "again\n", "after a restart the same known_hosts entry still matches (no new host key)");
  await provider.destroy(handle, op());
});

t.test("two workspaces cannot reach each other; the node reaches both", async (t) => {
  const [a, b] = await Promise.all([provider.provision(await spec("iso-a"), op()), provider.provision(await spec("iso-b"), op())]);
  const [addressA, addressB] = await Promise.all([provider.inspect(a, op()), provider.inspect(b, op())]).then((o) => o.map((x) => x.address));
  t.match(addressA, /^\d+\.\d+\.\d+\.\d+$/);
  t.match(addressB, /^\d+\.\d+\.\d+\.\d+$/);

  for (const address of [addressA!, addressB!]) {
    t.match(await readBanner({ host: address, port: 22 }, 5_000), /^SSH-2\.0-OpenSSH/, `the node reaches ${address}:22`);
  }
  // The probe itself works: a workspace reaches its own sshd on its bridge address.
  const probe = (target: string) => ["timeout", "1", "bash", "-c", 'exec 3<>"/dev/tcp/$1/22" && head -c 7 <&3', "probe", target];
  const self = await provider.exec(a, probe(addressA!), op());
  t.equal(self.stdout, "SSH-2.0", `a workspace reaches itself (probe sanity): ${self.stderr}`);
  const aToB = await provider.exec(a, probe(addressB!), op());
  t.not(aToB.exitCode, 0, "workspace A cannot open a connection to workspace B");
  t.equal(aToB.stdout, "");
  const bToA = await provider.exec(b, probe(addressA!), op());
  t.not(bToA.exitCode, 0, "workspace B cannot open a connection to workspace A");

  await Promise.all([provider.destroy(a, op()), provider.destroy(b, op())]);
});

t.test("a CA bundle is appended to the system bundle and exported to SSH sessions", async (t) => {
  const pemDir = tempTree();
  t.teardown(pemDir.cleanup);
  await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=nexus-test-ca", "-days", "1",
    "-keyout", join(pemDir.dir, "key.pem"), "-out", join(pemDir.dir, "ca.pem")]);
  const pem = await readFile(join(pemDir.dir, "ca.pem"), "utf8");
  const handle = await provider.provision(await spec("ca", { caBundle: pem }), op());
  const bundle = await provider.exec(handle, ["cat", "/etc/ssl/certs/ca-certificates.crt"], op());
  t.ok(bundle.stdout.endsWith(pem), "the system bundle ends with the injected certificate");
  const knownHosts = join(dir.dir, "known_hosts_ca");
  t.equal(await ssh(handle, knownHosts, "printenv NODE_EXTRA_CA_CERTS"), "/etc/nexus/ca-bundle.pem\n");
  t.equal((await provider.exec(handle, ["sh", "-c", "printenv NODE_EXTRA_CA_CERTS"], op())).stdout, "/etc/nexus/ca-bundle.pem\n");
  await provider.stop(handle, op());
  await provider.start(handle, op());
  const again = await provider.exec(handle, ["grep", "-c", "BEGIN CERTIFICATE", "/etc/nexus/ca-bundle.pem", "/etc/ssl/certs/ca-certificates.crt"], op());
  const before = bundle.stdout.split("BEGIN CERTIFICATE").length - 1;
  t.match(again.stdout, new RegExp(`ca-certificates\\.crt:${before}\\n`), "a restart does not append the bundle twice");
  await provider.destroy(handle, op());
});

t.test("destroy leaves no container behind and frees the published port", async (t) => {
  const s = await spec("gone");
  const handle = await provider.provision(s, op());
  await provider.destroy(handle, op());
  const client = engineClient();
  t.teardown(() => client.close());
  const filters = JSON.stringify({ label: [`${LABELS.workspace}=${s.workspaceId}`] });
  const left = await client.json<unknown[]>("GET", "/containers/json", { query: { all: true, filters }, signal: AbortSignal.timeout(10_000), operation: "list" });
  t.same(left, [], "no container of the workspace remains");
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(s.sshPort, "0.0.0.0", () => resolve());
  });
  t.pass(`port ${s.sshPort} can be bound again`);
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

t.test("a port another process holds fails provisioning with a clear message and leaves nothing behind", async (t) => {
  const s = await spec("busy");
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(s.sshPort, "0.0.0.0", () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  await t.rejects(provider.provision(s, op()), { code: "provision_failed", message: new RegExp(`SSH port ${s.sshPort} is already in use`) });
  t.same(await provider.list(op()).then((all) => all.filter((h) => h.workspaceId === s.workspaceId)), []);
});
