// `nexus workspace connect` and `nexus workspace forward` end to end: the server and the
// real nexus-agent on Docker (helpers/stack.ts), a workspace with a web service, and the
// CLI run in-process from a fresh HOME with a recording `code` on PATH. Then the real
// OpenSSH client through the written config (no host-key prompt), curl through its
// LocalForward, and `forward` (ssh2) reaching the same service.
import t from "tap";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parse } from "yaml";
import { Capture } from "@nexus/test-utils";
import { makeContext } from "../../packages/cli/src/io.js";
import { forwardWorkspace } from "../../packages/cli/src/commands/forward.js";
import { runCli } from "../../packages/cli/test/helpers.js";
import { makeRepo } from "../../packages/core/test/agent/helpers/repo.js";
import { startStack, until, waitForStatus } from "./helpers/stack.js";

const CONFIG = `name: site
services:
  web:
    command: exec node web.js
    port: 3000
    health_check: { type: http, path: /, interval: 1s }
`;
const WEB = `require("http").createServer((q, r) => r.end("web in the workspace " + q.url)).listen(3000);\n`;

/** One GET on its own connection; undefined while nothing answers. */
function httpGet(port: number, path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    get({ host: "127.0.0.1", port, path, agent: false, timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve(body));
      res.on("error", () => resolve(undefined));
    })
      .on("error", () => resolve(undefined))
      .on("timeout", function (this: { destroy(): void }) {
        this.destroy();
      });
  });
}

