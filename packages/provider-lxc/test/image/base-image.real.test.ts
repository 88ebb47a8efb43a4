// Real build of the base image (or a cache hit when `nexus node image build`
// already ran): the second build must come from the cache, and both engines must
// hold the image under nexus/debian-12 with this recipe's hash.
import t from "tap";
import { Agent, request } from "undici";
import { buildBaseImage } from "../../src/image/build.js";
import { findIncusBaseImage, importBaseImageToIncus, RECIPE_PROPERTY } from "../../src/image/incus-import.js";
import { BASE_IMAGE_ALIAS } from "../../src/image/recipe.js";

async function getJson(socketPath: string, path: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const dispatcher = new Agent({ connect: { socketPath } });
  try {
    const response = await request(`http://engine${path}`, { dispatcher });
    return { status: response.statusCode, json: (await response.body.json()) as Record<string, unknown> };
  } finally {
    await dispatcher.close();
  }
}

t.test("the second build is a cache hit and both engines hold the image", async (t) => {
  const first = await buildBaseImage();
  const second = await buildBaseImage();
  t.equal(second.cached, true, "second build comes from the cache");
  t.equal(second.recipeHash, first.recipeHash);
  t.equal(second.rootfsTar, first.rootfsTar);

  const imported = await importBaseImageToIncus(second);
  const again = await importBaseImageToIncus(second);
  t.equal(again.skipped, true, "second Incus import is skipped");
  t.equal(again.fingerprint, imported.fingerprint);
  t.same(await findIncusBaseImage({ recipeHash: second.recipeHash }), { fingerprint: imported.fingerprint });

  const alias = await getJson("/var/lib/incus/unix.socket", `/1.0/images/aliases/${encodeURIComponent(BASE_IMAGE_ALIAS)}`);
  t.equal(alias.status, 200, "Incus alias exists");
  const target = (alias.json.metadata as { target: string }).target;
  const image = await getJson("/var/lib/incus/unix.socket", `/1.0/images/${target}`);
  t.equal((image.json.metadata as { properties: Record<string, string> }).properties[RECIPE_PROPERTY], second.recipeHash);

  // Imported by `nexus node image build` --provider all (provider-docker owns that importer).
  const latest = await getJson("/var/run/docker.sock", `/images/${BASE_IMAGE_ALIAS}:latest/json`);
  t.equal(latest.status, 200, "Docker image nexus/debian-12:latest exists");
  const labels = (latest.json.Config as { Labels: Record<string, string> | null }).Labels ?? {};
  t.equal(labels["nexus.recipe"], second.recipeHash, "Docker image is this recipe");
  const tagged = await getJson("/var/run/docker.sock", `/images/${BASE_IMAGE_ALIAS}:${second.recipeHash.slice(0, 12)}/json`);
  t.equal(tagged.status, 200, "Docker recipe tag exists");
});
