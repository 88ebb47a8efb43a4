import { join } from "node:path";
import t from "tap";
import { tempTree } from "@nexus/test-utils";
import { loadProjectConfig } from "../../src/config/index.js";

t.test("reads .nexus/config.yaml and reports positions relative to the project", async (t) => {
  const tree = tempTree({ ".nexus": { "config.yaml": "version: 1\nname: demo\nservices:\n  api: { command: x, port: 3000 }\n" } });
  t.teardown(tree.cleanup);
  const loaded = await loadProjectConfig(tree.dir);
  t.ok(loaded);
  t.equal(loaded!.file, ".nexus/config.yaml");
  t.equal(loaded!.path, join(tree.dir, ".nexus/config.yaml"));
  t.equal(loaded!.config.name, "demo");
  t.same(Object.keys(loaded!.config.services), ["api"]);
  t.same(loaded!.warnings, []);
});

t.test("falls back to .nexus/config.yml and names it in messages", async (t) => {
  const tree = tempTree({ ".nexus": { "config.yml": "services:\n  api:\n    command: x\n    port: 99999\n" } });
  t.teardown(tree.cleanup);
  await t.rejects(loadProjectConfig(tree.dir), {
    code: "invalid_config",
    message: ".nexus/config.yml:4:11: services.api.port: port must be a whole number from 1 to 65535, got 99999",
    details: { file: ".nexus/config.yml", errors: [{ path: "services.api.port", line: 4, column: 11, service: "api" }] },
  });
});

t.test("when both exist, config.yaml wins and a warning says the other is ignored", async (t) => {
  const tree = tempTree({ ".nexus": { "config.yaml": "name: from-yaml\n", "config.yml": "name: from-yml\n" } });
  t.teardown(tree.cleanup);
  const loaded = await loadProjectConfig(tree.dir);
  t.equal(loaded!.config.name, "from-yaml");
  t.match(loaded!.warnings, [{ code: "ignored", text: ".nexus/config.yaml:1:1: .nexus/config.yml also exists and is ignored; delete one of the two" }]);
});

t.test("a project without a config returns null", async (t) => {
  const tree = tempTree({ "package.json": "{}", ".nexus": { "other.txt": "" } });
  t.teardown(tree.cleanup);
  t.equal(await loadProjectConfig(tree.dir), null);
});

t.test("a directory that does not exist, or a file, is invalid_request", async (t) => {
  const tree = tempTree({ "file.txt": "x" });
  t.teardown(tree.cleanup);
  await t.rejects(loadProjectConfig(join(tree.dir, "missing")), { code: "invalid_request", message: /does not exist or is not a directory/ });
  await t.rejects(loadProjectConfig(join(tree.dir, "file.txt")), { code: "invalid_request" });
});

t.test("a config path that is a directory is invalid_config", async (t) => {
  const tree = tempTree({ ".nexus": { "config.yaml": { "x.txt": "" } } });
  t.teardown(tree.cleanup);
  await t.rejects(loadProjectConfig(tree.dir), { code: "invalid_config", message: ".nexus/config.yaml:1:1: is not a regular file" });
});

t.test("warnings from the file come back with the config", async (t) => {
  const tree = tempTree({ ".nexus": { "config.yaml": "environment: { A: b }\n" } });
  t.teardown(tree.cleanup);
  const loaded = await loadProjectConfig(tree.dir);
  t.same(loaded!.config.env, { A: "b" });
  t.match(loaded!.warnings, [{ code: "deprecated", file: ".nexus/config.yaml", line: 1, column: 1 }]);
});
