import t from "tap";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isNexusError } from "@nexus/core";
import {
  dockerSocketPath,
  findDockerBaseImage,
  importBaseImageToDocker,
  importChanges,
  importQuery,
} from "../../src/image/docker-import.js";

const HASH = "0af17076d33dd7724749fe34830964d23d21d059d6eacd930caf84cfc73606c8";

t.test("the import query tags by recipe and applies the label and command", async (t) => {
  const query = importQuery("nexus/debian-12", HASH);
  t.equal(query.get("fromSrc"), "-", "the rootfs comes in the request body");
  t.equal(query.get("repo"), "nexus/debian-12");
  t.equal(query.get("tag"), HASH.slice(0, 12));
  t.same(query.getAll("changes"), importChanges(HASH));
  t.ok(importChanges(HASH).includes(`LABEL nexus.recipe=${HASH}`));
  t.ok(importChanges(HASH).includes('CMD ["/usr/local/sbin/nexus-sshd"]'));
});

t.test("the socket comes from DOCKER_HOST only when it is a unix socket", async (t) => {
  t.equal(dockerSocketPath({}), "/var/run/docker.sock");
  t.equal(dockerSocketPath({ DOCKER_HOST: "unix:///run/user/1000/docker.sock" }), "/run/user/1000/docker.sock");
  t.equal(dockerSocketPath({ DOCKER_HOST: "tcp://127.0.0.1:2375" }), "/var/run/docker.sock");
});

t.test("an unreachable Docker socket is provider_unavailable", async (t) => {
  const socketPath = join(mkdtempSync(join(tmpdir(), "nexus-nosock-")), "docker.sock");
  try {
    await importBaseImageToDocker({ rootfsTar: "/nonexistent", recipeHash: HASH }, { socketPath });
    t.fail("import succeeded without Docker");
  } catch (error) {
    t.equal(isNexusError(error) && error.code, "provider_unavailable");
  }
  await t.rejects(findDockerBaseImage({ recipeHash: HASH, socketPath }), { code: "provider_unavailable" });
});
