import t from "tap";
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
