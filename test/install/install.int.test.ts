// install.sh without a network: usage, argument parsing, the npm/binary choice (with fake node
// and npm on a PATH built for the test), and shellcheck.
import t, { type Test } from "tap";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BASE_TOOLS, INSTALL_SH, runInstaller, toolDir, which } from "./harness.js";

function tempHome(t: Test): string {
  const home = mkdtempSync(join(tmpdir(), "nexus-install-home-"));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  return home;
}

const hostEnv = (home: string): Record<string, string> => ({ HOME: home, PATH: process.env.PATH ?? "/usr/bin:/bin" });

t.test("--help prints usage with every option and exits 0", async (t) => {
  const r = await runInstaller(["--help"], hostEnv(tempHome(t)));
  t.equal(r.code, 0);
  for (const flag of ["--repo", "--server", "--editor", "--version", "--prefix", "--local", "--uninstall", "--help", "NEXUS_DOWNLOAD_URL", "NEXUS_INSTALL_METHOD"]) {
    t.match(r.stdout, flag, `usage mentions ${flag}`);
  }
  t.equal(r.stderr, "");
});

t.test("an unknown option is an error with the usage, exit 2", async (t) => {
  const r = await runInstaller(["--repo", "a/b", "--frobnicate"], hostEnv(tempHome(t)));
  t.equal(r.code, 2);
  t.match(r.stderr, "error: unknown option: --frobnicate");
  t.match(r.stderr, "Usage: install.sh");
  t.equal(r.stdout, "");
});

t.test("an option without its value is an error, exit 2", async (t) => {
  for (const args of [["--repo"], ["--server", "--local"], ["--prefix"]]) {
    const r = await runInstaller(args, hostEnv(tempHome(t)));
    t.equal(r.code, 2, args.join(" "));
    t.match(r.stderr, /needs a value/, args.join(" "));
  }
});

t.test("invalid values are refused before anything is installed, exit 2", async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [["--version", "1.x"], /--version must be a version like 1\.2\.3/],
    [["--server", "ftp://example.com"], /--server must be an http:\/\/ or https:\/\/ URL/],
    [["--server", "https://exa mple.com"], /must not contain spaces/],
    [["--editor", "Code;rm"], /--editor must be an editor name/],
    [["--local", "--server", "https://nexus.example.com"], /--local and --server exclude each other/],
    [["--uninstall", "--repo", "a/b"], /--uninstall takes no other option/],
    [["--repo", "a/b\nserver: evil"], /--repo must not contain control characters/],
  ];
  for (const [args, message] of cases) {
    const home = tempHome(t);
    const r = await runInstaller(args, hostEnv(home));
    t.equal(r.code, 2, JSON.stringify(args));
    t.match(r.stderr, message, JSON.stringify(args));
    t.notOk(existsSync(join(home, ".nexus")), "nothing written");
  }
});

t.test("valid options, in both --flag value and --flag=value forms, get past parsing", async (t) => {
  // An unknown NEXUS_INSTALL_METHOD stops the installer right after parsing, platform and tool checks.
  for (const args of [
    ["--repo", "my-org/app", "--server", "https://nexus.example.com/", "--editor", "code", "--version", "v1.2.3", "--prefix", "rel/prefix"],
    ["--repo=my-org/app", "--server=https://nexus.example.com", "--editor=none", "--version=1.2.3-rc.1"],
    ["--local", "--repo", "./my project"],
  ]) {
    const home = tempHome(t);
    const r = await runInstaller(args, { ...hostEnv(home), NEXUS_INSTALL_METHOD: "carrier-pigeon" });
    t.equal(r.code, 2, JSON.stringify(args));
    t.match(r.stderr, /NEXUS_INSTALL_METHOD must be npm or binary/, JSON.stringify(args));
  }
});

t.test("with Node >= 22.19 and npm on PATH, the CLI is installed with npm into the prefix", async (t) => {
  const home = tempHome(t);
  const npmLog = join(home, "npm.log");
  const tools = toolDir(["git", "ssh", "curl", ...BASE_TOOLS], {
    node: `#!/bin/sh\necho 24.1.0\n`,
    // Like `npm i -g --prefix P`: the bin lands in P/bin.
    npm: `#!/bin/sh
printf '%s\\n' "$*" >> "${npmLog}"
if [ "$1" = install ]; then
  mkdir -p "$4/bin"
  printf '#!/bin/sh\\necho 1.2.3\\n' > "$4/bin/nexus"
  chmod 755 "$4/bin/nexus"
fi
if [ "$1" = uninstall ]; then rm -f "$4/bin/nexus"; fi
`,
  });
  t.teardown(tools.cleanup);
  const env = { HOME: home, PATH: tools.dir };
  const r = await runInstaller(["--version", "1.2.3"], env);
  t.equal(r.code, 0, "exit 0", { stderr: r.stderr });
  const prefix = join(home, ".local");
  t.equal(readFileSync(npmLog, "utf8").trim(), `install --global --prefix ${prefix} --no-audit --no-fund --loglevel=error @nexus/cli@1.2.3`);
  const manifest = readFileSync(join(home, ".nexus", "install-manifest"), "utf8");
  t.match(manifest, "method=npm");
  t.match(manifest, "package=@nexus/cli");
  t.match(manifest, "version=1.2.3");
  t.match(r.stdout, "Next:", "without --repo the next steps are printed");

  const again = await runInstaller(["--version", "1.2.3"], env);
  t.equal(again.code, 0);
  t.match(again.stdout, "already nexus 1.2.3");
  t.equal(readFileSync(npmLog, "utf8").trim().split("\n").length, 1, "npm not run again for the same version");

  const un = await runInstaller(["--uninstall"], env);
  t.equal(un.code, 0, "exit 0", { stderr: un.stderr });
  t.match(readFileSync(npmLog, "utf8"), `uninstall --global --prefix ${prefix} --loglevel=error @nexus/cli`);
  t.notOk(existsSync(join(prefix, "bin", "nexus")));
  t.notOk(existsSync(join(home, ".nexus", "install-manifest")));
});

