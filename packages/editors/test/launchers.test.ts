import t from "tap";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isNexusError, silentLogger, type EditorDescriptor, type EditorTarget } from "@nexus/core";
import { builtinEditors, createSshConfig, formatCommand, isInteractiveLauncher, parseVersion, probeVersion, shellQuote, type EditorLauncher } from "@nexus/editors";
import { FAKE_VERSIONS, fakeBin, tempDir, testOp } from "./fake-editors.js";

const TARGET: EditorTarget = Object.freeze({ host: "nexus-api", workspaceName: "api", remotePath: "/home/dev/my-app" });
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

const byName = (name: string): EditorDescriptor => {
  const found = builtinEditors.find((d) => d.name === name);
  if (!found) throw new Error(`no built-in editor ${name}`);
  return found;
};

async function launcher(name: string, env: Record<string, string | undefined>): Promise<EditorLauncher> {
  return (await byName(name).create({ env, log: silentLogger, dataDir: "" }, undefined)) as EditorLauncher;
}

const EXPECTED: Record<string, { argv: string[]; deepLink: string | undefined; interactive: boolean }> = {
  cursor: {
    argv: ["cursor", "--folder-uri", "vscode-remote://ssh-remote+nexus-api/home/dev/my-app"],
    deepLink: "cursor://vscode-remote/ssh-remote+nexus-api/home/dev/my-app",
    interactive: false,
  },
  code: {
    argv: ["code", "--folder-uri", "vscode-remote://ssh-remote+nexus-api/home/dev/my-app"],
    deepLink: "vscode://vscode-remote/ssh-remote+nexus-api/home/dev/my-app",
    interactive: false,
  },
  "code-insiders": {
    argv: ["code-insiders", "--folder-uri", "vscode-remote://ssh-remote+nexus-api/home/dev/my-app"],
    deepLink: "vscode-insiders://vscode-remote/ssh-remote+nexus-api/home/dev/my-app",
    interactive: false,
  },
  windsurf: {
    argv: ["windsurf", "--folder-uri", "vscode-remote://ssh-remote+nexus-api/home/dev/my-app"],
    deepLink: "windsurf://vscode-remote/ssh-remote+nexus-api/home/dev/my-app",
    interactive: false,
  },
  zed: { argv: ["zed", "ssh://nexus-api/home/dev/my-app"], deepLink: "zed://ssh/nexus-api/home/dev/my-app", interactive: false },
  nvim: { argv: ["ssh", "-t", "nexus-api", "--", "cd /home/dev/my-app && exec nvim ."], deepLink: undefined, interactive: true },
  vim: { argv: ["ssh", "-t", "nexus-api", "--", "cd /home/dev/my-app && exec vim ."], deepLink: undefined, interactive: true },
  gateway: {
    argv: ["gateway", "jetbrains-gateway://connect#type=ssh&deploy=false&host=nexus-api&user=dev&projectPath=%2Fhome%2Fdev%2Fmy-app"],
    deepLink: "jetbrains-gateway://connect#type=ssh&deploy=false&host=nexus-api&user=dev&projectPath=%2Fhome%2Fdev%2Fmy-app",
    interactive: false,
  },
};

t.test("every built-in editor has an expectation here", async (t) => {
  t.same(builtinEditors.map((d) => d.name).sort(), Object.keys(EXPECTED).sort());
});

for (const [name, expected] of Object.entries(EXPECTED)) {
  t.test(`${name}: command, deep link, interactive`, async (t) => {
    const editor = await launcher(name, { PATH: "", HOME: tempDir(t) });
    t.same(editor.command(TARGET), expected.argv);
    t.equal(editor.deepLink(TARGET), expected.deepLink);
    t.equal(editor.interactive, expected.interactive);
    t.equal(isInteractiveLauncher(editor), expected.interactive);
  });
}

t.test("gateway: the deep link carries the port of the workspace's SSH entry", async (t) => {
  const home = tempDir(t);
  const nexusHome = join(home, ".nexus");
  await createSshConfig({ nexusHome, connectionSharing: false }).writeWorkspaceEntry({ workspace: "api", hostName: "10.0.0.5", port: 2222, hostKey: HOST_KEY });
  const editor = await launcher("gateway", { PATH: "", HOME: home, NEXUS_HOME: nexusHome });
  const link = editor.deepLink(TARGET)!;
  const params = new URLSearchParams(new URL(link).hash.slice(1));
  t.same(Object.fromEntries(params), { type: "ssh", deploy: "false", host: "nexus-api", port: "2222", user: "dev", projectPath: "/home/dev/my-app" });
  t.same(editor.command(TARGET), ["gateway", link]);
});

