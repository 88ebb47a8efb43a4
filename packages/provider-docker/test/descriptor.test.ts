import { PluginRegistry, isPluginDescriptor, silentLogger } from "@nexus/core";
import t from "tap";
import defaultExport, { docker, dockerProvider } from "../src/index.js";

t.test("the package exports one branded provider descriptor, default and named", async (t) => {
  t.equal(defaultExport, dockerProvider);
  t.ok(isPluginDescriptor(dockerProvider));
  t.match(dockerProvider, { kind: "provider", name: "docker", apiVersion: 1, capabilities: { exec: true, logs: true, snapshot: false } });
  t.same(docker({ network: "ws-net" }), [dockerProvider, { network: "ws-net" }]);
});

t.test("the registry accepts it with options and rejects bad options at registration", async (t) => {
  const registry = new PluginRegistry();
  t.doesNotThrow(() => registry.register(docker({ socket: "/var/run/docker.sock" })));
  t.throws(() => new PluginRegistry().register(docker({ socket: "relative" } as never)), { code: "invalid_config" });
  t.throws(() => new PluginRegistry().register([dockerProvider, { injectCaBundle: "yes" }]), { code: "invalid_config" });
});

t.test("create builds an instance without touching the engine", async (t) => {
  const instance = await dockerProvider.create({ log: silentLogger, env: { DOCKER_HOST: "unix:///nonexistent.sock" }, dataDir: "/tmp" }, dockerProvider.options!.parse({}));
  t.type(instance.provision, "function");
  const health = await instance.health({ signal: AbortSignal.timeout(5_000), log: silentLogger });
  t.match(health, { ok: false, reason: /nonexistent\.sock/ });
  await instance.dispose();
});
