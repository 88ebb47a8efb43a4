import t from "tap";
import { createServer as createNetServer, type Server as NetServer } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isNexusError, silentLogger, type Op, type WorkspaceSpec } from "@nexus/core";
import { LxcProvider } from "../src/provider.js";
import { lxcOptionsSchema, type LxcOptionsInput } from "../src/options.js";
import { detectSocket } from "../src/incus/endpoint.js";
import { CONTAINER_CA_FILE } from "../src/setup-script.js";
import { instanceName } from "../src/naming.js";
import lxcDefault, { lxc, lxcProvider } from "../src/index.js";
import { FakeIncus } from "./fake-incus.js";

/** tap's test object type (the last `t.test` overload takes just the callback). */
type TapTest = Parameters<Parameters<typeof t.test>[0]>[0];

/** A port free on this machine now: the provider checks the node port before creating anything. */
async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
const PORT = await freePort();
const OTHER_PORT = await freePort();

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@laptop";

function op(signal: AbortSignal = AbortSignal.timeout(10_000)): Op {
  return { signal, log: silentLogger };
}

function spec(overrides: Partial<WorkspaceSpec> = {}): WorkspaceSpec {
  return {
    workspaceId: "ws_01abc",
    name: "hello",
    sshPort: PORT,
    authorizedKeys: [KEY],
    labels: { "nexus.test-run": "run-1" },
    ...overrides,
  };
}

async function setup(t: TapTest, options: LxcOptionsInput = {}) {
  const fake = await FakeIncus.start();
  const provider = new LxcProvider({ log: silentLogger, env: {}, dataDir: fake.dir }, lxcOptionsSchema.parse({ socket: fake.socketPath, ...options }));
  t.teardown(async () => {
    await provider.dispose();
    await fake.close();
  });
  return { fake, provider };
}

async function rejectsWith(t: TapTest, promise: Promise<unknown>, code: string): Promise<any> {
  try {
    await promise;
  } catch (error) {
    t.ok(isNexusError(error), `a NexusError (${(error as Error).message})`);
    t.equal((error as { code?: string }).code, code);
    return error;
  }
  t.fail(`expected a ${code} rejection`);
  return undefined;
}

