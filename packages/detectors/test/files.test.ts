import t from "tap";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempTree } from "@nexus/test-utils";
import { detectProject, fileViewFromDirectory, memoryFileView, scopeFileView } from "../src/index.js";

t.test("memoryFileView: nested and slash keys, sorted listings, directories end with /", async (t) => {
  const files = memoryFileView({ "package.json": "{}", "apps/web/package.json": "web", apps: { api: { "main.go": "x" } }, src: {} });
  t.equal(files.read("package.json"), "{}");
  t.equal(files.read("./apps/web/package.json"), "web");
  t.equal(files.read("apps/api/main.go"), "x");
  t.same(files.list(""), ["apps/", "package.json", "src/"]);
  t.same(files.list("."), ["apps/", "package.json", "src/"]);
  t.same(files.list("apps"), ["api/", "web/"]);
  t.same(files.list("src/"), []);
  t.same(files.list("missing"), []);
  t.ok(files.exists("apps/web"));
  t.ok(files.exists("src"));
  t.notOk(files.exists("nope.txt"));
  t.equal(files.read("apps"), undefined, "a directory has no content");
});

t.test("memoryFileView: paths never climb out of the tree", async (t) => {
  const files = memoryFileView({ "a/b.txt": "b" });
  t.equal(files.read("../a/b.txt"), undefined);
  t.equal(files.read("/a/b.txt"), undefined);
  t.notOk(files.exists("a/../../etc/passwd"));
  t.throws(() => memoryFileView({ "../x": "y" }), { code: "invalid_request" });
  t.throws(() => memoryFileView({ "a/b": "file", a: { b: { c: "dir" } } }), { message: /both a file and a directory/ });
});

t.test("scopeFileView: a package directory as its own root", async (t) => {
  const files = scopeFileView(memoryFileView({ "apps/web/package.json": "web", "secret.txt": "s" }), "apps/web");
  t.equal(files.read("package.json"), "web");
  t.same(files.list(""), ["package.json"]);
  t.equal(files.read("../../secret.txt"), undefined, "cannot reach outside the scope");
  t.notOk(files.exists("../../secret.txt"));
});

t.test("fileViewFromDirectory", async (t) => {
  const outside = tempTree({ "secret.txt": "top secret", "pkg/package.json": "{}" });
  const repo = tempTree({
    "package.json": "{\"name\":\"x\"}",
    "big.txt": "x".repeat(2048),
    "src/index.ts": "console.log(1)",
    "node_modules/next/package.json": "{}",
    ".git/config": "[core]",
    "env/pyvenv.cfg": "home = /usr/bin",
    "env/bin/python": "",
    "a/b/c/d/deep.txt": "deep",
    "linked-inside/file.txt": "inside",
  });
  t.teardown(() => {
    outside.cleanup();
    repo.cleanup();
  });
  symlinkSync(join(outside.dir, "secret.txt"), join(repo.dir, "escape.txt"));
  symlinkSync(join(outside.dir, "pkg"), join(repo.dir, "escape-dir"));
  symlinkSync(join(repo.dir, "linked-inside"), join(repo.dir, "alias"));
  mkdirSync(join(repo.dir, "empty"));

  const files = fileViewFromDirectory(repo.dir, { maxFileBytes: 1024, maxDepth: 4 });
  t.equal(files.read("package.json"), "{\"name\":\"x\"}");
  t.equal(files.read("src/index.ts"), "console.log(1)");
  t.same(files.list(""), ["a/", "alias/", "big.txt", "empty/", "linked-inside/", "package.json", "src/"], "skips node_modules, .git, virtualenvs and symlinks that leave the root");
  t.equal(files.read("escape.txt"), undefined, "a symlink out of the root reads as absent");
  t.notOk(files.exists("escape-dir/package.json"));
  t.equal(files.read("alias/file.txt"), "inside", "a symlink inside the root is followed");
  t.equal(files.read("big.txt"), undefined, "files over the size cap read as absent");
  t.equal(files.read("node_modules/next/package.json"), undefined);
  t.notOk(files.exists(".git/config"));
  t.equal(files.read("../" + "package.json"), undefined);
  t.equal(files.read("a/b/c/d/deep.txt"), undefined, "deeper than maxDepth");
  t.same(files.list("a/b/c/d"), []);

  writeFileSync(join(repo.dir, "late.txt"), "written after the first read");
  t.equal(files.read("late.txt"), "written after the first read", "files are read lazily");

  const capped = fileViewFromDirectory(repo.dir, { maxFiles: 3 });
  t.equal(capped.list("").length, 3);
  t.same(capped.list("src"), [], "the entry budget is shared by every listing");

  t.throws(() => fileViewFromDirectory(join(repo.dir, "missing")), { code: "invalid_request", message: /missing/ });
});

t.test("detectProject over a real directory, with node_modules and a venv ignored", async (t) => {
  const repo = tempTree({
    "package.json": JSON.stringify({ name: "site", scripts: { dev: "astro dev" }, dependencies: { astro: "5" } }),
    "package-lock.json": "{}",
    "node_modules/next/package.json": JSON.stringify({ name: "next" }),
    ".venv/pyvenv.cfg": "home = /usr/bin",
    "api/venv/pyvenv.cfg": "home = /usr/bin",
  });
  t.teardown(repo.cleanup);
  const result = await detectProject(fileViewFromDirectory(repo.dir), { name: "site" });
  t.same(result.config, {
    version: 1,
    name: "site",
    lifecycle: { setup: "npm ci" },
    services: { web: { command: "npm run dev", port: 4321, health_check: { type: "http", path: "/" } } },
  });
});
