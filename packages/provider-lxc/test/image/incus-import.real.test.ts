// Real Incus: imports tiny synthetic split images under a throwaway alias via
// the REST API, checks skip-on-same-recipe, re-pointing and removal of the
// superseded image, then deletes what it made.
import t from "tap";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Agent, request } from "undici";
import { writeIncusMetadata } from "../../src/image/configure.js";
import { findIncusBaseImage, importBaseImageToIncus, RECIPE_PROPERTY } from "../../src/image/incus-import.js";
import { baseImageRecipe, hostArchitecture } from "../../src/image/recipe.js";

const socketPath = "/var/lib/incus/unix.socket";
const dispatcher = new Agent({ connect: { socketPath } });
const runId = randomUUID();
const alias = `nexus-test/image-${runId.slice(0, 8)}`;
const made = new Set<string>();

async function incus(method: "GET" | "DELETE", path: string): Promise<{ status: number; body: { metadata?: unknown; operation?: string } }> {
  const response = await request(`http://incus${path}`, { dispatcher, method });
  return { status: response.statusCode, body: (await response.body.json()) as { metadata?: unknown } };
}

async function tinyImage(dir: string, hash: string) {
  const recipe = baseImageRecipe({ mirror: "http://deb.debian.org/debian" });
  const metadata = join(dir, `metadata-${hash}`);
  await writeIncusMetadata(metadata, recipe, hash, hostArchitecture().incus);
  const rootfs = join(dir, `rootfs-${hash}`);
  mkdirSync(join(rootfs, "etc"), { recursive: true });
  writeFileSync(join(rootfs, "etc", "nexus-image"), `recipe=${hash}\n`);
  const incusMetadataTar = join(dir, `metadata-${hash}.tar`);
  const rootfsTar = join(dir, `rootfs-${hash}.tar`);
  execFileSync("tar", ["--create", `--file=${incusMetadataTar}`, `--directory=${metadata}`, "."]);
  execFileSync("tar", ["--create", `--file=${rootfsTar}`, `--directory=${rootfs}`, "."]);
  return { incusMetadataTar, rootfsTar, recipeHash: hash };
}

t.teardown(async () => {
  await incus("DELETE", `/1.0/images/aliases/${encodeURIComponent(alias)}`);
  for (const fingerprint of made) {
    const { body } = await incus("DELETE", `/1.0/images/${fingerprint}`);
    if (body.operation) await incus("GET", `${body.operation}/wait?timeout=60`);
  }
  await dispatcher.close();
});

t.test("import, skip on the same recipe, re-point and prune on a new one", async (t) => {
  const dir = t.testdir();
  const hashA = randomUUID().replaceAll("-", "").repeat(2);
  const hashB = randomUUID().replaceAll("-", "").repeat(2);

  const first = await importBaseImageToIncus(await tinyImage(dir, hashA), { socketPath, alias });
  made.add(first.fingerprint);
  t.equal(first.skipped, false);
  t.equal(first.alias, alias);
  const target = (await incus("GET", `/1.0/images/aliases/${encodeURIComponent(alias)}`)).body.metadata as { target: string };
  t.equal(target.target, first.fingerprint, "alias points at the upload");
  const image = (await incus("GET", `/1.0/images/${first.fingerprint}`)).body.metadata as { properties: Record<string, string> };
  t.equal(image.properties[RECIPE_PROPERTY], hashA, "recipe stored as an image property");
  t.same(await findIncusBaseImage({ recipeHash: hashA, socketPath, alias }), { fingerprint: first.fingerprint });

  const again = await importBaseImageToIncus(
    { rootfsTar: "/nonexistent", incusMetadataTar: "/nonexistent", recipeHash: hashA },
    { socketPath, alias },
  );
  t.equal(again.skipped, true);
  t.equal(again.fingerprint, first.fingerprint);

  const second = await importBaseImageToIncus(await tinyImage(dir, hashB), { socketPath, alias });
  made.add(second.fingerprint);
  t.equal(second.skipped, false);
  t.not(second.fingerprint, first.fingerprint);
  t.equal(await findIncusBaseImage({ recipeHash: hashA, socketPath, alias }), undefined, "alias moved on");
  t.equal((await incus("GET", `/1.0/images/${first.fingerprint}`)).status, 404, "superseded image removed");
});