t.test("provision creates a labelled, limited, isolated container with an SSH proxy device", async (t) => {
  const { fake, provider } = await setup(t);
  const handle = await provider.provision(spec({ resources: { cpu: 1.5, memoryBytes: 2 * 1024 ** 3 }, sshBindAddress: "127.0.0.1" }), op());
  const [create] = fake.find("POST", "/1.0/instances");
  t.ok(create);
  const body = create!.json;
  t.equal(body.name, instanceName("hello", "ws_01abc"));
  t.match(body.name, /^nx-hello-[0-9a-f]{8}$/);
  t.same(body.source, { type: "image", alias: "nexus/debian-12" });
  t.equal(body.start, false);
  t.equal(body.type, "container");
  t.equal(body.config["user.nexus.managed"], "true");
  t.equal(body.config["user.nexus.workspace"], "ws_01abc");
  t.equal(body.config["user.nexus.name"], "hello");
  t.equal(body.config["user.nexus.test-run"], "run-1");
  t.equal(body.config["limits.cpu"], "2");
  t.equal(body.config["limits.cpu.allowance"], "150ms/100ms");
  t.equal(body.config["limits.memory"], `${2 * 1024 ** 3}B`);
  t.equal(body.config["security.privileged"], "false");
  t.equal(body.config["security.nesting"], "false");
  t.notOk(body.devices["nexus-ssh"], "the SSH port is attached once the container runs");
  const [attach] = fake.find("PATCH", `/1.0/instances/${body.name}`);
  t.same(attach!.json.devices["nexus-ssh"], { type: "proxy", listen: `tcp:127.0.0.1:${PORT}`, connect: "tcp:127.0.0.1:22", bind: "host" });
  t.same(attach!.json.devices.eth0, body.devices.eth0, "the other devices are kept");
  t.same(body.devices.eth0, { name: "eth0", network: "nexusbr0", type: "nic", "security.port_isolation": "true" });
  t.notOk(body.devices.root, "no root override unless a pool or disk size is asked for");

  t.equal(handle.provider, "lxc");
  t.equal(handle.id, body.name);
  t.equal(handle.workspaceId, "ws_01abc");
  t.equal(handle.sshPort, PORT);
  t.match(handle.hostKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/]+=*$/);
  const files = fake.instances.get(handle.id)!.files;
  t.equal(files.get("/etc/ssh/ssh_host_ed25519_key.pub")!.data.toString().trim(), handle.hostKey, "the seeded key is the one reported");
  t.match(files.get("/etc/ssh/ssh_host_ed25519_key")!.data.toString(), /^-----BEGIN OPENSSH PRIVATE KEY-----/);
  t.equal(files.get("/etc/ssh/ssh_host_ed25519_key")!.headers["x-incus-mode"], "0600");
  t.equal(files.get("/etc/systemd/system/nexus-ssh-hostkeys.service.d")!.headers["x-incus-type"], "directory");
  t.match(files.get("/etc/systemd/system/ssh.service.d/nexus-early.conf")!.data.toString(), /^DefaultDependencies=no$/m, "sshd does not wait for the whole of early boot");
  t.match(files.get("/etc/systemd/system/nexus-ssh-hostkeys.service.d/nexus-provider.conf")!.data.toString(), /^DefaultDependencies=no$/m, "nor does the unit it requires");
  t.equal(files.get("/etc/tmpfiles.d/systemd-nologin.conf")!.data.length, 0, "no /run/nologin at boot to refuse dev's first login");
  t.same(fake.find("PUT", `/1.0/instances/${handle.id}/state`).map((r) => r.json), [{ action: "start" }], "started after the key is in place");
  t.same(handle.labels, { "nexus.test-run": "run-1", "nexus.managed": "true", "nexus.workspace": "ws_01abc", "nexus.name": "hello" });

  const execs = fake.find("POST", `/1.0/instances/${body.name}/exec`);
  t.equal(execs.length, 1, "one exec sets the whole container up");
  const exec = execs[0]!.json;
  t.same(exec.command.slice(3), ["nexus-setup", "provision", "", KEY], "keys travel as positional arguments");
  t.equal(exec.command[0], "/bin/sh");
  t.equal(exec["record-output"], true);
  t.equal(exec["wait-for-websocket"], false);
  t.equal(exec.interactive, false);
  t.equal(fake.logs.size, 0, "exec output logs are deleted after reading");
});

t.test("isolation off and a storage pool option change the devices", async (t) => {
  const { fake, provider } = await setup(t, { isolation: false, storagePool: "fast" });
  await provider.provision(spec({ resources: { diskBytes: 10 * 1024 ** 3 } }), op());
  const body = fake.find("POST", "/1.0/instances")[0]!.json;
  t.notOk(body.devices.eth0, "the profile's NIC is used as is");
  t.same(body.devices.root, { type: "disk", path: "/", pool: "fast", size: `${10 * 1024 ** 3}B` });
});

t.test("an explicit network replaces the profile's NIC", async (t) => {
  const { fake, provider } = await setup(t, { network: "otherbr0" });
  await provider.provision(spec(), op());
  t.same(fake.find("POST", "/1.0/instances")[0]!.json.devices.eth0, { type: "nic", name: "eth0", network: "otherbr0", "security.port_isolation": "true" });
});

t.test("remote image references use the simplestreams source form", async (t) => {
  const { fake, provider } = await setup(t);
  await provider.provision(spec({ image: "images:debian/12" }), op());
  t.same(fake.find("POST", "/1.0/instances")[0]!.json.source, {
    type: "image",
    alias: "debian/12",
    server: "https://images.linuxcontainers.org",
    protocol: "simplestreams",
    mode: "pull",
  });
  await rejectsWith(t, provider.provision(spec({ workspaceId: "ws_2", image: "nowhere:debian/12" }), op()), "invalid_request");
});

