import { setImmediate } from "node:timers/promises";
import t from "tap";
import { LABELS, NexusError, PluginRegistry, isNexusError, silentLogger, type Op } from "@nexus/core";
import { createFakeProvider, fakeProvider, generateTestKeyPair, testWorkspaceSpec, type FakeProviderInstance } from "../src/index.js";

const key = generateTestKeyPair().publicKey;
const op = (signal: AbortSignal = new AbortController().signal): Op => ({ signal, log: silentLogger });
const ctx = { log: silentLogger, env: {}, dataDir: "/nonexistent" };
let port = 40_000;
const spec = (suffix: string, extra: Partial<Parameters<typeof testWorkspaceSpec>[0]> = {}) =>
  testWorkspaceSpec({ suffix, testRun: "fake-unit", sshPort: port++, authorizedKeys: [key], ...extra });

async function setup(options: Parameters<typeof createFakeProvider>[0] = {}) {
  const kit = createFakeProvider(options);
  const instance = (await kit.descriptor.create(ctx, undefined)) as FakeProviderInstance;
  return { ...kit, instance };
}

async function rejection(promise: Promise<unknown>): Promise<NexusError> {
  try {
    await promise;
  } catch (error) {
    if (isNexusError(error)) return error;
    throw error;
  }
  throw new Error("expected a rejection");
}

t.test("the registry takes fakeProvider with options; the instance carries its control", async (t) => {
  const registry = new PluginRegistry();
  registry.register([fakeProvider, { latencyMs: 0, version: "9.9" }]);
  const instance = (await registry.instance("provider", "fake", ctx)) as FakeProviderInstance;
  t.same(await instance.health(op()), { ok: true, version: "9.9" });
  instance.control.setDown("daemon stopped");
  t.same(await instance.health(op()), { ok: false, reason: "daemon stopped" });
  t.throws(() => new PluginRegistry().register([fakeProvider, { latencyMs: "slow" }]), { code: "invalid_config" });
});

t.test("createFakeProvider: every instance shares the engine, like clients of one daemon", async (t) => {
  const { descriptor, control } = createFakeProvider();
  const a = await descriptor.create(ctx, undefined);
  const b = await descriptor.create(ctx, undefined);
  const handle = await a.provision(spec("shared"), op());
  t.same((await b.list(op())).map((h) => h.id), [handle.id]);
  t.equal(control.container(handle.workspaceId)?.id, handle.id, "control finds containers by workspace id");
  t.same(control.calls.map((c) => c.op), ["provision", "list"]);
});

