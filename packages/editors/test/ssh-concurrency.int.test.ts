// Two processes write at once: no entry is lost, the Include appears once.
import t from "tap";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createSshConfig } from "@nexus/editors";
import { tempDir } from "./fake-editors.js";

const WRITER = join(import.meta.dirname, "fixtures", "ssh-writer.ts");
const COUNT = 15;

function runWriter(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import=tsx", "--conditions=nexus-source", WRITER, ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

t.test("two processes adding different workspaces: all entries, one Include", async (t) => {
  const root = tempDir(t);
  const nexusHome = join(root, "nexus");
  const sshDir = join(root, "home", ".ssh");
  const writers = [
    runWriter([nexusHome, sshDir, root, "alpha", String(COUNT), "2200"]),
    runWriter([nexusHome, sshDir, root, "beta", String(COUNT), "2300"]),
  ];
  // Both are started and waiting: release them together.
  for (let i = 0; i < 3000 && !(existsSync(join(root, "ready-alpha")) && existsSync(join(root, "ready-beta"))); i++) await sleep(10);
  writeFileSync(join(root, "go"), "");
  const results = await Promise.all(writers);
  for (const r of results) t.equal(r.code, 0, r.stderr);

  const entries = createSshConfig({ nexusHome }).listWorkspaceEntries();
  const expected = ["alpha", "beta"].flatMap((p) => Array.from({ length: COUNT }, (_, i) => `${p}-${i}`)).sort();
  t.same(entries.map((e) => e.workspace).sort(), expected, "every workspace of both writers");
  const knownHosts = readFileSync(join(nexusHome, "ssh", "known_hosts"), "utf8").trim().split("\n");
  t.equal(knownHosts.length, 2 * COUNT, "one pinned key per workspace");
  const userConfig = readFileSync(join(sshDir, "config"), "utf8");
  t.equal(userConfig, `Include ${nexusHome}/ssh/config\n`, "exactly one Include");
  t.notOk(existsSync(join(nexusHome, "ssh", ".lock")), "lock released");
});