t.test("provision is idempotent per workspace and starts a stopped container", async (t) => {
  const { fake, provider } = await setup(t);
  const first = await provider.provision(spec(), op());
  fake.instances.get(first.id)!.status = "Stopped";
  const second = await provider.provision(spec(), op());
  t.equal(second.id, first.id);
  t.equal(fake.find("POST", "/1.0/instances").filter((r) => r.path === "/1.0/instances").length, 1, "created once");
  t.same(fake.find("PUT", `/1.0/instances/${first.id}/state`).map((r) => r.json.action), ["start", "start"], "the first start, then the restart");
  t.equal(fake.instances.get(first.id)!.status, "Running");

  await provider.provision(spec({ sshPort: OTHER_PORT }), op());
  t.equal(fake.instances.get(first.id)!.devices["nexus-ssh"]!.listen, `tcp:0.0.0.0:${OTHER_PORT}`, "a changed SSH port is applied");
});

t.test("bad input is rejected before anything reaches the daemon", async (t) => {
  const { fake, provider } = await setup(t);
  await rejectsWith(t, provider.provision(spec({ authorizedKeys: [`${KEY}\ncommand="rm -rf /" ssh-ed25519 AAAA`] }), op()), "invalid_request");
  await rejectsWith(t, provider.provision(spec({ name: "Bad_Name" }), op()), "invalid_request");
  await rejectsWith(t, provider.provision(spec({ labels: { "Bad Key": "x" } }), op()), "invalid_request");
  await rejectsWith(t, provider.provision(spec({ sshPort: 70000 }), op()), "invalid_request");
  await rejectsWith(t, provider.provision(spec({ sshBindAddress: "localhost; rm" }), op()), "invalid_request");
  await rejectsWith(t, provider.exec({ provider: "lxc", id: "../../1.0", workspaceId: "x", labels: {} }, ["true"], op()), "invalid_request");
  t.equal(fake.find("POST", "/1.0/instances").length, 0);
});

t.test("long workspace names still give a valid Incus name", async (t) => {
  const name = instanceName("a".repeat(62) + "b", "ws_x");
  t.ok(name.length <= 63);
  t.match(name, /^nx-a+-[0-9a-f]{8}$/);
  t.equal(instanceName("ab-" + "c".repeat(49) + "-d", "ws_x").includes("--"), false, "no dash left dangling where the name was cut");
});

t.test("a missing image alias is provision_failed naming the alias and the build command", async (t) => {
  const { fake, provider } = await setup(t);
  fake.aliases.clear();
  const error = await rejectsWith(t, provider.provision(spec(), op()), "provision_failed");
  t.match(error.message, /nexus\/debian-12/);
  t.match(error.hint, /nexus node image build/);
  t.equal(fake.instances.size, 0);
});

t.test("Incus's internal deadline on create is retried (transient); a third one is provision_failed", async (t) => {
  const { fake, provider } = await setup(t);
  fake.createFailures = 2;
  const handle = await provider.provision(spec(), op());
  t.ok(handle.id, "provisioned on the third try");
  t.equal(fake.requests.filter((r) => r.method === "POST" && r.path === "/1.0/instances").length, 3);
  await provider.destroy(handle, op());
  fake.createFailures = 3;
  const error = await rejectsWith(t, provider.provision(spec(), op()), "provision_failed");
  t.match(error.details.backend, /context deadline exceeded/);
  t.equal(fake.instances.size, 0);
  const posts = () => fake.requests.filter((r) => r.method === "POST" && r.path === "/1.0/instances").length;
  const before = posts();
  fake.createFailures = 2;
  fake.createFailure = "Failed creating instance from image: no space left on device";
  await rejectsWith(t, provider.provision(spec(), op()), "provision_failed");
  t.equal(posts() - before, 1, "other failures are not retried");
});

