// The server's data directory runs out of space: its data dir is a small tmpfs (root
// only), filled up with a file. Creating a workspace then fails with a catalog error whose
// message says the disk is full; reads keep being served; once space is freed, writes
// work again and the database passes `PRAGMA integrity_check`.
import t from "tap";
import { execFile } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, rmdirSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { isNexusError, type NexusError } from "@nexus/core";
import { integrityCheck, readAllocations, startServerProcess } from "./helpers/cluster.js";

const run = promisify(execFile);
const TMPFS_SIZE = "4m";
/** Creates tried against the full disk: the WAL may still have room for a few. */
const MAX_CREATES_WHEN_FULL = 200;

/** Writes zeros until the filesystem refuses (bounded by the tmpfs size). */
function fill(file: string): number {
  const fd = openSync(file, "w");
  const chunk = Buffer.alloc(16 * 1024);
  let written = 0;
  try {
    for (let i = 0; i < 1024; i++) written += writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    closeSync(fd);
  }
  return written;
}

t.test("the server's data directory is full", { skip: process.getuid?.() === 0 ? false : "needs root (mounts a tmpfs)" }, async (t) => {
  const mountPoint = mkdtempSync(join(tmpdir(), "nexus-disk-full-"));
  await run("mount", ["-t", "tmpfs", "-o", `size=${TMPFS_SIZE},mode=0700`, "tmpfs", mountPoint]);
  t.teardown(async () => {
    // Always unmounted, even when the server is still running (lazy: it goes once the server exits).
    await run("umount", [mountPoint]).catch(() => run("umount", ["-l", mountPoint]));
    rmdirSync(mountPoint);
  });
  const dataDir = join(mountPoint, "server");
  mkdirSync(dataDir, { mode: 0o700 });
  const server = await startServerProcess(t, { dataDir });
  const repo = { owner: "octo", name: "disk", url: join(server.root, "no-repo-needed") };
  const create = (name: string) => server.user.createWorkspace({ workspace_name: name, repo }, { timeoutMs: 15_000 });

  const before = await create("before-full");
  t.equal(before.status, "pending", "a create works while there is space");

  const filler = join(mountPoint, "filler");
  const filled = fill(filler);
  t.ok(filled > 0, `filled the disk (${Math.round(filled / 1024)} KiB)`);

  let refusal: NexusError | undefined;
  let accepted = 0;
  for (let i = 0; i < MAX_CREATES_WHEN_FULL && !refusal; i++) {
    try {
      await create(`while-full-${i}`);
      accepted++;
    } catch (error) {
      if (!isNexusError(error)) throw error;
      refusal = error;
    }
  }
  t.comment(`${accepted} creates still fit in the database's free pages before one was refused`);
  t.ok(refusal, "a create is refused once the disk is full");
  t.equal(refusal?.code, "internal_error", "the catalog code");
  t.match(refusal?.message, /disk is full/i, `the message says the disk is full: ${refusal?.message}`);
  t.match(refusal?.hint, /free/i, `the hint says what to do: ${refusal?.hint}`);

  const listed = await server.user.listWorkspaces({ limit: 100 });
  t.equal(listed.total, accepted + 1, "reads are still served while the disk is full");
  t.equal((await server.user.getWorkspace(before.workspace_id)).workspace_name, "before-full");
  t.equal((await server.admin.health()).status, "ok", "and /health answers");
  t.equal(server.proc?.child.exitCode, null, "the server is still running");

  rmSync(filler);
  const after = await create("after-freeing");
  t.equal(after.status, "pending", "creates work again once space is freed");
  t.equal((await server.user.listWorkspaces({ limit: 100 })).total, accepted + 2);

  await server.kill("SIGTERM");
  t.equal(integrityCheck(server.dbFile), "ok", "integrity_check ok");
  const names = readAllocations(server.dbFile).workspaces.length;
  t.equal(names, accepted + 2, "the database holds exactly the accepted workspaces");
});
