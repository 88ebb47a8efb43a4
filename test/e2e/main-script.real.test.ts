// The README's first command, `bash scripts/main.sh`, as a newcomer runs it (here with the
// dependencies already installed and built: BOOTSTRAP_SKIP_INSTALL=1, and the engines up):
// it brings examples/hello up on a local server from a fresh HOME and says how to connect,
// and the connection it prints works with the real OpenSSH client. Running it again only
// connects. Every container carries nexus.test-run (NEXUS_AGENT_LABELS) and is swept at the end.
import t from "tap";
import { execFile, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { LABELS } from "@nexus/core";
import { freePort } from "@nexus/test-utils";

const ROOT = join(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "packages", "cli", "dist", "main.js");
const TEST_RUN = `main-${randomUUID()}`;

const work = mkdtempSync(join(tmpdir(), "nexus-main-e2e-"));
const home = join(work, "home");
mkdirSync(home);
const sshConfig = join(home, ".ssh", "config");
const env: Record<string, string> = {
  HOME: home,
  PATH: `${dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
  BOOTSTRAP_SKIP_INSTALL: "1",
  NEXUS_AGENT_LABELS: `${LABELS.testRun}=${TEST_RUN}`,
  NO_COLOR: "1",
};

function run(file: string, args: string[], cwd = work): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}
const nexus = (args: string[]) => run(process.execPath, [CLI, ...args]);

t.teardown(async () => {
  spawnSync("ssh", ["-F", sshConfig, "-O", "exit", "nexus-hello"], { stdio: "ignore", timeout: 5000 });
  await nexus(["workspace", "delete", "hello", "--force"]);
  await nexus(["server", "stop"]);
  spawnSync("bash", [join(ROOT, "scripts", "engines", "teardown.sh"), "--run", TEST_RUN], { stdio: "ignore" });
  rmSync(work, { recursive: true, force: true });
});


t.test("bash scripts/main.sh: examples/hello running, the printed connection works; again: only connects", async (t) => {
  const port = await freePort();
  const first = await run("bash", [join(ROOT, "scripts", "main.sh"), "--port", String(port)]);
  t.equal(first.code, 0, "exit 0", { stdout: first.stdout, stderr: first.stderr });
  t.match(first.stdout, /ready in [\d.m]+s: workspace hello is running; connect with: ssh nexus-hello/, "says how to connect");
  t.match(first.stdout, new RegExp(`started a local nexus server at http://127\\.0\\.0\\.1:${port}`));

  const status = await nexus(["workspace", "status", "hello", "--json"]);
  t.equal(status.code, 0, status.stderr);
  t.match(JSON.parse(status.stdout), { status: "running", health: "healthy", services: { api: { health: "healthy" }, web: { health: "healthy" } } });

  const ssh = spawnSync("ssh", ["-F", sshConfig, "-o", "BatchMode=yes", "nexus-hello", "cat", "/home/dev/hello/server.js"], { encoding: "utf8", timeout: 30_000 });
  t.equal(ssh.status, 0, ssh.stderr);
  t.ok(ssh.stdout.length > 0, "the example's files are in the workspace");

  const again = await run("bash", [join(ROOT, "scripts", "main.sh")]);
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, /workspace hello is running/);
  t.notMatch(again.stdout, /started a local nexus server/, "the running server is reused");
  const list = await nexus(["workspace", "list", "--json"]);
  t.equal(JSON.parse(list.stdout).workspaces.length, 1, "no second workspace");
});
