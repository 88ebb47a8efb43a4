// Contract test on a real terminal: the nexus process runs in a tmux pane, so stdout and
// stderr are a TTY. Progress is drawn there (a spinner per phase, then each phase with its
// duration) and never on a pipe; Ctrl-C stops following and says what keeps running.
import t, { type Test } from "tap";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { tempTree } from "@nexus/test-utils";
import { startFakeServer, type FakeServerOptions } from "./workspace-fake-server.js";

const ROOT = join(import.meta.dirname, "..", "..", "..");
// Contract tests: the built binary, as users run it (`npm run build` makes it; CI builds first).
const MAIN = join(ROOT, "packages", "cli", "dist", "main.js");
const SPINNER_FRAMES = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;
const hasTmux = spawnSync("tmux", ["-V"], { stdio: "ignore" }).status === 0;
const skip = !hasTmux ? "tmux is not installed" : !existsSync(MAIN) ? "the CLI is not built (npm run build)" : false;

function gitRepo(t: Test): string {
  const tree = tempTree({ app: { ".nexus": { "config.yaml": "version: 1\nservices:\n  api:\n    command: node api.js\n    port: 4000\n" } } });
  t.teardown(tree.cleanup);
  const dir = join(tree.dir, "app");
  for (const args of [["init", "-q", "-b", "main"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init"]]) {
    execFileSync("git", args, { cwd: dir, stdio: "pipe" });
  }
  return dir;
}

/** Runs `nexus …` in a detached tmux session on a private tmux server; returns pane helpers. */
async function inTmux(t: Test, serverOptions: FakeServerOptions, argv: string[]) {
  const server = await startFakeServer({ singleMachine: true, ...serverOptions });
  t.teardown(() => server.close());
  const home = tempTree({});
  t.teardown(home.cleanup);
  const socket = `nexus-test-${randomUUID()}`;
  const tmux = (...args: string[]) => spawnSync("tmux", ["-L", socket, "-f", "/dev/null", ...args], { encoding: "utf8" });
  t.teardown(() => void tmux("kill-server"));
  const env = [
    `PATH=${process.env.PATH}`,
    `HOME=${home.dir}`,
    `NEXUS_HOME=${home.dir}`,
    `NEXUS_SERVER=${server.url}`,
    `NEXUS_TOKEN=${server.options.token}`,
    "TERM=xterm",
    "LANG=C.UTF-8",
  ];
  // The command line reaches sh as positional arguments: nothing is interpolated into the
  // script. The trap keeps sh alive through Ctrl-C (nexus gets the default disposition).
  const script = 'trap "true" INT; cd "$1"; shift; "$@"; echo "EXIT=$?"; sleep 60';
  const started = tmux(
    "new-session", "-d", "-s", "nexus", "-x", "160", "-y", "50",
    "env", "-i", ...env,
    "sh", "-c", script, "sh", ROOT, process.execPath, MAIN, ...argv,
  );
  if (started.status !== 0) throw new Error(started.stderr);
  const pane = () => tmux("capture-pane", "-p", "-t", "nexus").stdout;
  /** Polls the pane until `pattern` shows; returns every distinct screen seen meanwhile. */
  const until = async (pattern: RegExp, timeoutMs = 60_000) => {
    const screens: string[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = pane();
      if (screens.at(-1) !== screen) screens.push(screen);
      if (pattern.test(screen)) return screens;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; the pane shows:\n${screen}`);
      await sleep(40);
    }
  };
  return { server, until, keys: (...keys: string[]) => tmux("send-keys", "-t", "nexus", ...keys) };
}

t.test("create on a terminal: a spinner per phase, each phase with its duration, then the summary", { skip }, async (t) => {
  const repo = gitRepo(t);
  const { until } = await inTmux(t, { stepMs: 250 }, ["workspace", "create", repo]);
  const screens = await until(/EXIT=\d+/);
  const final = screens.at(-1)!;
  t.match(final, /EXIT=0/);
  t.ok(screens.some((s) => SPINNER_FRAMES.test(s)), "a spinner was drawn while a phase ran");
  t.ok(screens.some((s) => /cloning the repository|waiting for SSH|creating the container/.test(s)), "the spinner names the phase under way");
  for (const label of ["scheduled on a node", "container created", "SSH ready", "repository cloned", "setup done", "services started", "services healthy"]) {
    t.match(final, new RegExp(`✔ ${label}\\s+\\d+ms`), `${label} with its duration`);
  }
  t.match(final, /workspace app is running/);
  t.match(final, /ssh -p \d+ dev@127\.0\.0\.1/);
  t.notMatch(final, SPINNER_FRAMES, "no spinner left behind");
});

t.test("a failing phase on a terminal: ✖ with the phase and the reason, catalog exit code", { skip }, async (t) => {
  const repo = gitRepo(t);
  const { until } = await inTmux(t, { stepMs: 60, fail: { phase: "repo_cloned", code: "clone_failed", message: "git fetch: repository not found" } }, ["workspace", "create", repo]);
  const final = (await until(/EXIT=\d+/)).at(-1)!;
  t.match(final, /✔ SSH ready\s+\d+ms/);
  t.match(final, /✖ workspace app failed to create in phase repo_cloned \(repository cloned\): git fetch: repository not found/);
  t.match(final, /next: Check that the repository and branch exist/);
  t.match(final, /EXIT=10/);
});

t.test("Ctrl-C while following: stops following, says the workspace is still being created, exit 130", { skip }, async (t) => {
  const repo = gitRepo(t);
  const { until, keys, server } = await inTmux(t, { stepMs: 2000 }, ["workspace", "create", repo]);
  await until(/waiting for a node|creating the container|scheduled on a node/);
  keys("C-c");
  const final = (await until(/EXIT=\d+/)).at(-1)!;
  t.match(final, /stopped following; workspace app is still being created\. Check it with `nexus workspace status app`/);
  t.match(final, /EXIT=130/);
  t.equal(server.workspaces.size, 1, "the workspace itself was not touched");
});
