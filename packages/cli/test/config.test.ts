import t from "tap";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { tempTree } from "@nexus/test-utils";
import { runCli } from "./helpers.js";

const CYCLE = `version: 1
services:
  api:
    command: node api.js
    depends_on: [web]
  web:
    command: node web.js
    depends_on: [api]
`;

const LEGACY = `version: 1
services:
  web:
    command: npm start
    port: 3000
    environment: { A: "1" }
`;

t.test("config validate: a depends_on cycle exits 2 naming the file, line and both services", async (t) => {
  const { dir, cleanup } = tempTree({ ".nexus": { "config.yaml": CYCLE } });
  t.teardown(cleanup);
  const r = await runCli(["config", "validate", dir]);
  t.equal(r.code, 2);
  t.match(r.stderr, /\.nexus\/config\.yaml:5:\d+:/);
  t.match(r.stderr, /api/);
  t.match(r.stderr, /web/);
  t.match(r.stderr, /cycle/);
  t.match(r.stderr, /next: /, "says what to do next");
  t.equal(r.stdout, "");
});

t.test("config validate --json prints exactly one JSON document, also on error", async (t) => {
  const { dir, cleanup } = tempTree({ ".nexus": { "config.yaml": CYCLE } });
  t.teardown(cleanup);
  const r = await runCli(["config", "validate", dir, "--json"]);
  t.equal(r.code, 2);
  const doc = JSON.parse(r.stdout);
  t.equal(doc.error, "invalid_config");
  t.match(doc.details.errors[0], { line: 5, service: "api" });
});

t.test("config validate: warnings are printed and the exit code is 0", async (t) => {
  const { dir, cleanup } = tempTree({ ".nexus": { "config.yaml": LEGACY } });
  t.teardown(cleanup);
  const r = await runCli(["config", "validate", dir]);
  t.equal(r.code, 0);
  t.match(r.stderr, /warning .*config\.yaml:6:\d+: .*environment/);
  t.match(r.stdout, /is valid/);
  const json = await runCli(["config", "validate", dir, "--json"]);
  const doc = JSON.parse(json.stdout);
  t.same(doc.services, ["web"]);
  t.equal(doc.warnings.length, 1);
  t.equal(doc.warnings[0].code, "deprecated");
});

t.test("config validate on a directory without a config explains the next step", async (t) => {
  const { dir, cleanup } = tempTree({ "README.md": "x" });
  t.teardown(cleanup);
  const r = await runCli(["config", "validate", dir]);
  t.equal(r.code, 2);
  t.match(r.stderr, /nexus config init/);
  const missing = await runCli(["config", "validate", `${dir}/nope`]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /does not exist/);
});

t.test("the example project validates", async (t) => {
  const r = await runCli(["config", "validate", new URL("../../../examples/hello", import.meta.url).pathname]);
  t.equal(r.code, 0);
  t.match(r.stdout, /api → web/);
});

t.test("config init detects, explains each guess, writes a valid config, and refuses to overwrite", async (t) => {
  const { dir, cleanup } = tempTree({
    "package.json": JSON.stringify({ name: "shop", scripts: { dev: "vite --port 4100" }, devDependencies: { vite: "^5.0.0" } }),
    "package-lock.json": "{}",
  });
  t.teardown(cleanup);
  const r = await runCli(["config", "init", dir]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /wrote .*\.nexus\/config\.yaml/);
  t.match(r.stdout, /vite/);
  t.match(r.stdout, /4100/);
  const validate = await runCli(["config", "validate", dir, "--json"]);
  t.equal(validate.code, 0);
  t.ok(JSON.parse(validate.stdout).services.length >= 1);
  const again = await runCli(["config", "init", dir]);
  t.equal(again.code, 2);
  t.match(again.stderr, /already exists/);
  t.match(again.stderr, /--force/);
  const forced = await runCli(["config", "init", dir, "--force", "--json"]);
  t.equal(forced.code, 0);
  t.equal(JSON.parse(forced.stdout).written, true);
});

