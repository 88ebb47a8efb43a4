import t from "tap";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { WorkspaceDetail } from "@nexus/core";
import { runCli } from "./helpers.js";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const NOW = "2026-01-01T00:00:00.000Z";

function workspace(overrides: Partial<WorkspaceDetail> = {}): WorkspaceDetail {
  return {
    workspace_id: "ws_abc123",
    workspace_name: "my-app",
    status: "running",
    health: "healthy",
    provider: "docker",
    node: "node-1",
    created_at: NOW,
    updated_at: NOW,
    phases: [],
    ssh: { host: "10.0.0.5", port: 2222, user: "dev", host_key: `${HOST_KEY} root@my-app`, path: "/home/dev/my-app" },
    services: {
      web: { name: "web", status: "running", health: "healthy", port: 3000, local_port: 13000, url: "http://localhost:13000", last_check: NOW, last_error: null },
      worker: { name: "worker", status: "running", health: "unknown", port: null, local_port: null, url: null, last_check: null, last_error: null },
    },
    repository: { owner: "me", name: "my-app", branch: "main", commit: null, url: "https://github.com/me/my-app" },
    ...overrides,
  };
}

interface FakeApi {
  url: string;
  requests: Array<{ path: string; headers: IncomingHttpHeaders }>;
}