t.test("a busy SSH port is provision_failed and leaves no container behind", async (t) => {
  const { fake, provider } = await setup(t);
  fake.proxyFailure = `Failed to start device "nexus-ssh": Error occurred when starting proxy device: listen tcp 0.0.0.0:${PORT}: bind: address already in use`;
  const error = await rejectsWith(t, provider.provision(spec(), op()), "provision_failed");
  t.match(error.details.backend, /address already in use/);
  t.match(error.hint, /port/);
  t.equal(fake.instances.size, 0);
});

t.test("a port already bound on the node fails at once, before anything is created", async (t) => {
  const { fake, provider } = await setup(t);
  const squatter = createNetServer();
  await new Promise<void>((resolve) => squatter.listen(OTHER_PORT, "0.0.0.0", resolve));
  t.teardown(() => void squatter.close());
  const error = await rejectsWith(t, provider.provision(spec({ sshPort: OTHER_PORT }), op()), "provision_failed");
  t.match(error.message, new RegExp(`port ${OTHER_PORT} is already in use`));
  t.equal(fake.find("POST", "/1.0/instances").length, 0);
});

t.test("a failing setup script is provision_failed with its stderr, and the container is removed", async (t) => {
  const { fake, provider } = await setup(t);
  fake.onExec = () => ({ return: 3, stderr: "user dev exists with uid 1001, expected 1000\n" });
  const error = await rejectsWith(t, provider.provision(spec(), op()), "provision_failed");
  t.match(error.message, /uid 1001/);
  t.equal(error.details.exitCode, 3);
  t.equal(fake.instances.size, 0);
});

t.test("a missing socket is provider_unavailable; health reports it without throwing", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "nexus-nosock-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const provider = new LxcProvider({ log: silentLogger, env: {}, dataDir: dir }, lxcOptionsSchema.parse({ socket: join(dir, "unix.socket") }));
  t.teardown(() => provider.dispose());
  const error = await rejectsWith(t, provider.list(op()), "provider_unavailable");
  t.match(error.message, /unix\.socket/);
  const health = await provider.health(op());
  t.equal(health.ok, false);
  t.match(health.reason, /cannot reach/);

  const auto = new LxcProvider({ log: silentLogger, env: {}, dataDir: dir }, lxcOptionsSchema.parse({}), { socketCandidates: [join(dir, "a.socket"), join(dir, "b.socket")] });
  t.teardown(() => auto.dispose());
  const notFound = await rejectsWith(t, auto.provision(spec(), op()), "provider_unavailable");
  t.match(notFound.message, /a\.socket.*b\.socket/);
});

t.test("health: version, dir-pool and missing-image warnings", async (t) => {
  const { fake, provider } = await setup(t);
  const healthy = await provider.health(op());
  t.same(healthy, { ok: true, version: "6.0.4" });

  fake.pools.nexus = "dir";
  fake.aliases.clear();
  const warned = await provider.health(op());
  t.equal(warned.ok, true);
  t.match(warned.warnings?.join("\n"), /storage pool nexus uses the dir driver/);
  t.match(warned.warnings?.join("\n"), /nexus\/debian-12 is not imported/);
});

t.test("socket auto-detection tries Incus, then LXD, then the LXD snap, and skips non-sockets", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "nexus-sockets-"));
  const servers: NetServer[] = [];
  t.teardown(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    rmSync(dir, { recursive: true, force: true });
  });
  const listen = (path: string) =>
    new Promise<void>((resolve) => {
      const server = createNetServer();
      servers.push(server);
      server.listen(path, resolve);
    });
  const incus = join(dir, "incus.socket");
  const lxd = join(dir, "lxd.socket");
  const snap = join(dir, "snap.socket");
  writeFileSync(incus, "not a socket");
  await listen(lxd);
  await listen(snap);
  t.equal(await detectSocket([incus, lxd, snap]), lxd, "a regular file is not a socket");
  t.equal(await detectSocket([join(dir, "missing"), snap, lxd]), snap, "first match wins");
  t.equal(await detectSocket([join(dir, "missing")]), undefined);
});