t.test("detection: found on the given PATH with its version; not found elsewhere", async (t) => {
  const root = tempDir(t);
  const names = ["code", "code-insiders", "cursor", "windsurf", "zed", "nvim", "vim", "gateway"];
  const fake = fakeBin(root, names);
  for (const name of names) {
    const editor = await launcher(name, fake.env);
    const detection = await editor.detect(testOp());
    t.equal(detection.found, true, `${name} found`);
    t.equal(detection.path, join(fake.bin, name), `${name} path`);
    // Gateway is never asked for a version: its launcher may open a window.
    t.equal(detection.version, FAKE_VERSIONS[name]?.version, `${name} version`);
  }
  // process.env.PATH is not consulted: with an empty PATH nothing is found, even vim in /usr/bin.
  for (const name of names) t.same(await (await launcher(name, { PATH: "" })).detect(testOp()), { found: false }, `${name} not found`);
});

t.test("detection: alternative binary names (jetbrains-gateway, zeditor)", async (t) => {
  const fake = fakeBin(tempDir(t), ["jetbrains-gateway", "zeditor"]);
  t.equal((await (await launcher("gateway", fake.env)).detect(testOp())).path, join(fake.bin, "jetbrains-gateway"));
  t.equal((await (await launcher("zed", fake.env)).detect(testOp())).path, join(fake.bin, "zeditor"));
});

t.test("detection: relative PATH entries and non-executable files are ignored", async (t) => {
  const root = tempDir(t);
  const fake = fakeBin(root, ["code"]);
  const plain = join(root, "plain");
  mkdirSync(plain);
  writeFileSync(join(plain, "cursor"), "#!/bin/sh\n");
  chmodSync(join(plain, "cursor"), 0o644);
  t.same(await (await launcher("code", { PATH: "bin", HOME: root })).detect(testOp()), { found: false }, "relative entry skipped");
  t.same(await (await launcher("cursor", { PATH: `${plain}:${fake.bin}` })).detect(testOp()), { found: false }, "not executable");
});

t.test("version probe: a program that hangs is killed and has no version", async (t) => {
  const root = tempDir(t);
  const hang = join(root, "hang");
  writeFileSync(hang, "#!/bin/sh\nexec /bin/sleep 30\n");
  chmodSync(hang, 0o755);
  t.equal(await probeVersion(hang, ["--version"], testOp(), { PATH: "" }, 200), undefined);
});

t.test("parseVersion reads the first line's version", async (t) => {
  t.equal(parseVersion("NVIM v0.10.2\nBuild type: Release"), "0.10.2");
  t.equal(parseVersion("\n1.95.3\nabc"), "1.95.3");
  t.equal(parseVersion("Zed 0.160.1 abc"), "0.160.1");
  t.equal(parseVersion("no digits here"), "no digits here");
  t.equal(parseVersion("   "), undefined);
});

for (const name of ["cursor", "code", "code-insiders", "windsurf", "zed", "gateway"]) {
  t.test(`${name}: launch starts the editor detached with the expected argv`, async (t) => {
    const fake = fakeBin(tempDir(t), [name]);
    const editor = await launcher(name, fake.env);
    const result = await editor.launch(TARGET, testOp());
    const expected = EXPECTED[name]!.argv;
    t.same(result.command, [join(fake.bin, name), ...expected.slice(1)]);
    t.same(await fake.argv(name), expected.slice(1));
    t.equal(result.exitCode, undefined, "not waited for");
  });
}

