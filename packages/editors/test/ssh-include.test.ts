import t from "tap";
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureSshInclude, includesFile, sshIncludeLine } from "@nexus/editors";
import { tempDir } from "./fake-editors.js";

function setup(t: Parameters<typeof tempDir>[0], files: Record<string, string> = {}) {
  const root = tempDir(t);
  const home = join(root, "home");
  const sshDir = join(home, ".ssh");
  const nexusHome = join(home, ".nexus");
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(sshDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(sshDir, name), content, { mode: 0o600 });
  }
  const config = join(sshDir, "config");
  const line = `Include ${nexusHome}/ssh/config`;
  return { root, home, sshDir, nexusHome, config, line, run: () => ensureSshInclude({ nexusHome, sshDir, env: { HOME: home } }) };
}

const mode = (path: string) => statSync(path).mode & 0o777;

t.test("no ~/.ssh at all: created 0700, config created 0600 with only the Include", async (t) => {
  const s = setup(t);
  const result = await s.run();
  t.same(result, { status: "added", file: s.config, line: s.line });
  t.equal(readFileSync(s.config, "utf8"), `${s.line}\n`);
  t.equal(mode(s.sshDir), 0o700);
  t.equal(mode(s.config), 0o600);
  t.equal((await s.run()).status, "present", "second run finds it");
  t.equal(readFileSync(s.config, "utf8"), `${s.line}\n`, "and changes nothing");
  t.notOk(existsSync(join(s.sshDir, ".config.nexus-lock")), "lock released");
});

t.test("an existing config: the Include goes first, everything else byte-identical", async (t) => {
  // Includes bytes that are not valid UTF-8: they must survive untouched.
  const original = Buffer.concat([Buffer.from("# my hosts\nHost work\n  HostName work.example.com\n  User me\n\nHost *\n  ServerAliveInterval 30\n# caf"), Buffer.from([0xe9, 0xff]), Buffer.from("\n")]);
  const s = setup(t);
  mkdirSync(s.sshDir, { recursive: true, mode: 0o700 });
  writeFileSync(s.config, original, { mode: 0o644 });
  t.equal((await s.run()).status, "added");
  const written = readFileSync(s.config);
  t.same(written, Buffer.concat([Buffer.from(`${s.line}\n`), original]));
  t.equal(mode(s.config), 0o644, "the user's mode is kept");
  t.equal((await s.run()).status, "present");
  t.same(readFileSync(s.config), written, "idempotent");
});

t.test("a group-writable config loses group/other write (OpenSSH refuses such a file)", async (t) => {
  const s = setup(t, { config: "Host x\n" });
  chmodSync(s.config, 0o664);
  await s.run();
  t.equal(mode(s.config), 0o644);
});

t.test("CRLF files stay CRLF", async (t) => {
  const s = setup(t, { config: "Host a\r\n  User b\r\n" });
  await s.run();
  t.equal(readFileSync(s.config, "utf8"), `${s.line}\r\nHost a\r\n  User b\r\n`);
});

t.test("a UTF-8 byte-order mark stays first", async (t) => {
  const s = setup(t, { config: "\ufeffHost a\n" });
  await s.run();
  t.equal(readFileSync(s.config, "utf8"), `\ufeff${s.line}\nHost a\n`);
});

const SPELLINGS: Array<[string, (s: ReturnType<typeof setup>) => string]> = [
  ["absolute, at the end", (s) => `Host a\n  User b\n\n${s.line}\n`],
  ["with ~/", () => "Include ~/.nexus/ssh/config\nHost a\n"],
  ["quoted", (s) => `Include "${s.nexusHome}/ssh/config"\n`],
  ["Include=, lower case, indented", (s) => `  include=${s.nexusHome}/ssh/config\n`],
  ["relative to ~/.ssh, among other files", () => "Include other.conf ../.nexus/ssh/config\n"],
  ["CRLF", (s) => `Host a\r\n${s.line}\r\n`],
];

for (const [what, content] of SPELLINGS) {
  t.test(`an existing Include (${what}) is found: nothing changes`, async (t) => {
    const s = setup(t);
    const text = content(s);
    mkdirSync(s.sshDir, { recursive: true, mode: 0o700 });
    writeFileSync(s.config, text, { mode: 0o600 });
    const before = statSync(s.config);
    t.equal((await s.run()).status, "present");
    t.equal(readFileSync(s.config, "utf8"), text);
    t.equal(statSync(s.config).ino, before.ino, "the file was not replaced");
  });
}

