// The one-line install in single-machine mode, for real: the standalone binary for this
// machine (scripts/release/build-sea.mjs) served with its SHA256SUMS on 127.0.0.1, and
// `install.sh --local --repo <copy of examples/hello>` run from an empty HOME. It must end
// with the workspace running (the binary starting its own server and agent on this
// machine's engine) and say how long the journey took. Containers carry nexus.test-run and
// are swept at the end.
import t from "tap";
import { execFile, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LABELS } from "@nexus/core";
import { freePort } from "@nexus/test-utils";
import { buildStandaloneBinaries, cliVersion } from "../../scripts/release/build-sea.mjs";
import { writeChecksums } from "../../scripts/release/checksums.mjs";
import { hostTarget } from "../../scripts/release/node-dist.mjs";
import { ROOT, runInstaller, serveRelease } from "./harness.js";

const TEST_RUN = `install-local-${randomUUID()}`;
const work = mkdtempSync(join(tmpdir(), "nexus-install-local-"));
const releases = join(work, "release");
const home = join(work, "home");
const project = join(work, "hello");
const installed = join(home, ".local", "bin", "nexus");
mkdirSync(home);
cpSync(join(ROOT, "examples", "hello"), project, { recursive: true });


let env: Record<string, string> = {};

/** The installed nexus, as the new user runs it. */
function nexus(args: string[], cwd = home): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(installed, args, { cwd, env, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

t.before(async () => {
  await buildStandaloneBinaries({ root: ROOT, targets: [hostTarget()], outDir: join(releases, "latest") });
  await writeChecksums(join(releases, "latest"));
});

t.teardown(async () => {
  spawnSync("ssh", ["-F", join(home, ".ssh", "config"), "-O", "exit", "nexus-hello"], { stdio: "ignore", timeout: 5000 });
  await nexus(["workspace", "delete", "hello", "--force"]);
  await nexus(["server", "stop"]);
  spawnSync("bash", [join(ROOT, "scripts", "engines", "teardown.sh"), "--run", TEST_RUN], { stdio: "ignore" });
  rmSync(work, { recursive: true, force: true });
});

t.test("install.sh --local --repo <dir>: the binary installed, then nexus up to a running workspace", async (t) => {
  const server = await serveRelease(releases);
  t.teardown(() => server.close());
  env = {
    HOME: home,
    // A machine's usual PATH (its Node, if any, is too old to matter: the binary method is asked for).
    PATH: `${join(home, ".local", "bin")}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    NEXUS_DOWNLOAD_URL: server.url,
    NEXUS_INSTALL_METHOD: "binary",
    // A free port for the local server (3001 may be taken on a shared machine): nothing answers
    // there yet, so `nexus up` starts its server on it.
    NEXUS_SERVER: `http://127.0.0.1:${await freePort()}`,
    NEXUS_AGENT_LABELS: `${LABELS.testRun}=${TEST_RUN}`,
    NO_COLOR: "1",
  };

  const started = Date.now();
  const r = await runInstaller(["--local", "--repo", project, "--editor", "none"], env, home);
  const elapsed = Date.now() - started;
  t.equal(r.code, 0, "exit 0", { stdout: r.stdout, stderr: r.stderr });
  t.match(r.stdout, `nexus ${cliVersion(ROOT)} (binary, ${hostTarget()})`);
  t.match(r.stdout, /sha256 verified/);
  t.match(r.stdout, `==> nexus up ${project} --editor none`);
  t.match(r.stdout, /using (Incus|Docker) \(provider (lxc|docker)/, "says which engine");
  t.match(r.stdout, /started a local nexus server at http:\/\/127\.0\.0\.1:\d+/);
  const ready = r.stdout.split("\n").find((line) => line.startsWith("✔ ready in"));
  t.match(ready, /^✔ ready in [\d.m]+s: workspace hello is running; connect with: ssh nexus-hello$/, "the journey time is printed");
  t.comment(`${ready} (install.sh from start to finish: ${(elapsed / 1000).toFixed(1)}s)`);

  const list = await nexus(["workspace", "list", "--json"]);
  t.equal(list.code, 0, list.stderr);
  t.match(JSON.parse(list.stdout), { total: 1, workspaces: [{ workspace_name: "hello", status: "running" }] });

  const down = await nexus(["down"], project);
  t.equal(down.code, 0, down.stderr);
  const after = await nexus(["workspace", "list", "--json"]);
  t.match(JSON.parse(after.stdout).workspaces, [{ workspace_name: "hello", status: "stopped" }]);
});