t.test("launch does not wait for a GUI editor: it returns while the editor keeps running", async (t) => {
  const root = tempDir(t);
  const fake = fakeBin(root, ["code"]);
  const pidFile = join(root, "code.pid");
  const release = join(root, "release");
  // An editor that stays up until the test lets it go (bounded: 20 s).
  writeFileSync(
    join(fake.bin, "code"),
    `#!/bin/sh\nif [ "$1" = "--version" ]; then printf '1.95.3\\n'; exit 0; fi\necho $$ > "${pidFile}"\ni=0\nwhile [ ! -e "${release}" ] && [ $i -lt 200 ]; do /bin/sleep 0.1; i=$((i+1)); done\n`,
  );
  const editor = await launcher("code", fake.env);
  const result = await editor.launch(TARGET, testOp());
  t.equal(result.exitCode, undefined, "launch resolved without an exit code");
  let pid: number | undefined;
  for (let i = 0; i < 500 && pid === undefined; i++) {
    try {
      pid = Number.parseInt(readFileSync(pidFile, "utf8"), 10) || undefined;
      if (pid === undefined) await new Promise((r) => setTimeout(r, 10));
    } catch {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  t.ok(pid, "the editor started");
  t.teardown(() => writeFileSync(release, ""));
  t.doesNotThrow(() => process.kill(pid!, 0), "the editor is still running after launch returned");
  writeFileSync(release, "");
});

for (const name of ["nvim", "vim"]) {
  t.test(`${name}: launch runs ssh -t in the foreground and reports its exit code`, async (t) => {
    const fake = fakeBin(tempDir(t), ["ssh"], { exitCode: 3 });
    const editor = await launcher(name, fake.env);
    const result = await editor.launch(TARGET, testOp());
    t.same(result.command, [join(fake.bin, "ssh"), ...EXPECTED[name]!.argv.slice(1)]);
    t.same(await fake.argv("ssh"), EXPECTED[name]!.argv.slice(1));
    t.equal(result.exitCode, 3);
  });
}

t.test("launch: a missing program is a not_found NexusError with a hint", async (t) => {
  for (const name of ["code", "nvim"]) {
    const editor = await launcher(name, { PATH: tempDir(t) });
    await t.rejects(editor.launch(TARGET, testOp()), { code: "not_found", message: name === "nvim" ? /ssh is not on PATH/ : /code is not on PATH/ });
  }
});

const BAD_TARGETS: Array<[string, EditorTarget]> = [
  ["an option-like host", { ...TARGET, host: "-oProxyCommand=sh" }],
  ["a host without the nexus- prefix", { ...TARGET, host: "api" }],
  ["a host of another workspace", { ...TARGET, host: "nexus-web" }],
  ["an upper-case workspace", { host: "nexus-API", workspaceName: "API", remotePath: "/home/dev/x" }],
  ["a relative path", { ...TARGET, remotePath: "home/dev/x" }],
  ["a path with ..", { ...TARGET, remotePath: "/home/dev/../../etc" }],
  ["a path with a space", { ...TARGET, remotePath: "/home/dev/my app" }],
  ["a path with a quote", { ...TARGET, remotePath: "/home/dev/x';reboot;'" }],
  ["a path with a newline", { ...TARGET, remotePath: "/home/dev/x\nHost *" }],
];

for (const [what, target] of BAD_TARGETS) {
  t.test(`every editor refuses ${what}`, async (t) => {
    for (const descriptor of builtinEditors) {
      const editor = await launcher(descriptor.name, { PATH: "" });
      t.throws(() => editor.command(target), { code: "invalid_request" }, `${descriptor.name} command`);
      try {
        editor.deepLink(target);
        t.fail(`${descriptor.name} deepLink accepted ${what}`);
      } catch (error) {
        t.ok(isNexusError(error), `${descriptor.name} deepLink throws a NexusError`);
      }
      await t.rejects(editor.launch(target, testOp()), { code: "invalid_request" }, `${descriptor.name} launch`);
    }
  });
}

t.test("shellQuote / formatCommand: plain words stay, everything else is single-quoted", async (t) => {
  t.equal(formatCommand(["code", "--folder-uri", "vscode-remote://ssh-remote+nexus-api/home/dev/x"]), "code --folder-uri vscode-remote://ssh-remote+nexus-api/home/dev/x");
  t.equal(shellQuote("a&b#c"), "'a&b#c'");
  t.equal(shellQuote("it's"), `'it'\\''s'`);
  t.equal(shellQuote(""), "''");
  t.equal(shellQuote("=ls"), "'=ls'");
  t.equal(shellQuote("$(reboot)"), "'$(reboot)'");
});