t.test("includesFile does not match other files or comments", async (t) => {
  const target = "/h/.nexus/ssh/config";
  t.notOk(includesFile("# Include /h/.nexus/ssh/config\n", target, "/h/.ssh"));
  t.notOk(includesFile("Include /h/.nexus/ssh/config.d\n", target, "/h/.ssh"));
  t.notOk(includesFile("IncludeX /h/.nexus/ssh/config\n", target, "/h/.ssh"));
  t.ok(includesFile("Include /h/.nexus/ssh/../ssh/config\n", target, "/h/.ssh"));
});

t.test("a read-only config is not touched: the caller gets the line to print", async (t) => {
  const s = setup(t, { config: "Host a\n" });
  chmodSync(s.config, 0o444);
  const result = await s.run();
  t.equal(result.status, "manual");
  t.equal(result.line, s.line);
  t.match(result.status === "manual" ? result.reason : "", /read-only/);
  t.equal(readFileSync(s.config, "utf8"), "Host a\n");
  t.equal(mode(s.config), 0o444);
});

t.test("a read-only ~/.ssh without a config: manual, nothing created", async (t) => {
  const s = setup(t);
  mkdirSync(s.sshDir, { recursive: true, mode: 0o555 });
  chmodSync(s.sshDir, 0o555);
  const result = await s.run();
  t.equal(result.status, "manual");
  t.notOk(existsSync(s.config));
  chmodSync(s.sshDir, 0o700);
});

t.test("a symlinked config (home-manager) is not replaced", async (t) => {
  const s = setup(t);
  const store = join(s.root, "nix-store-config");
  writeFileSync(store, "Host a\n", { mode: 0o444 });
  mkdirSync(s.sshDir, { recursive: true, mode: 0o700 });
  symlinkSync(store, s.config);
  const result = await s.run();
  t.equal(result.status, "manual");
  t.match(result.status === "manual" ? result.reason : "", /symlink/);
  t.ok(lstatSync(s.config).isSymbolicLink(), "still a symlink");
  t.equal(readFileSync(store, "utf8"), "Host a\n");
});

t.test("a symlink whose target already includes the file counts as present", async (t) => {
  const s = setup(t);
  const store = join(s.root, "managed-config");
  writeFileSync(store, `${s.line}\nHost a\n`);
  mkdirSync(s.sshDir, { recursive: true, mode: 0o700 });
  symlinkSync(store, s.config);
  t.equal((await s.run()).status, "present");
  t.ok(lstatSync(s.config).isSymbolicLink(), "still a symlink");
});

t.test("a stale lock left by a dead process is taken over", async (t) => {
  const s = setup(t, { config: "Host a\n" });
  const lock = join(s.sshDir, ".config.nexus-lock");
  // pid 2^22+1 is above Linux's pid_max default: certainly not running.
  writeFileSync(lock, `4194305 ${(await import("node:os")).hostname()} dead\n`);
  t.equal((await s.run()).status, "added");
  t.notOk(existsSync(lock));
});

t.test("a live lock makes the writer wait, then time out with a hint", async (t) => {
  const s = setup(t, { config: "Host a\n" });
  const lock = join(s.sshDir, ".config.nexus-lock");
  writeFileSync(lock, `${process.pid} ${(await import("node:os")).hostname()} held-by-someone-else\n`);
  await t.rejects(ensureSshInclude({ nexusHome: s.nexusHome, sshDir: s.sshDir, lock: { timeoutMs: 100 } }), { code: "timeout", hint: /delete/ });
  t.equal(readFileSync(s.config, "utf8"), "Host a\n");
  t.ok(existsSync(lock), "someone else's lock is left alone");
});

t.test("a NEXUS_HOME with spaces is quoted, and found again", async (t) => {
  const s = setup(t);
  const nexusHome = join(s.home, "my nexus");
  const first = await ensureSshInclude({ nexusHome, sshDir: s.sshDir });
  t.equal(first.line, `Include "${nexusHome}/ssh/config"`);
  t.equal(sshIncludeLine(nexusHome), first.line);
  t.equal((await ensureSshInclude({ nexusHome, sshDir: s.sshDir })).status, "present");
});

t.test("a NEXUS_HOME with glob characters is refused", async (t) => {
  t.throws(() => sshIncludeLine("/tmp/a*b"), { code: "invalid_config" });
});