/** GET /api/v1/workspaces/<name> for the given workspaces; 404 in the API's error shape otherwise. */
async function fakeApi(t: { teardown(fn: () => unknown): void }, workspaces: WorkspaceDetail[]): Promise<FakeApi> {
  const requests: FakeApi["requests"] = [];
  const server = createServer((req, res) => {
    requests.push({ path: req.url ?? "", headers: req.headers });
    const name = /^\/api\/v1\/workspaces\/([^/]+)$/.exec(req.url ?? "")?.[1];
    const found = workspaces.find((w) => w.workspace_name === name || w.workspace_id === name);
    res.setHeader("content-type", "application/json");
    if (req.method === "GET" && found) {
      res.end(JSON.stringify(found));
      return;
    }
    res.statusCode = 404;
    res.end(JSON.stringify({ error: "workspace_not_found", message: `workspace ${name} not found`, details: {}, request_id: "req_test1" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const VERSIONS: Record<string, string> = { code: "1.95.3", zed: "Zed 0.160.1", nvim: "NVIM v0.9.5", vim: "VIM - Vi IMproved 9.0" };

/** A temp HOME, NEXUS_HOME and a PATH holding only fake editors that record their argv. */
function sandbox(t: { teardown(fn: () => unknown): void }, editors: string[], exitCodes: Record<string, number> = {}) {
  const root = mkdtempSync(join(tmpdir(), "nexus-cli-editor-"));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const bin = join(root, "bin");
  const home = join(root, "home");
  mkdirSync(bin);
  mkdirSync(home);
  for (const name of editors) {
    const script = [
      "#!/bin/sh",
      `if [ "$1" = "--version" ]; then echo '${VERSIONS[name] ?? "1.0.0"}'; exit 0; fi`,
      `{ for arg in "$@"; do printf '%s\\n' "$arg"; done; printf 'END\\n'; } > "${root}/${name}.argv"`,
      `exit ${exitCodes[name] ?? 0}`,
    ].join("\n");
    writeFileSync(join(bin, name), `${script}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  const nexusHome = join(root, "nexus");
  return {
    root,
    home,
    nexusHome,
    env: { HOME: home, NEXUS_HOME: nexusHome, PATH: bin, NEXUS_TOKEN: "nxs_test_token" } as Record<string, string | undefined>,
    async argv(name: string): Promise<string[]> {
      const file = join(root, `${name}.argv`);
      for (let i = 0; i < 500; i++) {
        const lines = existsSync(file) ? readFileSync(file, "utf8").split("\n") : [];
        if (lines.includes("END")) return lines.slice(0, lines.indexOf("END"));
        await sleep(10);
      }
      throw new Error(`${name} was not started`);
    },
  };
}

t.test("editor detect: table and --json with found, path, version, deep link and the default", async (t) => {
  const s = sandbox(t, ["code", "nvim"]);
  const human = await runCli(["editor", "detect"], { env: s.env });
  t.equal(human.code, 0, human.stderr);
  t.match(human.stdout, /EDITOR\s+FOUND\s+PATH\s+VERSION\s+DEEP LINK/);
  t.match(human.stdout, new RegExp(`code\\s+yes\\s+${s.root}/bin/code\\s+1\\.95\\.3\\s+yes`));
  t.match(human.stdout, /cursor\s+no\s+-\s+-\s+yes/);
  t.match(human.stdout, /nexus opens Visual Studio Code \(first installed/);

  const json = await runCli(["editor", "detect", "--json"], { env: s.env });
  t.equal(json.code, 0);
  const result = JSON.parse(json.stdout);
  t.same(result.default, { name: "code", source: "auto" });
  const byName = Object.fromEntries(result.editors.map((e: { name: string }) => [e.name, e]));
  t.same(byName.code, { name: "code", display_name: "Visual Studio Code", found: true, path: join(s.root, "bin", "code"), version: "1.95.3", deep_link: true, terminal: false });
  t.same(byName.nvim, { name: "nvim", display_name: "Neovim", found: true, path: join(s.root, "bin", "nvim"), version: "0.9.5", deep_link: false, terminal: true });
  t.equal(byName.zed.found, false);
  t.equal(result.editors.length, 8);
});

t.test("editor detect: NEXUS_EDITOR and the saved choice decide the default", async (t) => {
  const s = sandbox(t, ["code", "zed", "nvim"]);
  const env = await runCli(["editor", "detect", "--json"], { env: { ...s.env, NEXUS_EDITOR: "nvim" } });
  t.same(JSON.parse(env.stdout).default, { name: "nvim", source: "env" });
  mkdirSync(s.nexusHome, { recursive: true });
  writeFileSync(join(s.nexusHome, "config.yaml"), "editor: zed\n");
  const saved = await runCli(["editor", "detect", "--json"], { env: s.env });
  t.same(JSON.parse(saved.stdout).default, { name: "zed", source: "saved" });
  const bad = await runCli(["editor", "detect", "--json"], { env: { ...s.env, NEXUS_EDITOR: "emacs" } });
  t.equal(bad.code, 0, "an unusable NEXUS_EDITOR still lists the editors");
  t.equal(JSON.parse(bad.stdout).default, null);
  t.match(bad.stderr, /unknown editor "emacs"/);
});

t.test("editor launch --print: SSH entry, known_hosts and Include written; command and deep link printed; nothing started", async (t) => {
  const s = sandbox(t, ["code"]);
  mkdirSync(join(s.home, ".ssh"), { mode: 0o700 });
  writeFileSync(join(s.home, ".ssh", "id_ed25519"), "private\n", { mode: 0o600 });
  const api = await fakeApi(t, [workspace()]);
  const r = await runCli(["editor", "launch", "my-app", "--print", "--json"], { env: { ...s.env, NEXUS_SERVER: api.url } });
  t.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  t.same(result.command, ["code", "--folder-uri", "vscode-remote://ssh-remote+nexus-my-app/home/dev/my-app"]);
  t.equal(result.deep_link, "vscode://vscode-remote/ssh-remote+nexus-my-app/home/dev/my-app");
  t.same(result.ssh_command, ["ssh", "nexus-my-app"]);
  t.equal(result.editor, "code");
  t.equal(result.launched, false);
  t.equal(result.include.status, "added");
  t.equal(api.requests[0]?.path, "/api/v1/workspaces/my-app");
  t.equal(api.requests[0]?.headers.authorization, "Bearer nxs_test_token");

  const config = readFileSync(join(s.nexusHome, "ssh", "config"), "utf8");
  t.match(config, /Host nexus-my-app\n  HostName 10\.0\.0\.5\n  Port 2222\n  User dev\n/);
  t.match(config, `IdentityFile ${join(s.home, ".ssh", "id_ed25519")}\n`);
  t.match(config, /# service web\n  LocalForward 13000 127\.0\.0\.1:3000\n/);
  t.notMatch(config, /worker/, "a service without ports is not forwarded");
  t.equal(readFileSync(join(s.nexusHome, "ssh", "known_hosts"), "utf8"), `[10.0.0.5]:2222 ${HOST_KEY}\n`);
  t.equal(readFileSync(join(s.home, ".ssh", "config"), "utf8"), `Include ${s.nexusHome}/ssh/config\n`);
  t.notOk(existsSync(join(s.root, "code.argv")), "the editor was not started");

  const human = await runCli(["editor", "launch", "my-app", "--print"], { env: { ...s.env, NEXUS_SERVER: api.url } });
  t.equal(human.stdout, "code --folder-uri vscode-remote://ssh-remote+nexus-my-app/home/dev/my-app\nvscode://vscode-remote/ssh-remote+nexus-my-app/home/dev/my-app\n");
});

t.test("editor launch --editor zed: starts Zed with the ssh:// URL and remembers the choice", async (t) => {
  const s = sandbox(t, ["code", "zed"]);
  const api = await fakeApi(t, [workspace()]);
  const r = await runCli(["editor", "launch", "my-app", "--editor", "zed"], { env: { ...s.env, NEXUS_SERVER: api.url } });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /Opening Zed on nexus-my-app:\/home\/dev\/my-app/);
  t.match(r.stdout, /zed:\/\/ssh\/nexus-my-app\/home\/dev\/my-app/);
  t.match(r.stderr, /no SSH key in ~\/\.ssh/, "warns that no key was found");
  t.same(await s.argv("zed"), ["ssh://nexus-my-app/home/dev/my-app"]);
  t.match(readFileSync(join(s.nexusHome, "config.yaml"), "utf8"), /editor: zed/);

  // Next time, without --editor, the saved choice wins over code.
  const again = await runCli(["editor", "launch", "my-app", "--print", "--json"], { env: { ...s.env, NEXUS_SERVER: api.url } });
  t.equal(JSON.parse(again.stdout).source, "saved");
  t.equal(JSON.parse(again.stdout).editor, "zed");
});

t.test("editor launch with no editor (or --editor none) prints the ssh command", async (t) => {
  const s = sandbox(t, []);
  const api = await fakeApi(t, [workspace()]);
  const none = await runCli(["editor", "launch", "my-app"], { env: { ...s.env, NEXUS_SERVER: api.url } });
  t.equal(none.code, 0, none.stderr);
  t.match(none.stdout, /No editor to open \(none of cursor, code, windsurf, zed, nvim, vim is installed\)/);
  t.match(none.stdout, /\n  ssh nexus-my-app\n/);
  const flagged = await runCli(["editor", "launch", "my-app", "--editor", "none", "--json"], { env: { ...s.env, NEXUS_SERVER: api.url } });
  const result = JSON.parse(flagged.stdout);
  t.equal(result.editor, null);
  t.equal(result.source, "flag");
  t.same(result.ssh_command, ["ssh", "nexus-my-app"]);
});

t.test("editor launch refusals: bad name, unknown workspace, not running, unknown editor, terminal editor with --json", async (t) => {
  const s = sandbox(t, ["vim"]);
  const api = await fakeApi(t, [workspace(), workspace({ workspace_id: "ws_stopped1", workspace_name: "old", status: "stopped" })]);
  const env = { ...s.env, NEXUS_SERVER: api.url };

  const bad = await runCli(["editor", "launch", "Bad_Name", "--json"], { env });
  t.equal(bad.code, 2);
  t.equal(JSON.parse(bad.stdout).error, "invalid_request");
  t.equal(api.requests.length, 0, "the server is not asked about an invalid name");

  const missing = await runCli(["editor", "launch", "nope", "--json"], { env });
  t.equal(missing.code, 4);
  t.equal(JSON.parse(missing.stdout).error, "workspace_not_found");

  const stopped = await runCli(["editor", "launch", "old", "--json"], { env });
  t.equal(stopped.code, 5);
  t.match(JSON.parse(stopped.stdout).hint, /nexus workspace start old/);
  t.notOk(existsSync(join(s.nexusHome, "ssh", "config")), "no entry for a stopped workspace");

  const unknown = await runCli(["editor", "launch", "my-app", "--editor", "emacs", "--json"], { env });
  t.equal(unknown.code, 2);
  t.match(JSON.parse(unknown.stdout).message, /unknown editor "emacs"/);

  const terminal = await runCli(["editor", "launch", "my-app", "--editor", "vim", "--json"], { env });
  t.equal(terminal.code, 2);
  t.match(JSON.parse(terminal.stdout).hint, /--print/);
  t.notOk(existsSync(join(s.root, "vim.argv")));
});

t.test("editor launch: a read-only ~/.ssh/config is left alone and the Include line is shown", async (t) => {
  const s = sandbox(t, ["code"]);
  mkdirSync(join(s.home, ".ssh"), { mode: 0o700 });
  writeFileSync(join(s.home, ".ssh", "config"), "Host a\n", { mode: 0o444 });
  const api = await fakeApi(t, [workspace()]);
  const r = await runCli(["editor", "launch", "my-app", "--print"], { env: { ...s.env, NEXUS_SERVER: api.url } });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, new RegExp(`Add this line at the top of ${s.home}/.ssh/config:\\n  Include ${s.nexusHome}/ssh/config`));
  t.equal(readFileSync(join(s.home, ".ssh", "config"), "utf8"), "Host a\n");
});

t.test("editor launch --editor nvim: ssh -t runs in the foreground; its exit status becomes nexus's", async (t) => {
  const s = sandbox(t, ["nvim", "ssh"], { ssh: 255 });
  const api = await fakeApi(t, [workspace()]);
  const r = await runCli(["editor", "launch", "my-app", "--editor", "nvim"], { env: { ...s.env, NEXUS_SERVER: api.url } });
  t.equal(r.code, 255, "ssh's status");
  t.same(await s.argv("ssh"), ["-t", "nexus-my-app", "--", "cd /home/dev/my-app && exec nvim ."]);
  t.match(r.stdout, /Opening Neovim on nexus-my-app:\/home\/dev\/my-app/);
});
