// nexus workspace connect against the fake server (responses validated with the wire
// schemas), with fake `ssh` and editor executables on PATH that record their argv.
import t, { type Test } from "tap";
import { chmodSync, existsSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import ssh2 from "ssh2";
import { generateEd25519Pair } from "@nexus/github";
import { tempTree } from "@nexus/test-utils";
import { sshFailureReason } from "../src/commands/connect.js";
import { runCli } from "./helpers.js";
import { startFakeServer } from "./workspace-fake-server.js";

const HOST_KEY = generateEd25519Pair().public.split(" ").slice(0, 2).join(" ");

/** One argv per line, then END, appended to `<root>/<name>.argv` on every run. */
function recorder(root: string, name: string, body: string[]): string {
  return [
    "#!/bin/sh",
    ...(name === "ssh" ? ['if [ "$1" = "-V" ]; then echo "OpenSSH_9.2p1 Debian-2, OpenSSL 3.0.11" >&2; exit 0; fi'] : ['if [ "$1" = "--version" ]; then echo 1.95.3; exit 0; fi']),
    `{ for arg in "$@"; do printf '%s\\n' "$arg"; done; printf 'END\\n'; } >> "${root}/${name}.argv"`,
    ...body,
  ].join("\n");
}

const FAKE_SSH = [
  'case "$FAKE_SSH" in',
  '  hostkey) echo "Host key verification failed." >&2; exit 255 ;;',
  '  auth) echo "dev@127.0.0.1: Permission denied (publickey)." >&2; exit 255 ;;',
  '  refused) echo "ssh: connect to host 127.0.0.1 port 2222: Connection refused" >&2; exit 255 ;;',
  '  busy) echo "bind [127.0.0.1]:23000: Address already in use" >&2; echo "channel_setup_fwd_listener_tcpip: cannot listen to port: 23000" >&2; echo OK ;;',
  "  *) echo OK ;;",
  "esac",
];

async function sandbox(t: Test, options: { editors?: string[] } = {}) {
  const tree = tempTree({ home: { ".ssh": {} }, bin: {} });
  t.teardown(tree.cleanup);
  const root = tree.dir;
  const home = join(root, "home");
  const bin = join(root, "bin");
  const user = generateEd25519Pair();
  writeFileSync(join(home, ".ssh", "id_ed25519"), user.private, { mode: 0o600 });
  for (const name of options.editors ?? ["code"]) {
    writeFileSync(join(bin, name), `${recorder(root, name, ["exit 0"])}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  writeFileSync(join(bin, "ssh"), `${recorder(root, "ssh", FAKE_SSH)}\n`);
  chmodSync(join(bin, "ssh"), 0o755);

  const server = await startFakeServer({ ssh: { host: "127.0.0.1", port: 2222, hostKey: HOST_KEY } });
  t.teardown(() => server.close());
  const now = new Date().toISOString();
  server.seed("my-app", "running", {
    services: {
      web: { name: "web", status: "running", health: "healthy", port: 3000, local_port: 23000, url: "http://localhost:23000", last_check: now, last_error: null },
      worker: { name: "worker", status: "running", health: "unknown", port: null, local_port: null, url: null, last_check: null, last_error: null },
    },
    repository: {
      owner: "me",
      name: "my-app",
      branch: "feature-x",
      commit: "0123456789abcdef0123",
      url: "https://github.com/me/my-app.git",
      upstream: { owner: "octo", name: "my-app", url: "https://github.com/octo/my-app.git" },
    },
  });
  const nexusHome = join(root, "nexus");
  const env: Record<string, string | undefined> = { HOME: home, NEXUS_HOME: nexusHome, NEXUS_SERVER: server.url, NEXUS_TOKEN: server.options.token, PATH: bin };
  const argvs = (name: string): string[][] => {
    const file = join(root, `${name}.argv`);
    if (!existsSync(file)) return [];
    const runs: string[][] = [];
    let current: string[] = [];
    for (const line of readFileSync(file, "utf8").split("\n")) {
      if (line === "END") {
        runs.push(current);
        current = [];
      } else if (line !== "") current.push(line);
    }
    return runs;
  };
  /** GUI editors are started detached and not waited for: poll until `count` runs are recorded. */
  const launched = async (name: string, count: number): Promise<string[][]> => {
    for (let i = 0; i < 500 && argvs(name).length < count; i++) await sleep(10);
    return argvs(name);
  };
  return { root, home, nexusHome, server, env, argvs, launched, userKey: join(home, ".ssh", "id_ed25519") };
}

t.test("connect --editor code: entry and Include written, SSH checked, VS Code opened on the remote folder, summary", async (t) => {
  const s = await sandbox(t);
  const r = await runCli(["workspace", "connect", "my-app", "--editor", "code"], { env: s.env });
  t.equal(r.code, 0, r.stderr);

  t.same(await s.launched("code", 1), [["--folder-uri", "vscode-remote://ssh-remote+nexus-my-app/home/dev/my-app"]]);
  t.same(
    s.argvs("ssh"),
    [["-F", join(s.home, ".ssh", "config"), "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "nexus-my-app", "echo", "OK"]],
    "the check goes through ~/.ssh/config, so the Include is proven too",
  );

  const config = readFileSync(join(s.nexusHome, "ssh", "config"), "utf8");
  t.match(config, /Host nexus-my-app\n\s+HostName 127\.0\.0\.1\n\s+Port 2222\n\s+User dev/);
  t.match(config, `IdentityFile ${s.userKey}`);
  t.match(config, /StrictHostKeyChecking yes/);
  t.match(config, /# service web\n\s+LocalForward 23000 127\.0\.0\.1:3000/);
  t.match(config, /ControlMaster auto/);
  t.match(readFileSync(join(s.nexusHome, "ssh", "known_hosts"), "utf8"), `[127.0.0.1]:2222 ${HOST_KEY}`);
  t.equal(readFileSync(join(s.home, ".ssh", "config"), "utf8").split("\n")[0], `Include ${join(s.nexusHome, "ssh", "config")}`);

  t.match(r.stdout, /connected to my-app/);
  t.match(r.stdout, /project\s+me\/my-app @ feature-x\s+fork of octo\/my-app/);
  t.match(r.stdout, /status\s+running\s+created in 100ms/);
  t.match(r.stdout, /repository cloned\s+100ms/);
  t.match(r.stdout, /web\s+http:\/\/localhost:23000\s+healthy/);
  t.match(r.stdout, /worker\s+no port/);
  t.match(r.stdout, /ssh\s+ssh nexus-my-app\n/);
  t.match(r.stdout, /editor\s+code opened on \/home\/dev\/my-app \(remembered for next time\)/);
  t.match(r.stdout, /link\s+vscode:\/\/vscode-remote\/ssh-remote\+nexus-my-app\/home\/dev\/my-app/);
  t.match(r.stdout, /origin\s+https:\/\/github\.com\/me\/my-app\.git/);
  t.match(r.stdout, /upstream\s+https:\/\/github\.com\/octo\/my-app\.git/);
  t.match(r.stdout, /nexus workspace forward my-app/);
  t.match(readFileSync(join(s.nexusHome, "config.yaml"), "utf8"), /editor: code/, "the choice is remembered");

  // Remembered: the next connect opens code without --editor.
  const again = await runCli(["workspace", "connect", "my-app"], { env: s.env });
  t.equal(again.code, 0, again.stderr);
  t.equal((await s.launched("code", 2)).length, 2);
  t.match(again.stdout, /editor\s+code opened on \/home\/dev\/my-app\n/);
});

t.test("connect --print --json: one document with everything, nothing launched", async (t) => {
  const s = await sandbox(t);
  const r = await runCli(["workspace", "connect", "my-app", "--editor", "code", "--print", "--json"], { env: s.env });
  t.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  t.match(doc, {
    workspace: "my-app",
    workspace_id: "ws_my_app",
    status: "running",
    health: "healthy",
    repository: { owner: "me", name: "my-app", branch: "feature-x", url: "https://github.com/me/my-app.git", upstream: { owner: "octo", name: "my-app" } },
    services: [
      { name: "web", port: 3000, local_port: 23000, local_url: "http://localhost:23000" },
      { name: "worker", port: null, local_port: null, local_url: null },
    ],
    ssh: {
      host: "nexus-my-app",
      command: ["ssh", "nexus-my-app"],
      config_file: join(s.nexusHome, "ssh", "config"),
      connection_sharing: true,
      include: { status: "added", file: join(s.home, ".ssh", "config") },
      check: ["ssh", "-F", join(s.home, ".ssh", "config"), "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "nexus-my-app", "echo", "OK"],
    },
    editor: { name: "code", source: "flag", launched: false },
    deep_link: "vscode://vscode-remote/ssh-remote+nexus-my-app/home/dev/my-app",
    remote_path: "/home/dev/my-app",
    git_remotes: { origin: "https://github.com/me/my-app.git", upstream: "https://github.com/octo/my-app.git" },
  });
  t.same(doc.editor.command.slice(1), ["--folder-uri", "vscode-remote://ssh-remote+nexus-my-app/home/dev/my-app"]);
  t.equal(doc.phases.length, 7);
  t.match(doc.phases[0], { name: "scheduled", duration_ms: 100, started_at: String });
  t.ok(doc.next_steps.includes("nexus workspace stop my-app"));
  t.same(s.argvs("code"), [], "--print starts nothing");

  const human = await runCli(["workspace", "connect", "my-app", "--editor", "code", "--print"], { env: s.env });
  t.equal(human.code, 0, human.stderr);
  t.equal(human.stdout.split("\n")[0], "code --folder-uri vscode-remote://ssh-remote+nexus-my-app/home/dev/my-app", "the command comes first, on its own line");
  t.match(human.stdout, /editor\s+code, not started \(--print\)/);
});

t.test("connect --editor none prints the ssh command; a taken forward port is a warning", async (t) => {
  const s = await sandbox(t);
  const r = await runCli(["workspace", "connect", "my-app", "--editor", "none"], { env: { ...s.env, FAKE_SSH: "busy" } });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /editor\s+none \(--editor none\): connect with ssh nexus-my-app/);
  t.notMatch(r.stdout, /link\s+/);
  t.match(r.stderr, /local port 23000 is already in use/);
  t.same(s.argvs("code"), []);
});

t.test("a ~/.ssh/config nexus may not change: the check and the ssh command use the nexus config", async (t) => {
  const s = await sandbox(t);
  const managed = join(s.root, "managed-ssh-config");
  writeFileSync(managed, "Host *\n  ServerAliveInterval 30\n");
  symlinkSync(managed, join(s.home, ".ssh", "config"));
  const r = await runCli(["workspace", "connect", "my-app", "--editor", "none", "--json"], { env: s.env });
  t.equal(r.code, 0, r.stderr);
  const nexusConfig = join(s.nexusHome, "ssh", "config");
  t.equal(s.argvs("ssh")[0]![1], nexusConfig);
  const doc = JSON.parse(r.stdout);
  t.equal(doc.ssh.include.status, "manual");
  t.same(doc.ssh.command, ["ssh", "-F", nexusConfig, "nexus-my-app"]);
  t.match(r.stderr, `Include ${nexusConfig}`, "the line to add is printed");
  t.equal(readFileSync(managed, "utf8"), "Host *\n  ServerAliveInterval 30\n", "the managed file is untouched");
});

t.test("SSH check failures: the reason, troubleshooting steps and a catalog exit code; no editor", async (t) => {
  const s = await sandbox(t);
  const hostKey = await runCli(["workspace", "connect", "my-app", "--editor", "code"], { env: { ...s.env, FAKE_SSH: "hostkey" } });
  t.equal(hostKey.code, 3, "forbidden");
  t.match(hostKey.stderr, /\[forbidden\] SSH check of nexus-my-app failed: the SSH server at 127\.0\.0\.1:2222 presented a host key different/);
  t.match(hostKey.stderr, /ssh said: Host key verification failed\./);
  t.match(hostKey.stderr, /next: The workspace may have been re-created/);
  t.match(hostKey.stderr, /nexus workspace status my-app/);
  t.match(hostKey.stderr, /nexus doctor/);
  t.match(hostKey.stderr, `the key offered: ${s.userKey}`);
  t.match(hostKey.stderr, /ssh -v nexus-my-app/);
  t.same(s.argvs("code"), [], "the editor is not opened on a connection that does not work");

  const json = await runCli(["workspace", "connect", "my-app", "--json"], { env: { ...s.env, FAKE_SSH: "auth" } });
  t.equal(json.code, 3);
  const doc = JSON.parse(json.stdout);
  t.equal(doc.error, "auth_required");
  t.match(doc.details, { workspace: "my-app", reason: "auth_failed", endpoint: "127.0.0.1:2222", exit_code: 255, stderr: "dev@127.0.0.1: Permission denied (publickey)." });
  t.equal(doc.details.troubleshooting.length, 5);
  t.match(doc.hint, /nexus ssh setup --key/);

  const refused = await runCli(["workspace", "connect", "my-app"], { env: { ...s.env, FAKE_SSH: "refused" } });
  t.equal(refused.code, 8);
  t.match(refused.stderr, /nothing accepts SSH connections at 127\.0\.0\.1:2222/);
});

t.test("ssh's messages map to reasons", async (t) => {
  const cases: Array<[string, number | null, boolean, string]> = [
    ["Host key verification failed.", 255, false, "host_key_mismatch"],
    ["@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@", 255, false, "host_key_mismatch"],
    ["dev@10.0.0.5: Permission denied (publickey).", 255, false, "auth_failed"],
    ["ssh: connect to host 10.0.0.5 port 2222: Connection refused", 255, false, "connection_refused"],
    ["ssh: connect to host 10.0.0.5 port 2222: Connection timed out", 255, false, "timeout"],
    ["", null, true, "timeout"],
    ["ssh: connect to host 10.0.0.5 port 2222: No route to host", 255, false, "unreachable"],
    ["kex_exchange_identification: Connection closed by remote host", 255, false, "connection_closed"],
    ["Bad owner or permissions on /home/me/.ssh/config", 255, false, "bad_config"],
    ["", 0, false, "unexpected_output"],
    ["something new", 1, false, "unknown"],
  ];
  for (const [stderr, status, timedOut, reason] of cases) t.equal(sshFailureReason({ stderr, status, timedOut }), reason, stderr || `status ${status}`);
});

t.test("connect to a workspace that is not running says what to run; unknown workspace is 4", async (t) => {
  const s = await sandbox(t);
  s.server.seed("paused", "stopped");
  const stopped = await runCli(["workspace", "connect", "paused"], { env: s.env });
  t.equal(stopped.code, 5);
  t.match(stopped.stderr, /workspace paused is stopped, not running/);
  t.match(stopped.stderr, /nexus workspace start paused/);
  t.same(s.argvs("ssh"), [], "no check is attempted");

  s.server.seed("broken", "error", { error: { code: "service_failed", message: "web exited with 1", phase: "services_healthy" } });
  const broken = await runCli(["workspace", "connect", "broken"], { env: s.env });
  t.equal(broken.code, 5);
  t.match(broken.stderr, /workspace broken is error, not running \(service_failed: web exited with 1\)/);
  t.match(broken.stderr, /nexus workspace logs broken/);

  const missing = await runCli(["workspace", "connect", "nope"], { env: s.env });
  t.equal(missing.code, 4);
  const invalid = await runCli(["workspace", "connect", "../etc"], { env: s.env });
  t.equal(invalid.code, 2);
});