t.test("exec separates stdout, stderr and exit code, and maps users, cwd and env", async (t) => {
  const { fake, provider } = await setup(t);
  const handle = await provider.provision(spec(), op());
  fake.instances.get(handle.id)!.files.set("/etc/passwd", { data: Buffer.from("root:x:0:0:root:/root:/bin/bash\ndev:x:1000:1000::/home/dev:/bin/bash\n"), headers: {} });
  fake.onExec = (_i, command) => ({ return: 7, stdout: `out:${command.join(" ")}`, stderr: "err!" });
  const result = await provider.exec(handle, ["printf", "%s", "a b"], op(), { user: "dev", cwd: "/home/dev", env: { FOO: "bar" } });
  t.same(result, { exitCode: 7, stdout: "out:printf %s a b", stderr: "err!" });
  const body = fake.find("POST", `/1.0/instances/${handle.id}/exec`).at(-1)!.json;
  t.same(body.command, ["printf", "%s", "a b"]);
  t.equal(body.user, 1000);
  t.equal(body.group, 1000);
  t.equal(body.cwd, "/home/dev");
  t.same(body.environment, { FOO: "bar", HOME: "/home/dev", USER: "dev", LOGNAME: "dev" });
  t.equal(fake.logs.size, 0);

  const asRoot = await provider.exec(handle, ["id"], op());
  t.equal(asRoot.exitCode, 7);
  t.equal(fake.find("POST", `/1.0/instances/${handle.id}/exec`).at(-1)!.json.user, 0);
  await rejectsWith(t, provider.exec(handle, ["id"], op(), { user: "nobody-here" }), "invalid_request");
  await rejectsWith(t, provider.exec(handle, ["id"], op(), { env: { "BAD-NAME": "x" } }), "invalid_request");
  await rejectsWith(t, provider.exec(handle, [], op()), "invalid_request");
});

t.test("exec with stdin stages a private file and keeps argv positional", async (t) => {
  const { fake, provider } = await setup(t);
  const handle = await provider.provision(spec(), op());
  await provider.exec(handle, ["cat", "; rm -rf /"], op(), { stdin: "hello\n" });
  const instance = fake.instances.get(handle.id)!;
  const staged = [...instance.files.entries()].find(([path]) => path.startsWith("/var/tmp/.nexus-stdin-"));
  t.ok(staged, "stdin written with the files API");
  t.equal(staged![1].data.toString(), "hello\n");
  t.equal(staged![1].headers["x-incus-mode"], "0600");
  const command = fake.find("POST", `/1.0/instances/${handle.id}/exec`).at(-1)!.json.command;
  t.same(command.slice(0, 2), ["/bin/sh", "-c"]);
  t.same(command.slice(3), ["nexus-stdin", staged![0], "cat", "; rm -rf /"]);
});

t.test("writeFile sends mode and ownership headers for Incus and LXD", async (t) => {
  const { fake, provider } = await setup(t);
  const handle = await provider.provision(spec(), op());
  await provider.writeFile(handle, "/home/dev/notes.txt", "hi", op(), { mode: 0o640, uid: 1000, gid: 1000 });
  const [req] = fake.find("POST", `/1.0/instances/${handle.id}/files`).filter((r) => r.query.get("path") === "/home/dev/notes.txt");
  t.equal(req!.body.toString(), "hi");
  t.match(req!.headers, { "x-incus-mode": "0640", "x-incus-uid": "1000", "x-incus-gid": "1000", "x-incus-type": "file", "x-lxd-mode": "0640", "x-lxd-uid": "1000" });
  await rejectsWith(t, provider.writeFile(handle, "relative/path", "x", op()), "invalid_request");
  await rejectsWith(t, provider.writeFile(handle, "/etc/../x", "x", op()), "invalid_request");
});

