import t from "tap";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isNexusError } from "@nexus/core";
import { buildBaseImage, isCachedBuild, resolveBaseImageRecipe } from "../../src/image/build.js";
import { findIncusBaseImage, importBaseImageToIncus } from "../../src/image/incus-import.js";
import type { ImageProgressEvent } from "../../src/image/progress.js";

const MIRROR = "http://mirror.example/debian";

t.test("a cached build is returned without running anything", async (t) => {
  const cacheDir = mkdtempSync(join(tmpdir(), "nexus-image-cache-"));
  t.teardown(() => rmSync(cacheDir, { recursive: true, force: true }));
  const { recipeHash } = await resolveBaseImageRecipe({ mirror: MIRROR });
  const dir = join(cacheDir, recipeHash);
  mkdirSync(dir);
  writeFileSync(join(dir, "rootfs.tar"), "");
  writeFileSync(join(dir, "incus-metadata.tar"), "");
  writeFileSync(join(dir, "manifest.json"), JSON.stringify({ recipeHash, builtAt: "2026-01-01T00:00:00Z" }));

  const events: ImageProgressEvent[] = [];
  const artifacts = await buildBaseImage({ mirror: MIRROR, cacheDir, onProgress: (e) => events.push(e) });
  t.equal(artifacts.cached, true);
  t.equal(artifacts.recipeHash, recipeHash);
  t.equal(artifacts.rootfsTar, join(dir, "rootfs.tar"));
  t.equal(artifacts.incusMetadataTar, join(dir, "incus-metadata.tar"));
  t.same(events.map((e) => e.step), ["done"]);
});

t.test("only a complete build with this recipe's manifest is a cache hit", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "nexus-image-entry-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const hash = "b".repeat(64);
  t.equal(await isCachedBuild(dir, hash), false, "empty dir");
  writeFileSync(join(dir, "rootfs.tar"), "");
  writeFileSync(join(dir, "incus-metadata.tar"), "");
  t.equal(await isCachedBuild(dir, hash), false, "tarballs without a manifest (interrupted build)");
  writeFileSync(join(dir, "manifest.json"), JSON.stringify({ recipeHash: "c".repeat(64) }));
  t.equal(await isCachedBuild(dir, hash), false, "another recipe's manifest");
  writeFileSync(join(dir, "manifest.json"), JSON.stringify({ recipeHash: hash }));
  t.equal(await isCachedBuild(dir, hash), true, "complete");
  rmSync(join(dir, "incus-metadata.tar"));
  t.equal(await isCachedBuild(dir, hash), false, "a tarball missing");
});

t.test("a bad mirror is invalid_request before anything is built", async (t) => {
  await t.rejects(buildBaseImage({ mirror: "ftp://mirror.example/debian", cacheDir: "/nonexistent" }), {
    code: "invalid_request",
  });
});

t.test("a relative cache dir is invalid_request", async (t) => {
  await t.rejects(buildBaseImage({ mirror: MIRROR, cacheDir: "images" }), { code: "invalid_request" });
});

t.test("an unreachable Incus socket is provider_unavailable", async (t) => {
  const socketPath = join(mkdtempSync(join(tmpdir(), "nexus-nosock-")), "unix.socket");
  const artifacts = { rootfsTar: "/nonexistent", incusMetadataTar: "/nonexistent", recipeHash: "a".repeat(64) };
  try {
    await importBaseImageToIncus(artifacts, { socketPath });
    t.fail("import succeeded without Incus");
  } catch (error) {
    t.ok(isNexusError(error), "a NexusError");
    t.equal(isNexusError(error) && error.code, "provider_unavailable");
  }
  await t.rejects(findIncusBaseImage({ recipeHash: "a".repeat(64), socketPath }), { code: "provider_unavailable" });
});
