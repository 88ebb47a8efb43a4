// Real Docker: imports a tiny synthetic rootfs under a throwaway repository,
// checks the skip-on-same-recipe logic and the recipe label, then removes it.
import t from "tap";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Agent, request } from "undici";
import { findDockerBaseImage, importBaseImageToDocker, RECIPE_LABEL } from "../../src/image/docker-import.js";

const socketPath = "/var/run/docker.sock";
const dispatcher = new Agent({ connect: { socketPath } });
const runId = randomUUID();
const repository = `nexus-test/image-${runId.slice(0, 8)}`;

async function docker(method: "GET" | "DELETE", path: string): Promise<{ status: number; json: unknown }> {
  const response = await request(`http://docker${path}`, { dispatcher, method });
  const text = await response.body.text();
  return { status: response.statusCode, json: text ? JSON.parse(text) : undefined };
}

function tinyRootfs(dir: string, marker: string): string {
  const root = join(dir, `rootfs-${marker}`);
  mkdirSync(join(root, "etc"), { recursive: true });
  writeFileSync(join(root, "etc", "nexus-image"), `recipe=${marker}\n`);
  const tarball = join(dir, `rootfs-${marker}.tar`);
  execFileSync("tar", ["--create", `--file=${tarball}`, `--directory=${root}`, "."]);
  return tarball;
}

t.teardown(async () => {
  const filters = JSON.stringify({ reference: [repository] });
  const { json } = await docker("GET", `/images/json?${new URLSearchParams({ filters })}`);
  for (const image of json as { Id: string }[]) await docker("DELETE", `/images/${image.Id}?force=true`);
  await dispatcher.close();
});

t.test("import, skip on the same recipe, replace on a new one", async (t) => {
  const dir = t.testdir();
  const hashA = randomUUID().replaceAll("-", "").repeat(2);
  const hashB = randomUUID().replaceAll("-", "").repeat(2);

  const first = await importBaseImageToDocker({ rootfsTar: tinyRootfs(dir, "a"), recipeHash: hashA }, { socketPath, repository });
  t.equal(first.skipped, false);
  t.equal(first.reference, `${repository}:latest`);
  const inspect = (await docker("GET", `/images/${repository}:latest/json`)).json as {
    Id: string;
    Config: { Labels: Record<string, string>; Cmd: string[] };
    RepoTags: string[];
  };
  t.equal(inspect.Id, first.id);
  t.equal(inspect.Config.Labels[RECIPE_LABEL], hashA);
  t.same(inspect.Config.Cmd, ["/usr/local/sbin/nexus-sshd"]);
  t.ok(inspect.RepoTags.includes(`${repository}:${hashA.slice(0, 12)}`), "tagged with the recipe");
  t.same(await findDockerBaseImage({ recipeHash: hashA, socketPath, repository }), { id: first.id });

  const again = await importBaseImageToDocker({ rootfsTar: "/nonexistent/not-read-when-skipped", recipeHash: hashA }, { socketPath, repository });
  t.equal(again.skipped, true);
  t.equal(again.id, first.id);

  const second = await importBaseImageToDocker({ rootfsTar: tinyRootfs(dir, "b"), recipeHash: hashB }, { socketPath, repository });
  t.equal(second.skipped, false);
  t.not(second.id, first.id);
  t.equal(await findDockerBaseImage({ recipeHash: hashA, socketPath, repository }), undefined, "latest moved on");
  t.equal((await docker("GET", `/images/${repository}:${hashA.slice(0, 12)}/json`)).status, 404, "old recipe tag removed");
});