t.test("inspect, list, start, stop and destroy", async (t) => {
  const { fake, provider } = await setup(t);
  const handle = await provider.provision(spec(), op());
  fake.instances.set("unmanaged", { name: "unmanaged", status: "Running", config: {}, devices: {}, files: new Map() });

  t.same(await provider.inspect(handle, op()), {
    state: "running",
    address: "10.213.0.50",
    sshPort: PORT,
    labels: { "nexus.test-run": "run-1", "nexus.managed": "true", "nexus.workspace": "ws_01abc", "nexus.name": "hello" },
  });
  const listed = await provider.list(op());
  t.same(listed.map((h) => h.id), [handle.id], "only nexus-managed containers");
  t.equal(listed[0]!.workspaceId, "ws_01abc");
  t.equal(listed[0]!.sshPort, PORT);

  await provider.stop(handle, op());
  t.same(fake.find("PUT", `/1.0/instances/${handle.id}/state`).at(-1)!.json, { action: "stop", timeout: 10, force: false });
  t.equal((await provider.inspect(handle, op())).state, "stopped");
  const puts = fake.find("PUT", `/1.0/instances/${handle.id}/state`).length;
  await provider.stop(handle, op());
  t.equal(fake.find("PUT", `/1.0/instances/${handle.id}/state`).length, puts, "stopping a stopped container is a no-op");

  await rejectsWith(t, provider.exec(handle, ["true"], op()), "invalid_transition");
  const execsBefore = fake.find("POST", `/1.0/instances/${handle.id}/exec`).length;
  await provider.start(handle, op());
  t.equal((await provider.inspect(handle, op())).state, "running");
  const lastExec = fake.find("POST", `/1.0/instances/${handle.id}/exec`);
  t.equal(lastExec.length, execsBefore + 1, "start brings sshd back");
  t.same(lastExec.at(-1)!.json.command.slice(3, 5), ["nexus-setup", "sshd"]);

  await provider.destroy(handle, op());
  t.notOk(fake.instances.has(handle.id));
  t.same(await provider.inspect(handle, op()), { state: "absent" });
  await provider.destroy(handle, op());
  t.pass("destroying an absent container succeeds");
  await rejectsWith(t, provider.exec(handle, ["true"], op()), "workspace_not_found");
  await rejectsWith(t, provider.start(handle, op()), "workspace_not_found");
  await rejectsWith(t, provider.stop(handle, op()), "workspace_not_found");
});

t.test("a stop that fails cleanly falls back to force", async (t) => {
  const { fake, provider } = await setup(t, { stopTimeoutSeconds: 1 });
  const handle = await provider.provision(spec(), op());
  fake.cleanStopFailures = 1;
  await provider.stop(handle, op());
  const bodies = fake.find("PUT", `/1.0/instances/${handle.id}/state`).map((r) => r.json);
  t.same(bodies.slice(1), [{ action: "stop", timeout: 1, force: false }, { action: "stop", timeout: -1, force: true }]);
  t.equal(fake.instances.get(handle.id)!.status, "Stopped");
});

t.test("aborting a wait cancels the operation and rejects with timeout", async (t) => {
  const { fake, provider } = await setup(t);
  const handle = await provider.provision(spec(), op());
  fake.holdExec = true;
  const controller = new AbortController();
  const pending = provider.exec(handle, ["sleep", "100"], op(controller.signal));
  await new Promise((r) => setTimeout(r, 100));
  controller.abort();
  const error = await rejectsWith(t, pending, "timeout");
  t.match(error.message, /exec sleep was cancelled/);
  t.equal(error.details.aborted, true);
  const cancels = fake.find("DELETE", "/1.0/operations/");
  t.equal(cancels.length, 1, "the running operation was cancelled");
  t.equal(fake.operations.get(cancels[0]!.path.split("/")[3]!)?.status_code, 401);
});

