import { getEventListeners } from "node:events";
import { createServer } from "node:net";
import { LABELS, isNexusError, silentLogger, type Op, type WorkspaceSpec } from "@nexus/core";
import t from "tap";
import { BOOT_SCRIPT } from "../src/boot.js";
import { dockerOptionsSchema, type DockerOptionsInput } from "../src/options.js";
import { createDockerProvider, type DockerProvider } from "../src/provider.js";
import { FAKE_HOST_KEY, FakeEngine } from "./fake-engine.js";

const USER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop";

function op(): Op {
  return { signal: AbortSignal.timeout(10_000), log: silentLogger };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0];

async function setup(t: TapTest, options: DockerOptionsInput = {}): Promise<{ engine: FakeEngine; provider: DockerProvider }> {
  const engine = await FakeEngine.start();
  const provider = createDockerProvider({ log: silentLogger, env: {}, dataDir: "/nonexistent" }, dockerOptionsSchema.parse({ socket: engine.socketPath, ...options })) as DockerProvider;
  t.teardown(async () => {
    await provider.dispose();
    await engine.close();
  });
  return { engine, provider };
}

async function spec(overrides: Partial<WorkspaceSpec> = {}): Promise<WorkspaceSpec> {
  return {
    workspaceId: "ws_01jabcdefgh",
    name: "api",
    sshPort: await freePort(),
    authorizedKeys: [USER_KEY],
    labels: { [LABELS.testRun]: "run-1" },
    ...overrides,
  };
}

t.test("health reports the engine version and a missing base image as a warning", async (t) => {
  const { engine, provider } = await setup(t);
  engine.images.clear();
  const health = await provider.health(op());
  t.equal(health.ok, true);
  t.match(health.version, /20\.10\.24-fake.*API 1\.41/);
  t.match(health.warnings?.[0], /nexus\/debian-12 is missing.*nexus node image build --provider docker/);
  t.ok(engine.requests.filter((r) => r.path !== "/_ping").every((r) => r.version === "1.41"), "versioned calls use the pinned API");
});

t.test("health is ok:false, never a throw, when the socket is missing", async (t) => {
  const provider = createDockerProvider({ log: silentLogger, env: {}, dataDir: "/x" }, dockerOptionsSchema.parse({ socket: "/nonexistent/docker.sock" }));
  t.teardown(() => provider.dispose());
  const health = await provider.health(op());
  t.equal(health.ok, false);
  t.match(health.reason, /cannot reach the Docker Engine at unix:\/\/\/nonexistent\/docker\.sock \(ENOENT\)/);
});

t.test("an unreachable engine is provider_unavailable at the edge", async (t) => {
  const provider = createDockerProvider({ log: silentLogger, env: {}, dataDir: "/x" }, dockerOptionsSchema.parse({ socket: "/nonexistent/docker.sock" }));
  t.teardown(() => provider.dispose());
  await t.rejects(provider.list(op()), { code: "provider_unavailable" });
  await t.rejects(provider.provision(await spec(), op()), { code: "provider_unavailable" });
});

t.test("an older engine is spoken to in its own API version", async (t) => {
  const { engine, provider } = await setup(t);
  engine.apiVersion = "1.40";
  await provider.list(op());
  t.equal(engine.calls("GET", "/containers/json")[0]?.version, "1.40");
});

t.test("an engine older than the minimum is provider_unavailable", async (t) => {
  const { engine, provider } = await setup(t);
  engine.apiVersion = "1.30";
  await t.rejects(provider.list(op()), { code: "provider_unavailable", message: /API 1\.30/ });
});

