import t from "tap";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { VERSION } from "@nexus/cli";
import { runCli } from "./helpers.js";

t.test("--version and --help", async (t) => {
  const v = await runCli(["--version"]);
  t.equal(v.code, 0);
  t.equal(v.stdout.trim(), VERSION);
  const h = await runCli(["--help"]);
  t.equal(h.code, 0);
  t.match(h.stdout, /Examples:/);
  t.match(h.stdout, /nexus config validate/);
  t.match(h.stdout, /--json/);
});

t.test("usage errors exit 2; --json turns them into one document", async (t) => {
  const r = await runCli(["config", "validate", "--bogus"]);
  t.equal(r.code, 2);
  t.match(r.stderr, /unknown option/);
  t.match(r.stderr, /next: Run `nexus config validate --help` for usage\./, "the next step names the command's own help");
  const missing = await runCli(["workspace", "rm"]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /missing required argument 'ws'[\s\S]*next: Run `nexus workspace delete --help`/);
  const j = await runCli(["frobnicate", "--json"]);
  t.equal(j.code, 2);
  t.match(JSON.parse(j.stdout), { error: "invalid_request", hint: "Run `nexus --help` for usage." });
});

// Contract test: the built binary behaves like the in-process CLI.
const PKG = join(import.meta.dirname, "..");
const BIN = join(PKG, "dist", "main.js");
t.test("the built nexus binary", async (t) => {
  if (!existsSync(BIN)) {
    const build = spawnSync("npx", ["tsup"], { cwd: PKG, encoding: "utf8" });
    t.equal(build.status, 0, "the CLI builds");
  }
  const version = spawnSync(process.execPath, [BIN, "--version"], { encoding: "utf8" });
  t.equal(version.status, 0);
  t.equal(version.stdout.trim(), VERSION);
  const example = join(PKG, "..", "..", "examples", "hello");
  const ok = spawnSync(process.execPath, [BIN, "config", "validate", example, "--json"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  t.equal(ok.status, 0, ok.stderr);
  t.equal(JSON.parse(ok.stdout).valid, true);
  const bad = spawnSync(process.execPath, [BIN, "config", "validate", join(example, "missing-dir")], { encoding: "utf8" });
  t.equal(bad.status, 2);
});

t.test("colours: on when forced or on a terminal, off with NO_COLOR or --no-color", async (t) => {
  const argv = ["config", "validate", "/nonexistent-nexus-dir"];
  const ESC = "\u001b[";
  const forced = await runCli(argv, { env: { NO_COLOR: undefined, FORCE_COLOR: "1" } });
  t.equal(forced.code, 2, forced.stderr);
  t.ok(forced.stderr.includes(ESC), "FORCE_COLOR: the error is coloured");
  const noColor = await runCli(argv, { env: { NO_COLOR: "1", FORCE_COLOR: "1" } });
  t.equal(noColor.code, 2);
  t.notOk(noColor.stderr.includes(ESC), "NO_COLOR wins over FORCE_COLOR");
  const flag = await runCli([...argv, "--no-color"], { env: { NO_COLOR: undefined, FORCE_COLOR: "1" } });
  t.notOk(flag.stderr.includes(ESC), "--no-color turns them off");
  t.same(noColor.stderr, flag.stderr, "the same text without colours");
  t.equal(forced.stderr.replaceAll(/\u001b\[[0-9;]*m/g, ""), noColor.stderr, "colours only wrap the same text");
});