t.test("provision writes authorized_keys (0600, dev), the CA bundle, a fresh host key and labels", async (t) => {
  const { instance, control } = await setup();
  const s = { ...spec("files"), caBundle: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", image: "nexus/debian-12" };
  const handle = await instance.provision(s, op());
  t.equal(control.readFile(handle.id, "/home/dev/.ssh/authorized_keys"), `${key}\n`);
  const stat = await instance.exec(handle, ["stat", "-c", "%a %U", "/home/dev/.ssh/authorized_keys"], op());
  t.equal(stat.stdout, "600 dev\n");
  t.equal(control.readFile(handle.id, "/usr/local/share/ca-certificates/nexus-extra.crt"), s.caBundle);
  t.equal(control.readFile(handle.id, "/etc/ssh/ssh_host_ed25519_key.pub"), `${handle.hostKey}\n`);
  t.match(handle.labels, { [LABELS.managed]: "true", [LABELS.workspace]: s.workspaceId, [LABELS.name]: s.name, [LABELS.testRun]: "fake-unit" });
  t.equal(control.container(handle.id)?.image, "nexus/debian-12");
  const inspected = await instance.inspect(handle, op());
  t.match(inspected, { state: "running", sshPort: s.sshPort });
  t.match(inspected.address, /^10\.83\.\d+\.\d+$/);
});

t.test("provision validates the spec before creating anything", async (t) => {
  const { instance, control } = await setup();
  for (const bad of [
    { ...spec("v1"), name: "../etc" },
    { ...spec("v2"), sshPort: 70_000 },
    { ...spec("v3"), authorizedKeys: ["ssh-ed25519 AAAA\ncommand=\"sh\" ssh-rsa AAAA"] },
    { ...spec("v4"), labels: { "Bad Key": "x" } },
  ]) {
    t.equal((await rejection(instance.provision(bad, op()))).code, "invalid_request");
  }
  t.same(control.containers(), []);
});

t.test("provision refuses an SSH port another running container holds", async (t) => {
  const { instance } = await setup();
  await instance.provision(spec("port-a", { sshPort: 2222 }), op());
  t.equal((await rejection(instance.provision(spec("port-b", { sshPort: 2222 }), op()))).code, "provision_failed");
});

t.test("concurrent provisions of one workspace converge on one container", async (t) => {
  const { instance, control } = await setup({ latencyMs: { provision: 5 } });
  const s = spec("converge");
  const [a, b] = await Promise.all([instance.provision(s, op()), instance.provision(s, op())]);
  t.equal(a.id, b.id);
  t.equal(control.containers().length, 1);
});

t.test("an abort during provision rolls the container back and rejects with timeout", async (t) => {
  const { instance, control } = await setup({ latencyMs: { provision: 1_000 } });
  const controller = new AbortController();
  const pending = instance.provision(spec("abort"), op(controller.signal));
  while (control.containers().length === 0) await setImmediate();
  t.equal(control.containers()[0]?.state, "creating", "the container exists while it is being created");
  controller.abort();
  const error = await rejection(pending);
  t.equal(error.code, "timeout");
  t.match(error.message, /cancelled/);
  t.same(control.containers(), [], "nothing is left behind");
});

t.test("an AbortSignal.timeout reports 'timed out'; a NexusError reason is passed through", async (t) => {
  const { instance } = await setup({ latencyMs: 1_000 });
  t.match((await rejection(instance.list(op(AbortSignal.timeout(1))))).message, /timed out/);
  const controller = new AbortController();
  controller.abort(new NexusError("workspace_not_found", "deleted meanwhile"));
  t.equal((await rejection(instance.list(op(controller.signal)))).code, "workspace_not_found");
});

t.test("failNext queues failures per operation and wraps plain errors", async (t) => {
  const { instance, control } = await setup();
  control.failNext("list", new NexusError("provider_unavailable", "socket gone"));
  control.failNext("list", new Error("EPIPE"));
  t.equal((await rejection(instance.list(op()))).code, "provider_unavailable");
  const wrapped = await rejection(instance.list(op()));
  t.equal(wrapped.code, "internal_error");
  t.match(wrapped.message, /provider:fake: EPIPE/);
  t.same(await instance.list(op()), [], "the queue is drained");
  control.failNext("health");
  t.match(await instance.health(op()), { ok: false, reason: /injected health failure/ }, "health reports injected failures instead of throwing");
});

t.test("down mode: health says why, everything else is provider_unavailable, setUp recovers", async (t) => {
  const { instance, control } = await setup({ down: "dockerd is not running" });
  t.same(await instance.health(op()), { ok: false, reason: "dockerd is not running" });
  t.equal((await rejection(instance.provision(spec("down"), op()))).code, "provider_unavailable");
  control.setUp();
  t.equal((await instance.health(op())).ok, true);
});

t.test("start/stop/exec on a missing container, and exec on a stopped one, are catalog errors", async (t) => {
  const { instance, control } = await setup();
  const handle = await instance.provision(spec("states"), op());
  await instance.stop(handle, op());
  t.equal((await rejection(instance.exec(handle, ["true"], op()))).code, "invalid_transition");
  control.remove(handle.id);
  t.same(await instance.inspect(handle, op()), { state: "absent" }, "drift: removed behind nexus's back");
  for (const call of [instance.start(handle, op()), instance.stop(handle, op()), instance.exec(handle, ["true"], op()), instance.snapshot(handle, op())]) {
    t.equal((await rejection(call)).code, "workspace_not_found");
  }
  await instance.destroy(handle, op());
});

t.test("setState simulates a crash; provision of the workspace brings it back", async (t) => {
  const { instance, control } = await setup();
  const s = spec("crash");
  const handle = await instance.provision(s, op());
  control.setState(handle.id, "error");
  t.equal((await instance.inspect(handle, op())).state, "error");
  t.equal((await instance.provision(s, op())).id, handle.id);
  t.equal((await instance.inspect(handle, op())).state, "running");
});

t.test("unmanaged containers are invisible to list", async (t) => {
  const { instance, control } = await setup();
  const decoy = control.addUnmanaged("someone-elses");
  await instance.provision(spec("visible"), op());
  const listed = await instance.list(op());
  t.equal(listed.length, 1);
  t.not(listed[0]?.id, decoy.id);
});

t.test("onExec scripts responses in order and can fall through to the shell", async (t) => {
  const { instance, control } = await setup();
  const handle = await instance.provision(spec("scripted"), op());
  const seen: string[][] = [];
  const stop = control.onExec((call) => {
    seen.push(call.argv);
    if (call.argv[0] === "git") {
      call.writeFile("/tmp/cloned", "yes");
      return { exitCode: 0, stdout: "Cloning into 'repo'...\n", stderr: "" };
    }
    return undefined;
  });
  t.same(await instance.exec(handle, ["git", "clone", "x"], op(), { user: "dev" }), { exitCode: 0, stdout: "Cloning into 'repo'...\n", stderr: "" });
  t.equal((await instance.exec(handle, ["cat", "/tmp/cloned"], op())).stdout, "yes");
  stop();
  t.equal((await instance.exec(handle, ["git", "status"], op())).exitCode, 127, "unscripted unknown commands are not found");
  t.same(seen, [["git", "clone", "x"], ["cat", "/tmp/cloned"]]);
});

t.test("exec options: unknown users and bad env names are rejected, a missing cwd exits 126", async (t) => {
  const { instance } = await setup();
  const handle = await instance.provision(spec("options"), op());
  t.equal((await rejection(instance.exec(handle, ["true"], op(), { user: "mallory" }))).code, "invalid_request");
  t.equal((await rejection(instance.exec(handle, ["true"], op(), { env: { "A=B": "x" } }))).code, "invalid_request");
  t.equal((await instance.exec(handle, ["pwd"], op(), { cwd: "/nope" })).exitCode, 126);
  t.equal((await instance.exec(handle, ["id", "-u"], op(), { user: 1000 })).stdout, "1000\n", "users by uid");
  t.equal((await instance.exec(handle, ["pwd"], op(), { user: "dev" })).stdout, "/home/dev\n", "default cwd is the user's home");
});

t.test("writeFile needs an absolute path whose parent exists; ownership is recorded", async (t) => {
  const { instance } = await setup();
  const handle = await instance.provision(spec("write"), op());
  t.equal((await rejection(instance.writeFile(handle, "relative", "x", op()))).code, "invalid_request");
  t.equal((await rejection(instance.writeFile(handle, "/no/such/dir/file", "x", op()))).code, "invalid_request");
  await instance.writeFile(handle, "/home/dev/.gitconfig", "[user]\n", op(), { mode: 0o640, uid: 1000, gid: 1000 });
  t.equal((await instance.exec(handle, ["stat", "-c", "%a %u:%g %s", "/home/dev/.gitconfig"], op())).stdout, "640 1000:1000 7\n");
});

t.test("logs replays lifecycle lines; snapshots get ids", async (t) => {
  const { instance, control } = await setup();
  const handle = await instance.provision(spec("logs"), op());
  await instance.stop(handle, op());
  const lines: string[] = [];
  for await (const line of instance.logs(handle, op())) lines.push(line);
  t.same(lines, [`container ${handle.id} created`, `container ${handle.id} started`, `container ${handle.id} stopped`]);
  t.same(await instance.snapshot(handle, op()), { id: "snap-1" });
  t.same(control.container(handle.id)?.snapshots, ["snap-1"]);
});

t.test("after dispose the instance refuses work; control.calls records every call", async (t) => {
  const { instance, control } = await setup();
  await instance.dispose();
  await instance.dispose();
  t.equal((await rejection(instance.list(op()))).code, "provider_unavailable");
  t.equal((await instance.health(op())).ok, false);
  t.same(control.calls.map((c) => c.op), ["list", "health"]);
});

t.test("setLatency applies to later calls", async (t) => {
  const { instance, control } = await setup();
  control.setLatency({ list: 60_000 });
  const controller = new AbortController();
  const pending = instance.list(op(controller.signal));
  controller.abort();
  t.equal((await rejection(pending)).code, "timeout", "the slow call was still abortable");
});
