// `nexus up` on real Incus, as a user would run it: the built CLI (scripts/test.sh builds it
// first) from a fresh HOME on a copy of examples/hello (not a git repository). It starts its
// own background server with the in-process agent, brings the workspace up with its api and
// web services healthy, and writes an SSH entry the real OpenSSH client uses. Then: up again
// only connects, down stops it. Every container carries nexus.test-run (NEXUS_AGENT_LABELS)
// and is swept at the end.
import t from "tap";
import { execFile, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { LABELS } from "@nexus/core";
import { freePort } from "@nexus/test-utils";

const ROOT = join(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "packages", "cli", "dist", "main.js");
const TEST_RUN = `up-${randomUUID()}`;

const work = mkdtempSync(join(tmpdir(), "nexus-up-e2e-"));
const home = join(work, "home");
const project = join(work, "hello");
mkdirSync(home);
cpSync(join(ROOT, "examples", "hello"), project, { recursive: true });

const env: Record<string, string> = {
  HOME: home,
  PATH: `${dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
  NEXUS_AGENT_LABELS: `${LABELS.testRun}=${TEST_RUN}`,
  NO_COLOR: "1",
};

function nexus(args: string[], cwd = work): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, env, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const sshConfig = join(home, ".ssh", "config");

t.teardown(async () => {
  // The connect check's shared connection (ControlPersist) outlives the commands.
  spawnSync("ssh", ["-F", sshConfig, "-O", "exit", "nexus-hello"], { stdio: "ignore", timeout: 5000 });
  await nexus(["workspace", "delete", "hello", "--force"]);
  await nexus(["server", "stop"]);
  spawnSync("bash", [join(ROOT, "scripts", "engines", "teardown.sh"), "--run", TEST_RUN], { stdio: "ignore" });
  rmSync(work, { recursive: true, force: true });
});


function httpGet(port: number, path: string): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    get({ host: "127.0.0.1", port, path, agent: false, timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on("error", () => resolve(undefined))
      .on("timeout", function (this: { destroy(): void }) {
        this.destroy();
      });
  });
}

t.test("nexus up <copy of examples/hello> --editor none from a fresh HOME on Incus", async (t) => {
  t.ok(existsSync(CLI), "the CLI is built (npm run build)");
  const port = await freePort();
  const up = await nexus(["up", project, "--editor", "none", "--port", String(port)]);
  t.equal(up.code, 0, "exit 0", { stdout: up.stdout, stderr: up.stderr });
  t.match(up.stdout, /^\[1\/7\] Container engine$/m);
  t.match(up.stdout, /using Incus \(provider lxc/, "says which engine");
  t.match(up.stdout, new RegExp(`started a local nexus server at http://127\\.0\\.0\\.1:${port}`));
  t.match(up.stdout, /not needed for a local directory/, "no GitHub");
  t.match(up.stdout, /ready in [\d.m]+s: workspace hello is running; connect with: ssh nexus-hello/);
  t.comment(up.stdout.split("\n").find((line) => line.startsWith("✔ ready in")) ?? "");

  const status = await nexus(["workspace", "status", "hello", "--json"]);
  t.equal(status.code, 0, status.stderr);
  const detail = JSON.parse(status.stdout);
  t.match(detail, { status: "running", health: "healthy", provider: "lxc", repository: { owner: "local", name: "hello" } });
  t.match(detail.services, { api: { health: "healthy", port: 4000 }, web: { health: "healthy", port: 3000 } });

  const listed = spawnSync("incus", ["list", "--format", "json"], { encoding: "utf8" });
  const ours = (JSON.parse(listed.stdout) as Array<{ name: string; config: Record<string, string> }>).filter((i) => i.config[`user.${LABELS.testRun}`] === TEST_RUN);
  t.equal(ours.length, 1, "one container, labelled with this test run");

  // The real OpenSSH through the written config (OpenSSH reads ~/.ssh/config from the password
  // database's home, so the file is named).
  const ssh = spawnSync("ssh", ["-F", sshConfig, "-o", "BatchMode=yes", "nexus-hello", "echo", "OK"], { encoding: "utf8", timeout: 30_000 });
  t.equal(ssh.status, 0, ssh.stderr);
  t.equal(ssh.stdout.trim(), "OK");
  // The check's shared connection forwards the services to their local ports.
  const web = await httpGet(detail.services.web.local_port, "/health");
  t.same(web, { status: 200, body: '{"ok":true}' }, "web answers through its LocalForward");

  const again = await nexus(["--json", "up", project, "--editor", "none"]);
  t.equal(again.code, 0, again.stderr);
  const doc = JSON.parse(again.stdout);
  t.same(
    doc.steps.map((s: { name: string; status: string }) => `${s.name}:${s.status}`),
    ["engine:done", "base_image:skipped", "server:skipped", "github_login:skipped", "ssh_key:skipped", "workspace:skipped", "connect:done"],
    "running again only connects",
  );
  t.match(doc.workspace, { workspace_name: "hello", action: "reused", status: "running" });

  const down = await nexus(["down"], project);
  t.equal(down.code, 0, down.stderr);
  t.match(down.stdout, /workspace hello stopped/);
  const list = await nexus(["workspace", "list", "--json"]);
  t.match(JSON.parse(list.stdout).workspaces, [{ workspace_name: "hello", status: "stopped" }]);
});