t.test("with an older Node the standalone binary is chosen", async (t) => {
  const home = tempHome(t);
  const tools = toolDir(["git", "ssh", "curl", ...BASE_TOOLS], { node: `#!/bin/sh\necho 22.5.0\n`, npm: `#!/bin/sh\nexit 99\n` });
  t.teardown(tools.cleanup);
  // Port 9 on loopback refuses at once: the binary path is the one that tried to download.
  const r = await runInstaller([], { HOME: home, PATH: tools.dir, NEXUS_DOWNLOAD_URL: "http://127.0.0.1:9" });
  t.equal(r.code, 1);
  t.match(r.stdout, "Fetching http://127.0.0.1:9/latest/SHA256SUMS");
  t.match(r.stderr, "could not download http://127.0.0.1:9/latest/SHA256SUMS");
  t.notOk(existsSync(join(home, ".local", "bin", "nexus")));
});

t.test("NEXUS_INSTALL_METHOD=npm without a recent Node is an error naming what is missing", async (t) => {
  const home = tempHome(t);
  const tools = toolDir(["git", "ssh", "curl", ...BASE_TOOLS]);
  t.teardown(tools.cleanup);
  const r = await runInstaller([], { HOME: home, PATH: tools.dir, NEXUS_INSTALL_METHOD: "npm" });
  t.equal(r.code, 1);
  t.match(r.stderr, "NEXUS_INSTALL_METHOD=npm needs Node.js >= 22.19 and npm on PATH");
});

t.test("missing git and ssh: the install command for each OS family", async (t) => {
  const families: Array<[string, string, string, string[]]> = [
    // [what, uname -s, os-release, expected lines]
    ["Debian", "Linux", 'ID=debian\n', ["sudo apt-get update && sudo apt-get install -y git openssh-client"]],
    ["Ubuntu", "Linux", 'ID=ubuntu\nID_LIKE=debian\n', ["sudo apt-get update && sudo apt-get install -y git openssh-client"]],
    ["Fedora", "Linux", 'ID=fedora\n', ["sudo dnf install -y git openssh-clients"]],
    ["Rocky (RHEL-like)", "Linux", 'ID="rocky"\nID_LIKE="rhel centos fedora"\n', ["sudo dnf install -y git openssh-clients"]],
    ["Alpine", "Linux", 'ID=alpine\n', ["sudo apk add git openssh-client"]],
    ["Arch", "Linux", 'ID=arch\n', ["sudo pacman -S --needed git openssh"]],
    ["an unknown Linux", "Linux", 'ID=plan9ish\n', ["install git openssh-client with your system's package manager"]],
    ["macOS", "Darwin", "", ["xcode-select --install", "brew install git openssh"]],
  ];
  for (const [what, kernel, osRelease, expected] of families) {
    const home = tempHome(t);
    const release = join(home, "os-release");
    writeFileSync(release, osRelease);
    const fakeUname = `#!/bin/sh\ncase "$1" in -s) echo ${kernel} ;; -m) echo x86_64 ;; *) echo ${kernel} ;; esac\n`;
    const tools = toolDir(["curl", ...BASE_TOOLS.filter((tool) => tool !== "uname")], { uname: fakeUname });
    t.teardown(tools.cleanup);
    const r = await runInstaller(["--repo", "my-org/my-app"], { HOME: home, PATH: tools.dir, NEXUS_OS_RELEASE: release });
    t.equal(r.code, 1, what);
    t.match(r.stderr, "missing: git ssh", what);
    for (const line of expected) t.match(r.stderr, line, `${what}: ${line}`);
    t.notOk(existsSync(join(home, ".nexus")), `${what}: nothing written`);
  }
});

t.test("install.sh parses as POSIX sh", async (t) => {
  const shells: Array<[string, string[]]> = [["/bin/sh", ["-n", INSTALL_SH]]];
  const dash = which("dash");
  if (dash) shells.push([dash, ["-n", INSTALL_SH]]);
  const busybox = which("busybox");
  if (busybox) shells.push([busybox, ["sh", "-n", INSTALL_SH]]);
  for (const [shell, args] of shells) t.doesNotThrow(() => execFileSync(shell, args), `${shell} ${args.join(" ")}`);
});

const shellcheck = which("shellcheck");
t.test("install.sh is shellcheck-clean", { skip: shellcheck ? false : "shellcheck is not installed (apt-get install shellcheck)" }, async (t) => {
  if (!shellcheck) return;
  let output = "";
  try {
    execFileSync(shellcheck, ["--shell=sh", INSTALL_SH], { encoding: "utf8" });
  } catch (error) {
    output = String((error as { stdout?: string }).stdout ?? error);
  }
  t.equal(output, "", "no shellcheck findings");
});
