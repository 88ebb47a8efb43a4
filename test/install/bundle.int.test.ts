// The standalone binary's bundling: optional native addons are left out (ssh2 still works),
// leftover requires a binary could not satisfy are caught, SHA256SUMS is what sha256sum reads.
import t from "tap";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleEntries, unbundledRelativeRequires } from "../../scripts/release/bundle.mjs";
import { writeChecksums } from "../../scripts/release/checksums.mjs";
import { ROOT, sha256, which } from "./harness.js";

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "nexus-bundle-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test("relative requires esbuild could not see are reported", async (t) => {
  t.same(unbundledRelativeRequires(`var formatter = require("./impl/format"); var up = __require('../lib/x.js');`), ['require("./impl/format")', 'require("../lib/x.js")']);
  t.same(unbundledRelativeRequires(`const a = require("node:fs"); const b = __require("crypto"); const s = 'require("ajv/dist/runtime/equal")';`), [], "builtins and package specifiers are not reported");
  t.same(unbundledRelativeRequires(`obj.require("./not-a-call-to-require"); const r = require(name);`), [], "method calls and computed requires are not reported");
});

t.test("a UMD module whose requires esbuild cannot see fails the bundle", async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, "entry.cjs"), `(function (factory) { factory(require, exports); })(function (require, exports) { exports.x = require("./hidden"); });\n`);
  writeFileSync(join(dir, "hidden.js"), "module.exports = 1;\n");
  await t.rejects(bundleEntries({ root: ROOT, entryPoints: { umd: join(dir, "entry.cjs") }, outDir: join(dir, "out") }), /still requires files esbuild could not see \(add an alias in bundle\.mjs\): require\("\.\/hidden"\)/);
});

t.test("ssh2 is bundled without its optional native addons and still generates keys", async (t) => {
  const out = tempDir(t);
  const result = await bundleEntries({ root: ROOT, entryPoints: { keygen: join(ROOT, "test/install/fixtures/ssh2-keygen.mjs") }, outDir: out });
  t.same(
    result.leftOutNativeAddons.map((a: string) => a.split(" ")[0]).sort(),
    ["./crypto/build/Release/sshcrypto.node", "cpu-features"],
  );
  // Run the bundle the way the binary does: only builtins reachable through `require`.
  const runner = join(out, "run.mjs");
  writeFileSync(
    runner,
    `import { createRequire } from "node:module";
globalThis.require = createRequire("/nonexistent/nexus");
globalThis.__nexusSeaFilename = "/nonexistent/nexus";
globalThis.__nexusSeaDirname = "/nonexistent";
globalThis.__nexusSeaModuleUrl = "file:///nonexistent/nexus";
await import("./keygen.mjs");
`,
  );
  t.equal(execFileSync(process.execPath, [runner], { encoding: "utf8" }), "ed25519 key generated\n");
});

t.test("a native addon nobody declared optional fails the bundle", async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, "entry.mjs"), `import "./addon.node";\n`);
  writeFileSync(join(dir, "addon.node"), "");
  await t.rejects(bundleEntries({ root: ROOT, entryPoints: { bad: join(dir, "entry.mjs") }, outDir: join(dir, "out") }), /loads the native addon \.\/addon\.node: a standalone binary cannot carry it/);
});

t.test("SHA256SUMS lists every file with its sha256, in sha256sum's format", async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, "nexus-linux-x64"), "binary\n");
  writeFileSync(join(dir, "nexus-core-0.1.0.tgz"), "tarball\n");
  const text = await writeChecksums(dir);
  t.equal(text, `${sha256("tarball\n")}  nexus-core-0.1.0.tgz\n${sha256("binary\n")}  nexus-linux-x64\n`);
  const sha256sum = which("sha256sum");
  if (sha256sum) t.match(execFileSync(sha256sum, ["-c", "SHA256SUMS"], { cwd: dir, encoding: "utf8" }), "nexus-linux-x64: OK");
});
