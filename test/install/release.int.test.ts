// scripts/release.mjs without building: the changesets plan (computed in a scratch copy, with
// the real changesets CLI), the fixed group, unbuilt packages, the printed summary.
import t from "tap";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, plannedVersions, unbuiltPackages, workspacePackages } from "../../scripts/release.mjs";
import { ROOT } from "./harness.js";

/** A copy of the repository's manifests and changesets config, with its node_modules linked in. */
function manifestCopy(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "nexus-release-test-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const file of ["package.json", "package-lock.json"]) copyFileSync(join(ROOT, file), join(dir, file));
  mkdirSync(join(dir, ".changeset"));
  copyFileSync(join(ROOT, ".changeset", "config.json"), join(dir, ".changeset", "config.json"));
  for (const pkg of workspacePackages(ROOT)) {
    mkdirSync(join(dir, pkg.dir), { recursive: true });
    copyFileSync(join(ROOT, pkg.dir, "package.json"), join(dir, pkg.dir, "package.json"));
  }
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

function minorBump(version: string): string {
  const [major, minor] = version.split(".").map(Number);
  return `${major}.${minor! + 1}.0`;
}

t.test("no pending changesets: nothing to bump", async (t) => {
  const root = manifestCopy(t);
  t.same(await plannedVersions(root), { changesets: [], bumps: [] });
});

t.test("a changeset for the CLI bumps the whole fixed group, and only it, without touching the tree", async (t) => {
  const root = manifestCopy(t);
  writeFileSync(join(root, ".changeset", "brave-cats.md"), `---\n"@nexus/cli": minor\n---\n\nA new command.\n`);
  const before = readFileSync(join(root, "packages", "cli", "package.json"), "utf8");
  const plan = await plannedVersions(root);
  t.same(plan.changesets, ["brave-cats.md"]);
  const versions = Object.fromEntries(workspacePackages(root).map((p: { name: string; version: string }) => [p.name, p.version]));
  t.same(
    plan.bumps.sort((a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name)),
    ["@nexus/agent", "@nexus/cli", "@nexus/server"].map((name) => ({ name, from: versions[name], to: minorBump(versions[name]) })),
  );
  t.equal(readFileSync(join(root, "packages", "cli", "package.json"), "utf8"), before, "package.json untouched");
  t.same(readdirSync(join(root, ".changeset")).sort(), ["brave-cats.md", "config.json"], "changeset kept");

  const text = describe(
    { version: versions["@nexus/cli"], outDir: join(root, "dist", "release", "x"), plan, binaries: { built: [{ target: "darwin-arm64", nodeVersion: "24.0.0", needsSigning: true }], skippedPrograms: ["agent"] }, packages: [{ name: "@nexus/core", version: "0.1.0" }], unbuilt: [], checksums: "abc  nexus-darwin-arm64\n" },
    { publish: false, root },
  );
  t.match(text, "dry run, nothing published");
  t.match(text, `@nexus/cli ${versions["@nexus/cli"]} → ${minorBump(versions["@nexus/cli"])}`);
  t.match(text, "nexus-darwin-arm64  (Node 24.0.0; unsigned: sign on macOS, then rewrite SHA256SUMS)");
  t.match(text, "without: agent (no source yet)");
  t.match(text, "upload dist/release/x/* to <download base>/");
});

t.test("packages whose exports or bin are not built are reported", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "nexus-release-unbuilt-"));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, "packages", "a", "dist"), { recursive: true });
  writeFileSync(join(root, "packages", "a", "package.json"), JSON.stringify({ name: "a", exports: { ".": { default: "./dist/index.js" } }, bin: { a: "./dist/main.js" } }));
  writeFileSync(join(root, "packages", "a", "dist", "index.js"), "");
  t.same(unbuiltPackages(root, [{ name: "a", dir: "packages/a" }]), ["a (./dist/main.js missing)"]);
  writeFileSync(join(root, "packages", "a", "dist", "main.js"), "");
  t.same(unbuiltPackages(root, [{ name: "a", dir: "packages/a" }]), []);
});