t.test("workspace connect and forward against a real workspace on Docker", async (t) => {
  const stack = await startStack(t, "docker", [24300, 24309]);
  const alice = await stack.user("alice");
  const repo = await makeRepo(stack.root, "octo", "site", { "README.md": "# site\n", ".nexus/config.yaml": CONFIG, "web.js": WEB });
  const accepted = await alice.client.createWorkspace({ provider: "docker", workspace_name: "site", repo: { owner: "octo", name: "site", url: repo.dir }, config: parse(CONFIG) });
  const detail = await waitForStatus(alice, accepted.workspace_id, ["running"]);
  const localPort = detail.services.web?.local_port;
  t.type(localPort, "number", "the web service has a local port");
  if (typeof localPort !== "number") return;

  // A fresh HOME: alice's key as ~/.ssh/id_ed25519, nothing else; a `code` that records its argv.
  const home = join(stack.root, "alice-home");
  const bin = join(stack.root, "alice-bin");
  mkdirSync(join(home, ".ssh"), { recursive: true, mode: 0o700 });
  mkdirSync(bin, { recursive: true });
  copyFileSync(alice.keyFile, join(home, ".ssh", "id_ed25519"));
  chmodSync(join(home, ".ssh", "id_ed25519"), 0o600);
  const codeArgv = join(stack.root, "code.argv");
  writeFileSync(join(bin, "code"), `#!/bin/sh\nif [ "$1" = "--version" ]; then echo 1.95.3; exit 0; fi\nprintf '%s\\n' "$@" > "${codeArgv}.tmp" && mv "${codeArgv}.tmp" "${codeArgv}"\n`);
  chmodSync(join(bin, "code"), 0o755);
  const nexusHome = join(home, ".nexus");
  const userSshConfig = join(home, ".ssh", "config");
  const env = { HOME: home, NEXUS_HOME: nexusHome, NEXUS_SERVER: stack.server.url, NEXUS_TOKEN: stack.github.issueToken("alice"), PATH: `${bin}:${process.env.PATH}` };
  t.teardown(() => {
    // The check's shared connection (ControlPersist) outlives the command.
    spawnSync("ssh", ["-F", join(nexusHome, "ssh", "config"), "-O", "exit", "nexus-site"], { stdio: "ignore", timeout: 5000 });
  });

  await t.test("connect --editor code: SSH checked, VS Code started on the remote folder", async (t) => {
    const r = await runCli(["workspace", "connect", "site", "--editor", "code"], { env });
    t.equal(r.code, 0, r.stderr);
    // GUI editors are started detached, not waited for.
    const argv = await until(async () => existsSync(codeArgv) && readFileSync(codeArgv, "utf8"), "code to start", 10_000);
    t.equal(argv, "--folder-uri\nvscode-remote://ssh-remote+nexus-site/home/dev/site\n");
    t.match(r.stdout, /connected to site/);
    t.match(r.stdout, new RegExp(`web\\s+http://localhost:${localPort}\\s+healthy`));
    t.match(r.stdout, /ssh\s+ssh nexus-site/);
    t.match(readFileSync(userSshConfig, "utf8").split("\n")[0], `Include ${join(nexusHome, "ssh", "config")}`);
  });

  await t.test("the real ssh through the written config: no host-key prompt, StrictHostKeyChecking yes", async (t) => {
    // OpenSSH reads ~/.ssh/config from the password database's home, not $HOME: name the file.
    // -S none: a new connection, so the pinned host key is checked again (not the shared one).
    const r = spawnSync("ssh", ["-F", userSshConfig, "-S", "none", "-o", "BatchMode=yes", "-o", "ClearAllForwardings=yes", "nexus-site", "echo", "OK"], { encoding: "utf8", timeout: 30_000 });
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout.trim(), "OK");
    const effective = spawnSync("ssh", ["-F", userSshConfig, "-G", "nexus-site"], { encoding: "utf8" }).stdout;
    t.match(effective, /^stricthostkeychecking true$/m);
    t.match(effective, new RegExp(`^localforward ${localPort} \\[127\\.0\\.0\\.1\\]:3000$`, "m"));
  });

  await t.test("curl through the LocalForward of `ssh -N nexus-site` reaches the service", async (t) => {
    // The check's shared connection holds the local port: close it, then forward with plain ssh.
    spawnSync("ssh", ["-F", userSshConfig, "-O", "exit", "nexus-site"], { stdio: "ignore", timeout: 5000 });
    await until(async () => (await httpGet(localPort, "/")) === undefined, "the shared connection to let the port go", 10_000);
    const tunnel = spawn("ssh", ["-F", userSshConfig, "-S", "none", "-N", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes", "nexus-site"], { stdio: ["ignore", "ignore", "pipe"] });
    let tunnelErr = "";
    tunnel.stderr.setEncoding("utf8").on("data", (chunk: string) => (tunnelErr += chunk));
    const closed = new Promise((resolve) => tunnel.once("exit", resolve));
    try {
      const body = await until(async () => (tunnel.exitCode !== null ? Promise.reject(new Error(tunnelErr)) : httpGet(localPort, "/through-openssh")), "the LocalForward", 30_000);
      t.equal(body, "web in the workspace /through-openssh");
      const curl = spawnSync("curl", ["-s", `http://127.0.0.1:${localPort}/curl`], { encoding: "utf8", timeout: 15_000 });
      t.equal(curl.stdout, "web in the workspace /curl", curl.stderr);
    } finally {
      tunnel.kill("SIGTERM");
      await closed;
    }
  });

  await t.test("forward (ssh2, one connection) reaches the service, then frees the port", async (t) => {
    const stdout = new Capture();
    const ctx = makeContext({ cwd: home, env, stdout, stderr: new Capture() }, { json: false, quiet: false, verbose: false, color: false, server: stack.server.url });
    const stop = new AbortController();
    const running = forwardWorkspace(ctx, "site", { signal: stop.signal });
    let failure: unknown;
    running.catch((error: unknown) => (failure = error));
    let body: string | undefined;
    for (let i = 0; i < 300 && body === undefined && failure === undefined; i++) {
      if (stdout.text.includes("Ctrl-C")) body = await httpGet(localPort, "/through-forward");
      else await sleep(50);
    }
    t.equal(failure, undefined);
    t.equal(body, "web in the workspace /through-forward");
    stop.abort();
    const result = await running;
    t.match(result.forwards.find((f) => f.service === "web"), { local_port: localPort, remote_port: 3000, total: 1, errors: 0 });
    t.equal(await httpGet(localPort, "/"), undefined, "nothing listens on the local port afterwards");
  });

  await alice.client.delete(accepted.workspace_id, { force: true });
  t.ok(existsSync(join(nexusHome, "ssh", "known_hosts")));
});
