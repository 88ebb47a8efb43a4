import t from "tap";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  connectionSharingFromVersion,
  createSshConfig,
  knownHostsName,
  nexusSshPaths,
  renderWorkspaceEntry,
  type WorkspaceSshEntry,
} from "@nexus/editors";
import { tempDir } from "./fake-editors.js";

const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFBtq0d7ZBqz0tW9hM9JbD7Ir5bJkpBLu0c1ZJ9vKsWh";

function entry(overrides: Partial<WorkspaceSshEntry> = {}): WorkspaceSshEntry {
  return { workspace: "api", hostName: "10.0.0.5", port: 2222, hostKey: `${KEY_A} root@container`, identityFile: "/home/me/.ssh/id_ed25519", ...overrides };
}

t.test("an entry has every SPEC §8 option, absolute paths, and markers", async (t) => {
  const nexusHome = join(tempDir(t), "nexus");
  const ssh = createSshConfig({ nexusHome, connectionSharing: true });
  const written = await ssh.writeWorkspaceEntry(entry({ forwards: [{ localPort: 3000, remotePort: 3000, service: "web" }, { localPort: 15432, remotePort: 5432 }] }));
  const dir = join(nexusHome, "ssh");
  t.equal(
    written.text,
    [
      "# nexus:begin api",
      "Host nexus-api",
      "  HostName 10.0.0.5",
      "  Port 2222",
      "  User dev",
      "  IdentityFile /home/me/.ssh/id_ed25519",
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${dir}/known_hosts`,
      "  StrictHostKeyChecking yes",
      "  ForwardAgent yes",
      "  # service web",
      "  LocalForward 3000 127.0.0.1:3000",
      "  LocalForward 15432 127.0.0.1:5432",
      "  ControlMaster auto",
      `  ControlPath ${dir}/cm-%C`,
      "  ControlPersist 10m",
      "# nexus:end api",
      "",
    ].join("\n"),
  );
  t.equal(written.host, "nexus-api");
  t.equal(written.changed, true);
  const config = readFileSync(join(dir, "config"), "utf8");
  t.ok(config.startsWith("# Managed by nexus"), "header");
  t.ok(config.includes(written.text), "block in the file");
  t.equal(readFileSync(join(dir, "known_hosts"), "utf8"), `[10.0.0.5]:2222 ${KEY_A}\n`, "pinned key without its comment");
  t.equal(statSync(dir).mode & 0o777, 0o700);
  t.equal(statSync(join(dir, "config")).mode & 0o777, 0o600);
  t.equal(statSync(join(dir, "known_hosts")).mode & 0o777, 0o600);

  t.same(ssh.listWorkspaceEntries(), [
    {
      workspace: "api",
      host: "nexus-api",
      hostName: "10.0.0.5",
      port: 2222,
      user: "dev",
      identityFile: "/home/me/.ssh/id_ed25519",
      forwards: [{ localPort: 3000, remotePort: 3000, service: "web" }, { localPort: 15432, remotePort: 5432 }],
      connectionSharing: true,
      hostKeys: [KEY_A],
    },
  ]);
});

t.test("without connection sharing, and without an identity file", async (t) => {
  const ssh = createSshConfig({ nexusHome: join(tempDir(t), "nexus"), connectionSharing: false });
  const written = await ssh.writeWorkspaceEntry(entry({ identityFile: undefined }));
  t.notMatch(written.text, /Control|IdentityFile|IdentitiesOnly/);
  t.equal(written.connectionSharing.supported, false);
  t.equal(ssh.readWorkspaceEntry("api")?.connectionSharing, false);
});

t.test("paths with spaces are quoted", async (t) => {
  const nexusHome = join(tempDir(t), "my nexus");
  const text = renderWorkspaceEntry(entry({ identityFile: "/home/me/my keys/id" }), { paths: nexusSshPaths(nexusHome), connectionSharing: true });
  t.match(text, /IdentityFile "\/home\/me\/my keys\/id"\n/);
  t.match(text, new RegExp(`UserKnownHostsFile "${nexusHome}/ssh/known_hosts"\n`));
  t.match(text, new RegExp(`ControlPath "${nexusHome}/ssh/cm-%C"\n`));
});

t.test("replace: a second write changes only that workspace's block and re-pins its key", async (t) => {
  const ssh = createSshConfig({ nexusHome: join(tempDir(t), "nexus"), connectionSharing: false });
  await ssh.writeWorkspaceEntry(entry());
  await ssh.writeWorkspaceEntry(entry({ workspace: "web", port: 2223, hostKey: KEY_B }));
  const same = await ssh.writeWorkspaceEntry(entry());
  t.equal(same.changed, false, "an identical write changes nothing");

  // api moves to another port with a new key (re-created container).
  await ssh.writeWorkspaceEntry(entry({ port: 2230, hostKey: KEY_B }));
  const entries = ssh.listWorkspaceEntries();
  t.same(entries.map((e) => [e.workspace, e.port]), [["api", 2230], ["web", 2223]], "replaced in place");
  const knownHosts = readFileSync(ssh.paths.knownHosts, "utf8");
  t.notMatch(knownHosts, /\[10\.0\.0\.5\]:2222/, "the old endpoint is unpinned");
  t.equal(knownHosts, `[10.0.0.5]:2223 ${KEY_B}\n[10.0.0.5]:2230 ${KEY_B}\n`);
  const config = readFileSync(ssh.paths.config, "utf8");
  t.equal(config.match(/# nexus:begin api/g)?.length, 1, "one api block");
});

t.test("a new key for the same endpoint replaces the old one (port reused by a new workspace)", async (t) => {
  const ssh = createSshConfig({ nexusHome: join(tempDir(t), "nexus"), connectionSharing: false });
  await ssh.writeWorkspaceEntry(entry());
  await ssh.writeWorkspaceEntry(entry({ hostKey: KEY_B }));
  t.equal(readFileSync(ssh.paths.knownHosts, "utf8"), `[10.0.0.5]:2222 ${KEY_B}\n`);
  t.same(ssh.readWorkspaceEntry("api")?.hostKeys, [KEY_B]);
});

t.test("remove: the block and its known_hosts line go, others stay", async (t) => {
  const ssh = createSshConfig({ nexusHome: join(tempDir(t), "nexus"), connectionSharing: false });
  await ssh.writeWorkspaceEntry(entry());
  await ssh.writeWorkspaceEntry(entry({ workspace: "web", port: 22, hostKey: KEY_B }));
  t.equal(await ssh.removeWorkspaceEntry("api"), true);
  t.equal(await ssh.removeWorkspaceEntry("api"), false, "already gone");
  t.same(ssh.listWorkspaceEntries().map((e) => e.workspace), ["web"]);
  t.notMatch(readFileSync(ssh.paths.config, "utf8"), /nexus-api|nexus:begin api/);
  t.equal(readFileSync(ssh.paths.knownHosts, "utf8"), `10.0.0.5 ${KEY_B}\n`, "port 22 is written without brackets");
  t.equal(await ssh.removeWorkspaceEntry("web"), true);
  t.equal(readFileSync(ssh.paths.knownHosts, "utf8"), "");
  t.same(ssh.listWorkspaceEntries(), []);
});

t.test("remove keeps a known_hosts line another entry still uses", async (t) => {
  const ssh = createSshConfig({ nexusHome: join(tempDir(t), "nexus"), connectionSharing: false });
  await ssh.writeWorkspaceEntry(entry());
  await ssh.writeWorkspaceEntry(entry({ workspace: "stale" }));
  await ssh.removeWorkspaceEntry("stale");
  t.equal(readFileSync(ssh.paths.knownHosts, "utf8"), `[10.0.0.5]:2222 ${KEY_A}\n`);
});

t.test("lines outside nexus blocks and unrelated known_hosts lines are handled", async (t) => {
  const ssh = createSshConfig({ nexusHome: join(tempDir(t), "nexus"), connectionSharing: false });
  await ssh.writeWorkspaceEntry(entry());
  writeFileSync(ssh.paths.knownHosts, `${readFileSync(ssh.paths.knownHosts, "utf8")}# a comment\n@revoked * ${KEY_B}\n`);
  await ssh.writeWorkspaceEntry(entry({ workspace: "web", port: 2223 }));
  const knownHosts = readFileSync(ssh.paths.knownHosts, "utf8");
  t.match(knownHosts, /# a comment\n/);
  t.match(knownHosts, /@revoked \* /);
  // A half-written block (begin without end) is dropped on the next write.
  writeFileSync(ssh.paths.config, `${readFileSync(ssh.paths.config, "utf8")}\n# nexus:begin broken\nHost nexus-broken\n`);
  t.same(ssh.listWorkspaceEntries().map((e) => e.workspace), ["api", "web"]);
  await ssh.writeWorkspaceEntry(entry({ workspace: "db", port: 2224 }));
  t.notMatch(readFileSync(ssh.paths.config, "utf8"), /broken/);
});

const BAD: Array<[string, Partial<WorkspaceSshEntry>]> = [
  ["a workspace with a newline", { workspace: "api\nHost *" }],
  ["an option-like workspace", { workspace: "-oProxyCommand=x" }],
  ["a host name with a newline", { hostName: "10.0.0.5\n  ProxyCommand sh" }],
  ["a host name with a space", { hostName: "a b" }],
  ["port 0", { port: 0 }],
  ["port 70000", { port: 70000 }],
  ["a key with a newline", { hostKey: `${KEY_A}\n[evil]:22 ${KEY_B}` }],
  ["an unknown key type", { hostKey: "ssh-dss AAAAB3NzaC1kc3MAAACBAP" }],
  ["a key blob of another type", { hostKey: "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ" }],
  ["a relative identity file", { identityFile: "id_ed25519" }],
  ["an identity file with a quote", { identityFile: '/home/me/"x' }],
  ["an identity file with a newline", { identityFile: "/home/me/id\nProxyCommand sh" }],
  ["a forward with a bad port", { forwards: [{ localPort: 3000, remotePort: -1 }] }],
  ["a forward with a bad service", { forwards: [{ localPort: 3000, remotePort: 3000, service: "web\nHost *" }] }],
];

for (const [what, overrides] of BAD) {
  t.test(`refused: ${what}`, async (t) => {
    const ssh = createSshConfig({ nexusHome: join(tempDir(t), "nexus"), connectionSharing: false });
    await t.rejects(ssh.writeWorkspaceEntry(entry(overrides)), { code: "invalid_request" });
    t.same(ssh.listWorkspaceEntries(), [], "nothing written");
  });
}

t.test("IPv6 and DNS host names", async (t) => {
  const ssh = createSshConfig({ nexusHome: join(tempDir(t), "nexus"), connectionSharing: false });
  await ssh.writeWorkspaceEntry(entry({ hostName: "fd00::5" }));
  await ssh.writeWorkspaceEntry(entry({ workspace: "web", hostName: "node-1.example.com" }));
  t.equal(readFileSync(ssh.paths.knownHosts, "utf8"), `[fd00::5]:2222 ${KEY_A}\n[node-1.example.com]:2222 ${KEY_A}\n`);
  t.equal(knownHostsName("fd00::5", 22), "fd00::5");
});

t.test("connection sharing needs OpenSSH >= 6.7, not Windows, and a short socket path", async (t) => {
  t.same(connectionSharingFromVersion("OpenSSH_9.2p1 Debian-2+deb12u6, OpenSSL 3.0.19 27 Jan 2026", "linux"), { supported: true, version: "OpenSSH_9.2p1 Debian-2+deb12u6, OpenSSL 3.0.19 27 Jan 2026" });
  t.equal(connectionSharingFromVersion("OpenSSH_6.6.1p1 Ubuntu", "linux").supported, false);
  t.equal(connectionSharingFromVersion("OpenSSH_6.7p1", "darwin").supported, true);
  t.equal(connectionSharingFromVersion("OpenSSH_for_Windows_8.1p1, LibreSSL 3.0.2", "win32").supported, false);
  t.equal(connectionSharingFromVersion("Sun_SSH_1.1", "linux").supported, false);

  const long = join(tempDir(t), "x".repeat(60));
  const ssh = createSshConfig({ nexusHome: long, connectionSharing: true });
  const support = await ssh.connectionSharing();
  t.equal(support.supported, false);
  t.match(support.reason, /too long/);
  t.notMatch((await ssh.writeWorkspaceEntry(entry())).text, /ControlPath/);
});

t.test("connection sharing is probed from ssh -V on the given PATH", async (t) => {
  const dir = tempDir(t);
  const fakeSsh = join(dir, "ssh");
  writeFileSync(fakeSsh, "#!/bin/sh\necho 'OpenSSH_5.3p1, OpenSSL 1.0.1' >&2\n", { mode: 0o755 });
  const old = createSshConfig({ nexusHome: join(dir, "nexus"), env: { PATH: dir } });
  t.same(await old.connectionSharing(), { supported: false, version: "OpenSSH_5.3p1, OpenSSL 1.0.1", reason: "OpenSSH 5.3 is older than 6.7" });
  const none = createSshConfig({ nexusHome: join(dir, "nexus"), env: { PATH: "" } });
  t.same(await none.connectionSharing(), { supported: false, reason: "ssh is not on PATH" });
});

t.test("ensureInclude points ~/.ssh/config at this NEXUS_HOME", async (t) => {
  const home = tempDir(t);
  const ssh = createSshConfig({ nexusHome: join(home, ".nexus"), connectionSharing: false });
  const result = await ssh.ensureInclude({ sshDir: join(home, ".ssh") });
  t.equal(result.status, "added");
  t.equal(readFileSync(join(home, ".ssh", "config"), "utf8"), `Include ${home}/.nexus/ssh/config\n`);
});
