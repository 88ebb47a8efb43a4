// Fast twin of disk-full.real.test.ts (no root, no tmpfs): SQLite's page limit makes the
// database "full" the way a full disk does (SQLITE_FULL). A write then fails with a
// catalog error saying the disk is full and what to do; reads keep working; the file stays
// sound; writes work again once there is room.
import t from "tap";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isNexusError, type NexusError } from "@nexus/core";
import { openSqliteStore } from "@nexus/server";

t.test("a full database: a clear error, reads still served, the file intact", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "nexus-store-full-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = openSqliteStore({ file: join(dir, "nexus.db") });
  t.teardown(() => store.close());
  const owner = await store.users.create({ username: "alice", github_id: null });
  const create = (name: string) =>
    store.workspaces.create({
      workspace_name: name,
      owner_id: owner.user_id,
      provider: "",
      image: null,
      repo: { owner: "octo", name: "full", branch: "", url: "https://github.com/octo/full.git", is_fork: false },
      // A few KiB per row, so the limit is reached in a few dozen writes.
      config: { env: { PADDING: "x".repeat(4096) } },
      idempotency_key: null,
    });

  await create("first");
  const { page_count: pages } = store.db.prepare("PRAGMA page_count").get() as { page_count: number };
  store.db.exec(`PRAGMA max_page_count = ${pages + 2}`);

  let refusal: NexusError | undefined;
  let accepted = 0;
  for (let i = 0; i < 100 && !refusal; i++) {
    try {
      await create(`more-${i}`);
      accepted++;
    } catch (error) {
      if (!isNexusError(error)) throw error;
      refusal = error;
    }
  }
  t.ok(refusal, "a write is refused once the database cannot grow");
  t.equal(refusal?.code, "internal_error");
  t.match(refusal?.message, /disk is full/);
  t.match(refusal?.hint, /Free space/);
  t.same(refusal?.details, { reason: "disk_full" });

  t.equal((await store.workspaces.listAll()).length, accepted + 1, "reads still work, and hold exactly the accepted rows");
  store.db.exec("PRAGMA max_page_count = 1073741823");
  await create("after");
  t.equal((await store.workspaces.listAll()).length, accepted + 2, "writes work again once there is room");
  t.same(store.db.prepare("PRAGMA integrity_check").all(), [{ integrity_check: "ok" }]);
});