t.test("provision creates a labelled, isolated container, writes keys, waits for sshd and returns the host key", async (t) => {
  const { engine, provider } = await setup(t);
  const s = await spec({ resources: { cpu: 1.5, memoryBytes: 512 * 1024 * 1024 }, sshBindAddress: "127.0.0.1" });
  const handle = await provider.provision(s, op());

  t.equal(handle.provider, "docker");
  t.equal(handle.workspaceId, s.workspaceId);
  t.equal(handle.hostKey, FAKE_HOST_KEY, "the comment is dropped");
  t.equal(handle.sshPort, s.sshPort);
  t.match(handle.labels, { [LABELS.managed]: "true", [LABELS.workspace]: s.workspaceId, [LABELS.name]: "api", [LABELS.testRun]: "run-1" });

  const network = engine.calls("POST", "/networks/create")[0]?.json;
  t.match(network, { Name: "nexus-isolated", Driver: "bridge", Options: { "com.docker.network.bridge.enable_icc": "false" }, Labels: { "nexus.managed": "true" } });

  const create = engine.calls("POST", "/containers/create")[0]!;
  t.equal(create.query.get("name"), "nx-api-abcdefgh");
  t.same(create.json.Entrypoint, ["/bin/sh", "-c", BOOT_SCRIPT, "nexus-boot"], "the boot script is the constant");
  t.equal(create.json.Image, "nexus/debian-12");
  t.match(create.json.HostConfig, {
    PortBindings: { "22/tcp": [{ HostIp: "127.0.0.1", HostPort: String(s.sshPort) }] },
    NetworkMode: "nexus-isolated",
    NanoCpus: 1_500_000_000,
    Memory: 512 * 1024 * 1024,
    Init: true,
    RestartPolicy: { Name: "no" },
  });
  t.same(create.json.NetworkingConfig, { EndpointsConfig: { "nexus-isolated": {} } });

  const archive = engine.calls("PUT", /\/archive$/)[0]!;
  t.equal(archive.query.get("path"), "/");
  const byPath = new Map(archive.tar!.map((e) => [e.path, e]));
  t.match(byPath.get("home/dev/.ssh/"), { type: "Directory", mode: 0o700, uid: 1000, gid: 1000 });
  t.match(byPath.get("home/dev/.ssh/authorized_keys"), { type: "File", mode: 0o600, uid: 1000, gid: 1000 });
  t.equal(byPath.get("home/dev/.ssh/authorized_keys")?.data.toString(), `${USER_KEY}\n`);
  t.match(byPath.get("etc/sudoers.d/nexus-dev"), { mode: 0o440, uid: 0 });
  t.notOk(byPath.has("etc/nexus/ca-bundle.pem"), "no CA bundle unless asked");

  const order = engine.requests.map((r) => `${r.method} ${r.path}`);
  const id = handle.id;
  t.ok(order.indexOf(`PUT /containers/${id}/archive`) < order.indexOf(`POST /containers/${id}/start`), "keys are written before the first start");
});

t.test("provision is idempotent per workspace id, also for concurrent calls", async (t) => {
  const { engine, provider } = await setup(t);
  const s = await spec();
  const [a, b] = await Promise.all([provider.provision(s, op()), provider.provision(s, op())]);
  const c = await provider.provision(s, op());
  t.equal(a.id, b.id);
  t.equal(a.id, c.id);
  t.equal(engine.calls("POST", "/containers/create").length, 1);
  t.equal(c.hostKey, FAKE_HOST_KEY);
});

t.test("provision of an existing stopped workspace starts it again", async (t) => {
  const { engine, provider } = await setup(t);
  const s = await spec();
  const first = await provider.provision(s, op());
  await provider.stop(first, op());
  const again = await provider.provision(s, op());
  t.equal(again.id, first.id);
  t.equal(engine.containers.get(first.id)?.State.Running, true);
});

t.test("a container left created-but-never-started gets its files before it is started", async (t) => {
  const { engine, provider } = await setup(t);
  const s = await spec();
  engine.failWith = (r) => (r.method === "PUT" ? { status: 500, message: "disk full" } : undefined);
  await t.rejects(provider.provision(s, op()), { code: "provision_failed", message: /disk full/ });
  t.equal(engine.containers.size, 0, "a failed provision removes its container");
  engine.failWith = undefined;
  // A provision interrupted by a crash leaves exactly this behind.
  const body = { Image: "nexus/debian-12", Labels: { [LABELS.managed]: "true", [LABELS.workspace]: s.workspaceId }, HostConfig: { PortBindings: { "22/tcp": [{ HostIp: "0.0.0.0", HostPort: String(s.sshPort) }] }, NetworkMode: "nexus-isolated" } };
  engine.containers.set("c".repeat(64), { Id: "c".repeat(64), Name: "leftover", body, Labels: body.Labels, State: { Status: "created", Running: false, ExitCode: 0, Error: "", OOMKilled: false }, files: new Map(), ip: "172.30.0.9", logs: [] });
  const handle = await provider.provision(s, op());
  t.equal(handle.id, "c".repeat(64));
  t.equal(engine.containers.get(handle.id)?.files.get("/home/dev/.ssh/authorized_keys")?.data.toString(), `${USER_KEY}\n`);
});

