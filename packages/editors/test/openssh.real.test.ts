// The generated files against the real OpenSSH client: `ssh -G` parses a config and
// prints the options it would use, without connecting; `ssh-keygen -F` looks a host up
// in known_hosts the way ssh does.
import t from "tap";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createSshConfig, detectConnectionSharing, ensureSshInclude } from "@nexus/editors";
import { tempDir } from "./fake-editors.js";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

/** `ssh -G` output as key → values (keys lower-cased). */
function sshG(configFile: string, host: string): Map<string, string[]> {
  const out = execFileSync("ssh", ["-G", "-F", configFile, host], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const options = new Map<string, string[]>();
  for (const line of out.split("\n")) {
    const space = line.indexOf(" ");
    if (space < 0) continue;
    const key = line.slice(0, space).toLowerCase();
    options.set(key, [...(options.get(key) ?? []), line.slice(space + 1)]);
  }
  return options;
}

t.test("ssh -G reads the generated entry as intended", async (t) => {
  const root = tempDir(t);
  const nexusHome = join(root, "nexus");
  const support = await detectConnectionSharing();
  t.equal(support.supported, process.platform !== "win32", `connection sharing on this OpenSSH (${support.version})`);
  const ssh = createSshConfig({ nexusHome });
  const identity = join(root, "keys dir", "id_ed25519");
  await ssh.writeWorkspaceEntry({
    workspace: "api",
    hostName: "10.0.0.5",
    port: 2222,
    hostKey: KEY,
    identityFile: identity,
    forwards: [{ localPort: 3000, remotePort: 3000, service: "web" }],
  });
  await ssh.writeWorkspaceEntry({ workspace: "web", hostName: "10.0.0.6", port: 2223, hostKey: KEY });

  const options = sshG(ssh.paths.config, "nexus-api");
  t.same(options.get("hostname"), ["10.0.0.5"]);
  t.same(options.get("port"), ["2222"]);
  t.same(options.get("user"), ["dev"]);
  t.same(options.get("stricthostkeychecking"), ["true"]);
  t.same(options.get("identityfile"), [identity]);
  t.same(options.get("identitiesonly"), ["yes"]);
  t.same(options.get("userknownhostsfile"), [ssh.paths.knownHosts]);
  t.same(options.get("forwardagent"), ["yes"]);
  t.same(options.get("localforward"), ["3000 [127.0.0.1]:3000"]);
  t.same(options.get("controlmaster"), ["auto"]);
  t.match(options.get("controlpath")?.[0], new RegExp(`^${ssh.paths.dir}/cm-[0-9a-f]{40}$`), "ControlPath under NEXUS_HOME, %C expanded");
  t.same(options.get("controlpersist"), ["600"]);

  const other = sshG(ssh.paths.config, "nexus-web");
  t.same(other.get("hostname"), ["10.0.0.6"], "the second block is its own host");
  t.same(other.get("localforward"), undefined, "api's forward does not leak into web");
});

t.test("through ~/.ssh/config's Include, with the user's own hosts around it", async (t) => {
  const root = tempDir(t);
  const nexusHome = join(root, "nexus");
  const sshDir = join(root, ".ssh");
  const ssh = createSshConfig({ nexusHome, connectionSharing: false });
  await ssh.writeWorkspaceEntry({ workspace: "api", hostName: "10.0.0.5", port: 2222, hostKey: KEY });
  mkdirSync(sshDir, { recursive: true, mode: 0o700 });
  // A catch-all that would win if the Include were not first.
  writeFileSync(join(sshDir, "config"), "Host *\n  Port 2999\n  User someone\n", { mode: 0o600 });
  t.equal((await ensureSshInclude({ nexusHome, sshDir })).status, "added");
  const options = sshG(join(sshDir, "config"), "nexus-api");
  t.same(options.get("port"), ["2222"]);
  t.same(options.get("user"), ["dev"]);
  t.same(sshG(join(sshDir, "config"), "elsewhere").get("port"), ["2999"], "other hosts keep the user's settings");
});

t.test("ssh-keygen finds the pinned key where ssh will look for it", async (t) => {
  const root = tempDir(t);
  const ssh = createSshConfig({ nexusHome: join(root, "nexus"), connectionSharing: false });
  await ssh.writeWorkspaceEntry({ workspace: "api", hostName: "10.0.0.5", port: 2222, hostKey: `${KEY} root@api` });
  const found = execFileSync("ssh-keygen", ["-F", "[10.0.0.5]:2222", "-f", ssh.paths.knownHosts], { encoding: "utf8" });
  t.match(found, KEY);
  await ssh.removeWorkspaceEntry("api");
  t.throws(() => execFileSync("ssh-keygen", ["-F", "[10.0.0.5]:2222", "-f", ssh.paths.knownHosts], { stdio: "ignore" }), "gone after remove");
});
