// The pure validators agree with the tools whose rules they copy: git for branch
// names, ssh-keygen for key fingerprints.
import t from "tap";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isValidBranchName, sshPublicKeyFingerprint } from "@nexus/core";
import { ed25519PublicKey } from "./keys.js";

// `@` passes git (refs/heads/@ is a valid ref) but nexus refuses it; `@{-1}` is expanded
// by git to the previous branch. Everything else must agree.
const NAMES = [
  "main", "feature/login", "release-1.2", "fëature", "user@host", "x@", "a..b", "a b", "a~1", "a^b", "a:b", "a?b", "a*b",
  "a[b", "a\\b", "-b", "/a", "a/", "a//b", "a.", "a.lock", "a.lock/b", "a@{b", ".hidden", "a/.b", "HEAD", "a\tb", "a\x7fb",
];

t.test("isValidBranchName agrees with git check-ref-format --branch", async (t) => {
  for (const name of NAMES) {
    const git = spawnSync("git", ["check-ref-format", "--branch", name], { cwd: tmpdir(), encoding: "utf8" });
    t.equal(isValidBranchName(name), git.status === 0, `${JSON.stringify(name)}: git says ${git.status === 0 ? "valid" : "invalid"}`);
  }
});

t.test("sshPublicKeyFingerprint matches ssh-keygen -lf", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "nexus-fp-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const key = ed25519PublicKey("parity@test");
  const file = join(dir, "id.pub");
  writeFileSync(file, `${key}\n`);
  const printed = execFileSync("ssh-keygen", ["-lf", file], { encoding: "utf8" });
  t.equal(sshPublicKeyFingerprint(key), printed.split(" ")[1]);
});