t.test("a CA bundle is staged for the boot script and Node is pointed at it", async (t) => {
  const { tempTree } = await import("@nexus/test-utils");
  const tree = tempTree({ "host-ca.crt": "-----BEGIN CERTIFICATE-----\nHOST\n-----END CERTIFICATE-----\n" });
  t.teardown(tree.cleanup);
  const { engine, provider } = await setup(t, { injectCaBundle: true, caBundlePath: `${tree.dir}/host-ca.crt` });
  await provider.provision(await spec({ caBundle: "-----BEGIN CERTIFICATE-----\nEXTRA\n-----END CERTIFICATE-----" }), op());
  const entry = engine.calls("PUT", /\/archive$/)[0]!.tar!.find((e) => e.path === "etc/nexus/ca-bundle.pem");
  t.match(entry?.data.toString(), /HOST[\s\S]*EXTRA/);
  t.same(engine.calls("POST", "/containers/create")[0]!.json.Env, ["NODE_EXTRA_CA_CERTS=/etc/nexus/ca-bundle.pem"]);
});

t.test("an unreadable host CA bundle fails provisioning clearly", async (t) => {
  const { provider } = await setup(t, { injectCaBundle: true, caBundlePath: "/nonexistent/ca.crt" });
  await t.rejects(provider.provision(await spec(), op()), { code: "provision_failed", message: /\/nonexistent\/ca\.crt/ });
});

t.test("a missing image is provision_failed naming the image and the build command", async (t) => {
  const { engine, provider } = await setup(t);
  engine.images.clear();
  const error = await provider.provision(await spec({ image: "acme/dev:1" }), op()).catch((e: unknown) => e);
  t.ok(isNexusError(error));
  t.match(error, { code: "provision_failed", message: /acme\/dev:1/, hint: /nexus node image build --provider docker/ });
});

