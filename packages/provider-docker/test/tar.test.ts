import { execFileSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempTree } from "@nexus/test-utils";
import t from "tap";
import { buildTar, readTar } from "../src/tar.js";

t.test("entries round-trip with type, mode, owner and content", async (t) => {
  const archive = buildTar([
    { path: "home/dev/.ssh", type: "directory", mode: 0o700, uid: 1000, gid: 1000 },
    { path: "home/dev/.ssh/authorized_keys", type: "file", data: "ssh-ed25519 AAAA x\n", mode: 0o600, uid: 1000, gid: 1000 },
    { path: "bin.dat", type: "file", data: new Uint8Array(513).fill(7), mode: 0o755, uid: 0, gid: 0 },
  ]);
  t.equal(archive.length % 512, 0, "whole blocks");
  const entries = await readTar(archive);
  t.same(entries.map((e) => [e.path, e.type, e.mode, e.uid, e.gid]), [
    ["home/dev/.ssh/", "Directory", 0o700, 1000, 1000],
    ["home/dev/.ssh/authorized_keys", "File", 0o600, 1000, 1000],
    ["bin.dat", "File", 0o755, 0, 0],
  ]);
  t.equal(entries[1]!.data.toString(), "ssh-ed25519 AAAA x\n");
  t.equal(entries[2]!.data.length, 513);
});

t.test("GNU tar extracts what buildTar writes, long paths included", async (t) => {
  const tree = tempTree({ out: {} });
  t.teardown(tree.cleanup);
  const longName = `${"d".repeat(120)}/${"f".repeat(120)}.txt`;
  const file = join(tree.dir, "a.tar");
  writeFileSync(file, buildTar([
    { path: "x/hello.txt", type: "file", data: "hi\n", mode: 0o640, uid: 0, gid: 0 },
    { path: longName, type: "file", data: "long\n", mode: 0o644, uid: 0, gid: 0 },
  ]));
  execFileSync("tar", ["-xf", file, "-C", join(tree.dir, "out"), "--no-same-owner"]);
  t.equal(readFileSync(join(tree.dir, "out", "x/hello.txt"), "utf8"), "hi\n");
  t.equal(statSync(join(tree.dir, "out", "x/hello.txt")).mode & 0o777, 0o640);
  t.equal(readFileSync(join(tree.dir, "out", longName), "utf8"), "long\n");
});

t.test("paths that would escape the extraction directory are refused", async (t) => {
  for (const path of ["/etc/passwd", "../x", "a/../../x", ""]) {
    t.throws(() => buildTar([{ path, type: "file", data: "", mode: 0o644, uid: 0, gid: 0 }]), /relative/, path);
  }
});