t.test("a provision aborted mid-way rejects and removes its container", async (t) => {
  const { fake, provider } = await setup(t);
  fake.holdExec = true;
  const controller = new AbortController();
  const pending = provider.provision(spec(), op(controller.signal));
  while (fake.find("POST", "/1.0/instances/").filter((r) => r.path.endsWith("/exec")).length === 0) await new Promise((r) => setTimeout(r, 10));
  t.equal(fake.instances.size, 1, "the container exists while its setup runs");
  controller.abort();
  const error = await rejectsWith(t, pending, "timeout");
  t.match(error.message, /cancelled/);
  t.equal(fake.instances.size, 0, "no orphan");
  const pre = new AbortController();
  pre.abort();
  await rejectsWith(t, provider.provision(spec({ workspaceId: "ws_pre" }), op(pre.signal)), "timeout");
  t.equal(fake.find("POST", "/1.0/instances").filter((r) => r.path === "/1.0/instances").length, 1, "an already-aborted provision creates nothing");
});

t.test("CA injection adds only the certificates the container lacks", async (t) => {
  const { fake, provider } = await setup(t);
  const cert = (n: string) => `-----BEGIN CERTIFICATE-----\n${n.repeat(64)}\n-----END CERTIFICATE-----`;
  // The image already trusts A; the caller asks for A and the proxy's B.
  fake.imageFiles.set("/etc/ssl/certs/ca-certificates.crt", `${cert("A")}\n`);
  const handle = await provider.provision(spec({ caBundle: `${cert("A")}\n${cert("B")}\n` }), op());
  const injected = fake.instances.get(handle.id)!.files.get(CONTAINER_CA_FILE);
  t.ok(injected, "the missing certificate is written");
  t.ok(injected!.data.toString().includes("BBBB"));
  t.notOk(injected!.data.toString().includes("AAAA"), "certificates the container has are not duplicated");
  t.equal(injected!.headers["x-incus-mode"], "0644");
  const command = fake.find("POST", `/1.0/instances/${handle.id}/exec`)[0]!.json.command;
  t.equal(command[5], CONTAINER_CA_FILE, "the setup script gets the CA file");

  const second = await provider.provision(spec({ workspaceId: "ws_02", caBundle: `${cert("A")}\n` }), op());
  t.notOk(fake.instances.get(second.id)!.files.has(CONTAINER_CA_FILE), "nothing to inject, nothing written");
  t.equal(fake.find("POST", `/1.0/instances/${second.id}/exec`)[0]!.json.command[5], "");
});

t.test("the descriptor: named, default and lxc() tuple exports, options validated", async (t) => {
  t.equal(lxcDefault, lxcProvider);
  t.equal(lxcProvider.name, "lxc");
  t.equal(lxcProvider.kind, "provider");
  const [descriptor, options] = lxc({ storagePool: "nexus" });
  t.equal(descriptor, lxcProvider);
  t.same(options, { storagePool: "nexus" });
  const parsed = lxcOptionsSchema.parse({});
  t.same(parsed, { image: "nexus/debian-12", injectCaBundle: false, isolation: true, stopTimeoutSeconds: 10 });
  t.notOk(lxcOptionsSchema.safeParse({ socket: "/x", remote: { url: "https://h:8443", cert: "c", key: "k" } }).success, "socket and remote exclude each other");
  t.notOk(lxcOptionsSchema.safeParse({ remote: { url: "http://h:8443", cert: "c", key: "k" } }).success, "remote must be https");
  t.notOk(lxcOptionsSchema.safeParse({ storagePool: "bad pool" }).success);
  t.notOk(lxcOptionsSchema.safeParse({ image: "x; rm" }).success);
});
