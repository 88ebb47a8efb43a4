// `npm run release` (the dry run) for real, without rebuilding the packages: the host's
// standalone binary, a tarball per public package, and a SHA256SUMS that sha256sum accepts.
import t from "tap";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { release, workspacePackages } from "../../scripts/release.mjs";
import { binaryName } from "../../scripts/release/build-sea.mjs";
import { hostTarget } from "../../scripts/release/node-dist.mjs";
import { ROOT, which } from "./harness.js";

t.test("the dry run builds the binary, packs every public package and checksums it all", async (t) => {
  const outDir = join(mkdtempSync(join(tmpdir(), "nexus-release-real-")), "out");
  t.teardown(() => rmSync(join(outDir, ".."), { recursive: true, force: true }));
  const summary = await release({ root: ROOT, skipBuild: true, outDir });

  const publicPackages = workspacePackages(ROOT).filter((p: { private: boolean }) => !p.private);
  const expected = [
    binaryName(hostTarget()),
    ...publicPackages.map((p: { name: string; version: string }) => `${p.name.replace(/^@/, "").replace("/", "-")}-${p.version}.tgz`),
    "SHA256SUMS",
  ].sort();
  t.same(readdirSync(outDir).sort(), expected);
  t.same([...summary.tarballs].sort(), expected.filter((f) => f.endsWith(".tgz")));
  const listed = summary.checksums.trim().split("\n").map((line: string) => line.split("  ")[1]).sort();
  t.same(listed, expected.filter((f) => f !== "SHA256SUMS"), "SHA256SUMS lists every artifact");
  const sha256sum = which("sha256sum");
  if (sha256sum) t.doesNotThrow(() => execFileSync(sha256sum, ["--check", "--strict", "SHA256SUMS"], { cwd: outDir }), "sha256sum -c passes");

  // A second run replaces the previous output rather than refusing or mixing.
  const again = await release({ root: ROOT, skipBuild: true, outDir });
  t.equal(again.checksums.split("\n").length, summary.checksums.split("\n").length);
});