t.test("config init --print writes nothing", async (t) => {
  const { dir, cleanup } = tempTree({ "index.html": "<h1>hi</h1>" });
  t.teardown(cleanup);
  const r = await runCli(["config", "init", dir, "--print"]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /services:/);
  const v = await runCli(["config", "validate", dir]);
  t.equal(v.code, 2, "still no config on disk");
});

// Plugin packages in the project's node_modules, written as a user's would be: ESM with
// @nexus/core's define* and zod options (imported here by absolute URL: the temp project has
// no node_modules of its own for them).
const CORE_URL = pathToFileURL(createRequire(import.meta.url).resolve("@nexus/core")).href;
const ZOD_URL = pathToFileURL(createRequire(join(import.meta.dirname, "..", "..", "core", "package.json")).resolve("zod")).href;
const pluginPackage = (name: string, source: string) => ({
  "package.json": JSON.stringify({ name, version: "1.0.0", type: "module", main: "index.js" }),
  "index.js": `import { defineEditor, defineDetector } from ${JSON.stringify(CORE_URL)};\nimport { z } from ${JSON.stringify(ZOD_URL)};\n${source}\n`,
});
const EDITOR = `export default defineEditor({ name: "helix", apiVersion: 1, displayName: "Helix", options: z.object({ theme: z.string().optional() }).strict(), create: () => ({}) });`;
const DETECTOR = `export default defineDetector({ name: "elixir", apiVersion: 1, detect: () => [] });`;
const withPlugins = (config: string) => ({
  ".nexus": { "config.yaml": config },
  node_modules: {
    "nexus-editor-helix": pluginPackage("nexus-editor-helix", EDITOR),
    "nexus-detector-elixir": pluginPackage("nexus-detector-elixir", DETECTOR),
    "nexus-editor-broken": pluginPackage("nexus-editor-broken", "export default {"),
  },
});

t.test("config validate loads the declared plugins: loaded ones named, a missing one a warning", async (t) => {
  const { dir, cleanup } = tempTree(withPlugins(`version: 1
plugins:
  editors: [[nexus-editor-helix, { theme: dark }]]
  detectors: [nexus-detector-elixir]
providers: [nexus-provider-notinstalled]
services:
  web: { command: node web.js }
`));
  t.teardown(cleanup);
  const r = await runCli(["config", "validate", dir]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, "plugins: editor helix (nexus-editor-helix), detector elixir (nexus-detector-elixir)");
  t.match(r.stderr, "plugin nexus-provider-notinstalled (providers) is not installed here, so it was not checked: npm i nexus-provider-notinstalled");
  const json = JSON.parse((await runCli(["config", "validate", dir, "--json"])).stdout);
  t.same(json.plugins.map((p: { package: string; status: string }) => `${p.package}:${p.status}`), [
    "nexus-provider-notinstalled:not_installed",
    "nexus-editor-helix:loaded",
    "nexus-detector-elixir:loaded",
  ]);
});

t.test("config validate: bad plugin options, a plugin in the wrong list or a broken package exit 2, naming each", async (t) => {
  const { dir, cleanup } = tempTree(withPlugins(`version: 1
editors: [[nexus-editor-helix, { theme: 7, font: big }], nexus-editor-broken]
detectors: [nexus-editor-helix]
`));
  t.teardown(cleanup);
  const r = await runCli(["config", "validate", dir]);
  t.equal(r.code, 2, r.stdout);
  t.match(r.stderr, "3 plugins cannot be used");
  t.match(r.stderr, /editors: invalid options for editor plugin "helix"\n\s+theme: .*\n\s+\(root\): .*font/);
  t.match(r.stderr, /editors: plugin package "nexus-editor-broken" could not be loaded/);
  t.match(r.stderr, 'detectors: "nexus-editor-helix" is an editor plugin, not a detector plugin');
  t.match(r.stderr, /next: /);
  t.equal(r.stdout, "");
});