t.test("a taken SSH port is provision_failed saying so, and the half-made container is removed", async (t) => {
  const { engine, provider } = await setup(t);
  const port = await freePort();
  await provider.provision(await spec({ workspaceId: "ws_first0001", name: "one", sshPort: port }), op());
  const error = await provider.provision(await spec({ workspaceId: "ws_second002", name: "two", sshPort: port }), op()).catch((e: unknown) => e);
  t.match(error, { code: "provision_failed", message: new RegExp(`SSH port ${port} is already in use`) });
  t.equal(engine.containers.size, 1, "the failed container was removed");
  t.equal(engine.calls("DELETE", /^\/containers\//).length, 1);
});

t.test("an existing network that allows inter-container traffic is refused", async (t) => {
  const { engine, provider } = await setup(t);
  engine.networks.set("nexus-isolated", { Name: "nexus-isolated", Driver: "bridge", Options: {} });
  await t.rejects(provider.provision(await spec(), op()), { code: "provision_failed", message: /lets containers reach each other/ });
  t.equal(engine.containers.size, 0);
});

t.test("a network removed behind the provider's back is recreated", async (t) => {
  const { engine, provider } = await setup(t);
  await provider.provision(await spec({ workspaceId: "ws_aaaa0001", name: "a" }), op());
  engine.networks.clear();
  await provider.provision(await spec({ workspaceId: "ws_bbbb0002", name: "b" }), op());
  t.equal(engine.calls("POST", "/networks/create").length, 2);
  t.equal(engine.containers.size, 2);
});

t.test("sshd that never answers times out in phase ssh_ready; a dead container fails fast with its output", async (t) => {
  const { engine, provider } = await setup(t);
  engine.sshComesUp = false;
  const aborted = new AbortController();
  setTimeout(() => aborted.abort(), 300);
  await t.rejects(provider.provision(await spec(), { signal: aborted.signal, log: silentLogger }), { code: "timeout" });
  t.equal(engine.containers.size, 0, "cleaned up after cancellation");

  const dying = await spec({ workspaceId: "ws_dying0001" });
  const attempt = provider.provision(dying, op());
  const interval = setInterval(() => {
    for (const c of engine.containers.values()) if (c.State.Running) c.State = { ...c.State, Status: "exited", Running: false, ExitCode: 1 };
  }, 20);
  t.teardown(() => clearInterval(interval));
  const error = await attempt.catch((e: unknown) => e);
  t.match(error, { code: "provision_failed", message: /exited/, details: { containerOutput: ["Server listening on 0.0.0.0 port 22."] } });
});

t.test("exec demultiplexes stdout/stderr split across chunks and reports the exit code", async (t) => {
  const { engine, provider } = await setup(t);
  const handle = await provider.provision(await spec(), op());
  engine.execRunningPolls = 2;
  engine.onExec = () => ({ stdout: "out-1\nout-2\n".repeat(50), stderr: "err\n", exitCode: 3, chunkBytes: 5 });
  const result = await provider.exec(handle, ["sh", "-c", "echo hi; exit 3"], op(), { user: "dev", cwd: "/home/dev", env: { A: "1 2", B: "$(x)" } });
  t.equal(result.exitCode, 3);
  t.equal(result.stdout, "out-1\nout-2\n".repeat(50));
  t.equal(result.stderr, "err\n");
  const created = engine.calls("POST", /\/exec$/)[0]!.json;
  t.same(created, { AttachStdin: false, AttachStdout: true, AttachStderr: true, Tty: false, Cmd: ["sh", "-c", "echo hi; exit 3"], Env: ["A=1 2", "B=$(x)"], User: "dev", WorkingDir: "/home/dev" });
  const start = engine.calls("POST", /^\/exec\/.*\/start$/)[0]!;
  t.equal(start.upgrade, true, "exec start hijacks the connection");
  t.same(start.json, { Detach: false, Tty: false });
});

t.test("exec passes stdin through the hijacked connection and closes it", async (t) => {
  const { engine, provider } = await setup(t);
  const handle = await provider.provision(await spec(), op());
  engine.onExec = ({ stdin }) => ({ stdout: stdin.toString().toUpperCase(), exitCode: 0 });
  const result = await provider.exec(handle, ["tr", "a-z", "A-Z"], op(), { stdin: "hello\nworld" });
  t.equal(result.stdout, "HELLO\nWORLD");
  t.equal(engine.calls("POST", /\/exec$/)[0]!.json.AttachStdin, true);
  const binary = await provider.exec(handle, ["cat"], op(), { stdin: new Uint8Array([0x61, 0x62]) });
  t.equal(binary.stdout, "AB");
});

t.test("exec leaves no listener on the caller's signal (it would keep the request's socket and output alive)", async (t) => {
  const { engine, provider } = await setup(t);
  const handle = await provider.provision(await spec(), op());
  engine.onExec = () => ({ stdout: "x".repeat(64 * 1024), exitCode: 0 });
  const signal = AbortSignal.timeout(60_000);
  for (let i = 0; i < 3; i++) await provider.exec(handle, ["true"], { signal, log: silentLogger });
  // undici lets go of its own listener once a response body has closed, a tick later.
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(getEventListeners(signal, "abort").length, 0);
});

t.test("a program the runtime cannot start is reported like a shell would: 127 and the message on stderr", async (t) => {
  const { engine, provider } = await setup(t);
  const handle = await provider.provision(await spec(), op());
  engine.onExec = () => ({ stdout: 'OCI runtime exec failed: exec failed: unable to start container process: exec: "nope": executable file not found in $PATH: unknown\r\n', exitCode: 126 });
  const result = await provider.exec(handle, ["nope"], op());
  t.equal(result.exitCode, 127);
  t.equal(result.stdout, "");
  t.match(result.stderr, /executable file not found/);
  engine.onExec = () => ({ stdout: "OCI runtime exec failed: permission denied: unknown\r\n", exitCode: 126 });
  t.equal((await provider.exec(handle, ["/etc/passwd"], op())).exitCode, 126);
  engine.onExec = () => ({ stdout: "OCI runtime exec failed is just text here\n", exitCode: 0 });
  t.equal((await provider.exec(handle, ["echo"], op())).stdout, "OCI runtime exec failed is just text here\n", "only a failed start is rewritten");
});

t.test("cancelling while the container is being created leaves no container behind", async (t) => {
  const { engine, provider } = await setup(t);
  engine.createDelayMs = 200;
  const controller = new AbortController();
  // Cancelled once the create request is at the engine (not after a fixed time: a busy machine may not be there yet).
  const cancel = (async () => {
    while (engine.calls("POST", "/containers/create").length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
  })();
  await t.rejects(provider.provision(await spec(), { signal: controller.signal, log: silentLogger }), { code: "timeout", message: /cancelled/ });
  await cancel;
  t.equal(engine.calls("POST", "/containers/create").length, 1, "the create request reached the engine");
  t.equal(engine.containers.size, 0, "and its container was removed");
  t.equal(engine.calls("POST", /\/start$/).length, 0, "nothing was started");
});

t.test("exec validates its input and refuses a stopped container", async (t) => {
  const { provider } = await setup(t);
  const handle = await provider.provision(await spec(), op());
  await t.rejects(provider.exec(handle, [], op()), { code: "invalid_request" });
  await t.rejects(provider.exec(handle, ["a\0b"], op()), { code: "invalid_request" });
  await t.rejects(provider.exec(handle, ["ls"], op(), { env: { "BAD-NAME": "x" } }), { code: "invalid_request" });
  await t.rejects(provider.exec(handle, ["ls"], op(), { cwd: "relative" }), { code: "invalid_request" });
  await t.rejects(provider.exec(handle, ["ls"], op(), { user: "dev; rm -rf /" }), { code: "invalid_request" });
  await provider.stop(handle, op());
  await t.rejects(provider.exec(handle, ["ls"], op()), { code: "invalid_transition" });
});

t.test("exec start errors keep the engine's message", async (t) => {
  const { engine, provider } = await setup(t);
  const handle = await provider.provision(await spec(), op());
  engine.failWith = (r) => (r.upgrade ? { status: 500, message: "OCI runtime exec failed: boom" } : undefined);
  await t.rejects(provider.exec(handle, ["ls"], op()), { code: "internal_error", message: /OCI runtime exec failed: boom/ });
});

t.test("writeFile puts one tar entry with mode and owner; a missing directory is invalid_request", async (t) => {
  const { engine, provider } = await setup(t);
  const handle = await provider.provision(await spec(), op());
  await provider.writeFile(handle, "/home/dev/.gitconfig", "[user]\n\tname = Dev\n", op(), { mode: 0o600, uid: 1000, gid: 1000 });
  const put = engine.calls("PUT", /\/archive$/).at(-1)!;
  t.equal(put.query.get("path"), "/home/dev");
  t.equal(put.tar!.length, 1);
  t.match(put.tar![0], { path: ".gitconfig", mode: 0o600, uid: 1000, gid: 1000 });
  t.equal(put.tar![0]!.data.toString(), "[user]\n\tname = Dev\n");
  await t.rejects(provider.writeFile(handle, "/nope/file", "x", op()), { code: "invalid_request", message: /\/nope does not exist/ });
  await t.rejects(provider.writeFile(handle, "/home/dev/../../etc/passwd", "x", op()), { code: "invalid_request" });
  await t.rejects(provider.writeFile(handle, "relative/file", "x", op()), { code: "invalid_request" });
});

t.test("inspect maps states, reports the isolation-network address; absent is not an error", async (t) => {
  const { engine, provider } = await setup(t);
  const handle = await provider.provision(await spec(), op());
  const running = await provider.inspect(handle, op());
  t.match(running, { state: "running", address: /^172\.30\.0\.\d+$/, sshPort: handle.sshPort, labels: { [LABELS.workspace]: handle.workspaceId } });
  await provider.stop(handle, op());
  const stopped = await provider.inspect(handle, op());
  t.equal(stopped.state, "stopped");
  t.notOk(stopped.address);
  engine.containers.get(handle.id)!.State.OOMKilled = true;
  t.equal((await provider.inspect(handle, op())).state, "error");
  await provider.destroy(handle, op());
  t.same(await provider.inspect(handle, op()), { state: "absent" });
});

t.test("start and stop are idempotent; start waits for sshd again", async (t) => {
  const { engine, provider } = await setup(t);
  const handle = await provider.provision(await spec(), op());
  await provider.stop(handle, op());
  await provider.stop(handle, op());
  t.equal(engine.calls("POST", /\/stop$/)[0]!.query.get("t"), "10");
  await provider.start(handle, op());
  await provider.start(handle, op());
  t.equal(engine.containers.get(handle.id)?.State.Running, true);
});

t.test("destroy force-removes with volumes; absent is success", async (t) => {
  const { engine, provider } = await setup(t);
  const handle = await provider.provision(await spec(), op());
  await provider.destroy(handle, op());
  const del = engine.calls("DELETE", /^\/containers\//)[0]!;
  t.equal(del.query.get("force"), "true");
  t.equal(del.query.get("v"), "true");
  t.equal(engine.containers.size, 0);
  await provider.destroy(handle, op());
  await t.rejects(provider.start(handle, op()), { code: "workspace_not_found" });
  await t.rejects(provider.exec(handle, ["ls"], op()), { code: "workspace_not_found" });
});

t.test("handles naming containers nexus does not own are never acted on", async (t) => {
  const { engine, provider } = await setup(t);
  const handle = await provider.provision(await spec(), op());
  const foreign = { ...handle, workspaceId: "ws_someoneelse" };
  t.same(await provider.inspect(foreign, op()), { state: "absent" });
  await provider.destroy(foreign, op());
  t.equal(engine.containers.size, 1, "destroy through a mismatched handle removed nothing");
  await t.rejects(provider.exec(foreign, ["id"], op()), { code: "workspace_not_found" });
  await t.rejects(provider.inspect({ ...handle, id: "../../images/x" }, op()), { code: "invalid_request" });
});

t.test("list returns only nexus-managed containers, with their ports even when stopped", async (t) => {
  const { engine, provider } = await setup(t);
  const s = await spec();
  const handle = await provider.provision(s, op());
  await provider.stop(handle, op());
  const listed = await provider.list(op());
  t.equal(listed.length, 1);
  t.match(listed[0], { provider: "docker", id: handle.id, workspaceId: s.workspaceId, sshPort: s.sshPort });
  t.same(JSON.parse(engine.calls("GET", "/containers/json").at(-1)!.query.get("filters")!), { label: ["nexus.managed=true"] });
  t.equal(engine.calls("GET", "/containers/json").at(-1)!.query.get("all"), "true");
});

t.test("logs yields the container's output line by line", async (t) => {
  const { engine, provider } = await setup(t);
  const handle = await provider.provision(await spec(), op());
  engine.containers.get(handle.id)!.logs.push({ stream: "stdout", text: "a\nb" }, { stream: "stdout", text: "c\n" });
  const lines: string[] = [];
  for await (const line of provider.logs(handle, op())) lines.push(line);
  t.same(lines, ["Server listening on 0.0.0.0 port 22.", "a", "bc"]);
  t.equal(engine.calls("GET", /\/logs$/).at(-1)!.query.get("follow"), null, "a snapshot, not a follow");
});

t.test("spec validation rejects what must not reach the engine", async (t) => {
  const { engine, provider } = await setup(t);
  const bad: Array<Partial<WorkspaceSpec>> = [
    { name: "Bad_Name" },
    { workspaceId: "ws/../x" },
    { sshPort: 0 },
    { sshPort: 70000 },
    { sshBindAddress: "localhost" },
    { image: "-rm" },
    { authorizedKeys: ["ssh-ed25519 AAAA\ncommand=\"rm -rf /\" ssh-ed25519 AAAA"] },
    { authorizedKeys: ["not a key"] },
    { resources: { cpu: -1 } },
    { resources: { memoryBytes: 1024 } },
    { labels: { "Bad Key": "x" } },
    { caBundle: "not pem" },
  ];
  for (const overrides of bad) {
    await t.rejects(provider.provision(await spec(overrides), op()), { code: "invalid_request" }, JSON.stringify(overrides));
  }
  t.equal(engine.calls("POST", "/containers/create").length, 0);
});
