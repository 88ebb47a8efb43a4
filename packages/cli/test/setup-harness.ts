// What the setup-from-repo and up tests share: the real server (startServer, SQLite) with its
// in-process agent on the FakeProvider, the GitHub emulator, a fresh HOME, and a PATH with
// only git and a recording `ssh` that answers the connect check with OK.
import type { Test } from "tap";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { createNexus } from "@nexus/core";
import { startGithubEmulator, type GithubEmulator } from "@nexus/github/testing";
import { startServer, type RunningServer } from "@nexus/server";
import { createFakeProvider, createLogCapture } from "@nexus/testkit";
import { tempTree } from "@nexus/test-utils";

export const SHOP_CONFIG = "version: 1\nname: shop\n";

export function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.test", ...args], { cwd, encoding: "utf8", stdio: "pipe" }).trim();
}

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, "127.0.0.1");
  await once(probe, "listening");
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export interface Sandbox {
  root: string;
  home: string;
  nexusHome: string;
  work: string;
  remotes: string;
  gh: GithubEmulator;
  token: string;
  /** The fake's workspaces greet on this port like an sshd (the agent waits for a banner). */
  sshPort: number;
  env: Record<string, string | undefined>;
  /** Every argv the fake `ssh` was run with. */
  sshRuns(): string[][];
}

export async function sandbox(t: Test): Promise<Sandbox> {
  const tree = tempTree({ home: {}, work: {}, remotes: {}, bin: {} });
  t.teardown(tree.cleanup);
  const root = tree.dir;
  const bin = join(root, "bin");
  const gitPath = execFileSync("/bin/sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
  symlinkSync(gitPath, join(bin, "git"));
  writeFileSync(
    join(bin, "ssh"),
    [
      "#!/bin/sh",
      'if [ "$1" = "-V" ]; then echo "OpenSSH_9.2p1 Debian-2, OpenSSL 3.0.11" >&2; exit 0; fi',
      `{ for arg in "$@"; do printf '%s\\n' "$arg"; done; printf 'END\\n'; } >> "${root}/ssh.argv"`,
      "echo OK",
      "",
    ].join("\n"),
  );
  chmodSync(join(bin, "ssh"), 0o755);

  const remotes = join(root, "remotes");
  const gh = await startGithubEmulator({ cloneUrl: (owner, name) => `file://${remotes}/${owner}/${name}.git` });
  t.teardown(() => gh.close());
  gh.addUser("octocat");
  const token = gh.issueToken("octocat");
  // acme/shop on "GitHub"; octocat's fork of it already exists on disk for when it is forked.
  const seed = join(root, "seed");
  mkdirSync(join(seed, ".nexus"), { recursive: true });
  writeFileSync(join(seed, ".nexus", "config.yaml"), SHOP_CONFIG);
  git(seed, "init", "-q", "-b", "main");
  git(seed, "add", "-A");
  git(seed, "commit", "-qm", "init");
  for (const owner of ["acme", "octocat"]) {
    mkdirSync(join(remotes, owner), { recursive: true });
    git(root, "clone", "-q", "--bare", seed, join(remotes, owner, "shop.git"));
  }
  gh.addRepo({ owner: "acme", name: "shop" });

  const banner = createServer((socket) => socket.end("SSH-2.0-OpenSSH_9.2p1 fake\r\n"));
  banner.listen(0, "127.0.0.1");
  await once(banner, "listening");
  t.teardown(() => new Promise<void>((resolve) => banner.close(() => resolve())));

  const home = join(root, "home");
  const nexusHome = join(home, ".nexus");
  return {
    root,
    home,
    nexusHome,
    work: join(root, "work"),
    remotes,
    gh,
    token,
    sshPort: (banner.address() as AddressInfo).port,
    env: { HOME: home, NEXUS_HOME: nexusHome, NEXUS_SERVER: undefined, NEXUS_TOKEN: undefined, NEXUS_GITHUB_API_URL: gh.apiUrl, PATH: bin },
    sshRuns() {
      const file = join(root, "ssh.argv");
      if (!existsSync(file)) return [];
      return readFileSync(file, "utf8").split("END\n").filter(Boolean).map((run) => run.split("\n").filter(Boolean));
    },
  };
}

/**
 * startServer with the in-process agent on the FakeProvider. With `nexusHome` set to the
 * CLI's, it is that user's single-machine server (it writes the local token file there).
 */
export async function fakeServer(t: Test, s: Sandbox, options: { nexusHome: string; port?: number }): Promise<RunningServer> {
  const fake = createFakeProvider();
  // The fake's small shell cannot clone or run node: answer those two like the container would.
  fake.control.onExec(({ argv }) => {
    if (argv.includes("nexus-clone")) return { exitCode: 0, stdout: "0123456789abcdef0123456789abcdef01234567\n", stderr: "" };
    if (argv[0] === "node") return { exitCode: 0, stdout: '{"ok":true}\n', stderr: "" };
    return undefined;
  });
  const server = await startServer({
    port: options.port ?? 0,
    dataDir: join(s.root, `data-${options.port ?? 0}-${Math.random().toString(36).slice(2, 8)}`),
    nexusHome: options.nexusHome,
    withAgent: true,
    registry: createNexus({ providers: [fake.descriptor] }),
    provider: "fake",
    agentSshPorts: [s.sshPort, s.sshPort],
    githubApiUrl: s.gh.apiUrl,
    closeGraceMs: 500,
    log: createLogCapture().log,
  });
  t.teardown(() => server.close());
  return server;
}
