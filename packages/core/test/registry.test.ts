import t from "tap";
import { z } from "zod";
import {
  PluginRegistry, defineDetector, defineEditor, defineProvider, isNexusError, isPluginDescriptor, silentLogger,
  type ProviderInstance,
} from "@nexus/core";

const ctx = { log: silentLogger, env: {}, dataDir: "/tmp" };

function fakeInstance(): ProviderInstance {
  const noop = async () => {};
  return {
    health: async () => ({ ok: true }), provision: async (s) => ({ provider: "demo", id: s.name, workspaceId: s.workspaceId, labels: {} }),
    start: noop, stop: noop, destroy: noop, inspect: async () => ({ state: "absent" }), list: async () => [],
    exec: async () => ({ exitCode: 0, stdout: "", stderr: "" }), writeFile: noop, dispose: noop,
  };
}

const demo = defineProvider({
  name: "demo",
  apiVersion: 1,
  capabilities: { exec: true, logs: false, snapshot: false },
  options: z.object({ socket: z.string().optional(), retries: z.number().int().min(0).default(2) }),
  create: (_ctx, options) => Object.assign(fakeInstance(), { options }),
});

t.test("define* brands, freezes and checks the name", async (t) => {
  t.ok(isPluginDescriptor(demo));
  t.ok(Object.isFrozen(demo));
  t.equal(demo.kind, "provider");
  t.notOk(isPluginDescriptor({ ...demo }), "a copy loses the non-enumerable brand");
  t.throws(() => defineEditor({ name: "Bad Name", apiVersion: 1, displayName: "x", create: () => ({}) as never }), { code: "invalid_config" });
  const detector = defineDetector({ name: "static-site", apiVersion: 1, detect: () => [] });
  t.same((await detector.create(ctx, undefined)).detect({ read: () => undefined, exists: () => false, list: () => [] }), []);
});

t.test("register validates options and reports zod issues with paths", async (t) => {
  const registry = new PluginRegistry();
  try {
    registry.register([demo, { retries: -1 }]);
    t.fail("should throw");
  } catch (e) {
    t.ok(isNexusError(e) && e.code === "invalid_config");
    if (isNexusError(e)) t.match(e.details, { name: "demo", issues: [{ path: "retries" }] });
  }
  registry.register({ plugin: demo, options: { socket: "/x.sock" } });
  const instance = (await registry.instance("provider", "demo", ctx)) as ProviderInstance & { options: unknown };
  t.same(instance.options, { socket: "/x.sock", retries: 2 }, "defaults applied");
  t.equal(await registry.instance("provider", "demo", ctx), instance, "instance is created once");
  t.throws(() => registry.register(demo), /registered twice/);
});

t.test("register rejects unbranded plugins and other API versions", async (t) => {
  const registry = new PluginRegistry();
  t.throws(() => registry.register({ kind: "provider", name: "x", apiVersion: 1 } as never), /not a nexus plugin/);
  const future = defineProvider({ name: "future", apiVersion: 2, capabilities: { exec: true, logs: false, snapshot: false }, create: fakeInstance });
  t.throws(() => registry.register(future), { code: "invalid_config", message: /plugin API v2/ });
});

t.test("load() by package name records failures instead of crashing", async (t) => {
  const modules: Record<string, unknown> = {
    "nexus-provider-good": { default: defineProvider({ name: "good", apiVersion: 1, capabilities: { exec: true, logs: false, snapshot: false }, create: fakeInstance }) },
    "nexus-provider-empty": { default: 42 },
  };
  const registry = new PluginRegistry({
    importer: async (name) => {
      if (name in modules) return modules[name];
      if (name === "nexus-provider-broken") throw new SyntaxError("Unexpected token '}'");
      throw Object.assign(new Error(`Cannot find package '${name}'`), { code: "ERR_MODULE_NOT_FOUND" });
    },
  });
  await registry.load(["nexus-provider-good", "nexus-provider-missing", "nexus-provider-empty", "left-pad", ["nexus-provider-good", {}], "nexus-provider-broken"]);
  t.ok(registry.has("provider", "good"));
  const failures = registry.failures().map((f) => [f.spec, f.error.code, f.error.message]);
  t.equal(failures.length, 5);
  t.match(failures[0], ["nexus-provider-missing", "invalid_config", /could not be loaded/]);
  t.match(failures[1], ["nexus-provider-empty", "invalid_config", /no plugin as its default export/]);
  t.match(failures[2], ["left-pad", "invalid_config", /not a nexus plugin name/]);
  t.match(failures[3], ["nexus-provider-good", "invalid_config", /registered twice/]);
  t.match(failures[4], ["nexus-provider-broken", "invalid_config", /could not be loaded: Unexpected token/]);
  t.same(registry.failures().map((f) => f.error.details?.reason ?? null), ["not_installed", null, null, null, "import_failed"], "a missing package is told from a broken one");
  t.throws(() => registry.get("provider", "missing"), { code: "provider_unavailable", hint: /Available: good/ });
});

t.test("a failing factory is wrapped with the plugin name and can be retried", async (t) => {
  let calls = 0;
  const flaky = defineProvider({
    name: "flaky", apiVersion: 1, capabilities: { exec: true, logs: false, snapshot: false },
    create: () => {
      calls++;
      if (calls === 1) throw new Error("socket missing");
      return fakeInstance();
    },
  });
  const registry = new PluginRegistry();
  registry.register(flaky);
  await t.rejects(registry.instance("provider", "flaky", ctx), { code: "internal_error", message: /provider:flaky: socket missing/ });
  t.ok(await registry.instance("provider", "flaky", ctx));
  await registry.dispose();
});
