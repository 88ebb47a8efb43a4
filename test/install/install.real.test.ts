// install.sh end to end: real curl against a release served on 127.0.0.1, real sha256sum, an
// empty temp HOME, and a PATH holding only the tools each case should have.
import t, { type Test } from "tap";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BASE_TOOLS, fakeNexus, osFamilyWords, runInstaller, serveRelease, sha256, toolDir, writeRelease, type ReleaseServer } from "./harness.js";

const ASSET = `nexus-${process.platform === "darwin" ? "darwin" : "linux"}-${process.arch === "arm64" ? "arm64" : "x64"}`;

interface Fixture {
  home: string;
  releases: string;
  server: ReleaseServer;
  path: string;
  env(extra?: Record<string, string>): Record<string, string>;
}

async function fixture(t: Test, tools = ["git", "ssh", "curl", ...BASE_TOOLS]): Promise<Fixture> {
  const home = mkdtempSync(join(tmpdir(), "nexus-install-home-"));
  const releases = mkdtempSync(join(tmpdir(), "nexus-install-releases-"));
  const bin = toolDir(tools);
  const server = await serveRelease(releases);
  t.teardown(async () => {
    await server.close();
    bin.cleanup();
    rmSync(home, { recursive: true, force: true });
    rmSync(releases, { recursive: true, force: true });
  });
  return {
    home,
    releases,
    server,
    path: bin.dir,
    env: (extra = {}) => ({ HOME: home, PATH: bin.dir, NEXUS_DOWNLOAD_URL: server.url, NEXUS_INSTALL_METHOD: "binary", FAKE_NEXUS_LOG: join(home, "nexus.log"), ...extra }),
  };
}

t.test("happy path: verified binary installed, config written, workspace set up", async (t) => {
  const f = await fixture(t);
  const binary = fakeNexus("0.1.0");
  writeRelease(f.releases, "latest", { [ASSET]: binary, "nexus-darwin-arm64": "other platform\n" });
  // A config with a key of its own and an old server: the key stays, the server is replaced once.
  mkdirSync(join(f.home, ".nexus"));
  writeFileSync(join(f.home, ".nexus", "config.yaml"), `editor: zed\nserver: "https://old.example.com"\n`);

  const r = await runInstaller(["--repo", "my-org/my-app", "--server", "https://nexus.example.com/", "--editor", "code"], f.env());
  t.equal(r.code, 0, "exit 0", { stderr: r.stderr });

  const installed = join(f.home, ".local", "bin", "nexus");
  t.equal(readFileSync(installed, "utf8"), binary, "the served binary, byte for byte");
  t.equal(statSync(installed).mode & 0o777, 0o755);
  t.same(readdirSync(join(f.home, ".local", "bin")), ["nexus"], "no partial files left");
  t.equal(readFileSync(join(f.home, ".nexus", "config.yaml"), "utf8"), `editor: zed\nserver: "https://nexus.example.com"\nrepo: "my-org/my-app"\n`);
  t.equal(statSync(join(f.home, ".nexus", "config.yaml")).mode & 0o777, 0o600);
  t.equal(readFileSync(join(f.home, "nexus.log"), "utf8"), "workspace setup-from-repo my-org/my-app --server https://nexus.example.com --editor code\n");
  t.match(readFileSync(join(f.home, ".nexus", "install-manifest"), "utf8"), `method=binary\nprefix=${join(f.home, ".local")}\nversion=0.1.0\nfile=${installed}\n`);
  t.match(r.stdout, `sha256 verified: ${sha256(binary)}`);
  t.match(r.stderr, `${join(f.home, ".local", "bin")} is not on your PATH`);
  t.match(r.stderr, `export PATH="${join(f.home, ".local", "bin")}:$PATH"`);
  t.same(f.server.requests, ["/latest/SHA256SUMS", `/latest/${ASSET}`]);
});

t.test("a checksum mismatch fails closed: nothing installed, non-zero exit, clear message", async (t) => {
  const f = await fixture(t);
  writeRelease(f.releases, "latest", { [ASSET]: fakeNexus("0.1.0") }, `${sha256("something else")}  ${ASSET}\n`);
  const r = await runInstaller(["--repo", "my-org/my-app", "--server", "https://nexus.example.com"], f.env());
  t.not(r.code, 0);
  t.match(r.stderr, `checksum mismatch for ${ASSET}`);
  t.match(r.stderr, "nothing was installed");
  t.notOk(existsSync(join(f.home, ".local", "bin", "nexus")), "no binary");
  t.notOk(existsSync(join(f.home, ".nexus", "install-manifest")), "no manifest");
  t.notOk(existsSync(join(f.home, ".nexus", "config.yaml")), "no config");
  t.notOk(existsSync(join(f.home, "nexus.log")), "nexus never ran");
});

t.test("no SHA256SUMS entry for this platform fails closed", async (t) => {
  const f = await fixture(t);
  writeRelease(f.releases, "latest", { [ASSET]: fakeNexus("0.1.0") }, `${sha256("x")}  nexus-plan9-mips\n`);
  const r = await runInstaller([], f.env());
  t.equal(r.code, 1);
  t.match(r.stderr, `has no entry for ${ASSET}: refusing to install an unverified binary`);
  t.same(f.server.requests, ["/latest/SHA256SUMS"], "the binary is not even downloaded");
  t.notOk(existsSync(join(f.home, ".local", "bin", "nexus")));
});

t.test("missing git and ssh: named, with the install command for this system", async (t) => {
  const f = await fixture(t, ["curl", ...BASE_TOOLS]);
  writeRelease(f.releases, "latest", { [ASSET]: fakeNexus("0.1.0") });
  const r = await runInstaller(["--repo", "my-org/my-app"], f.env());
  t.equal(r.code, 1);
  t.match(r.stderr, "nexus needs git, ssh and curl; missing: git ssh");
  t.match(r.stderr, "Install them with:");
  const family = osFamilyWords();
  if (family.includes("debian") || family.includes("ubuntu")) t.match(r.stderr, "sudo apt-get update && sudo apt-get install -y git openssh-client");
  else if (family.includes("fedora") || family.includes("rhel")) t.match(r.stderr, "sudo dnf install -y git openssh-clients");
  else if (family.includes("alpine")) t.match(r.stderr, "sudo apk add git openssh-client");
  t.same(f.server.requests, [], "nothing downloaded");
  t.notOk(existsSync(join(f.home, ".local", "bin", "nexus")));
});

t.test("re-running is idempotent; a new release is downloaded, the same one is not", async (t) => {
  const f = await fixture(t);
  writeRelease(f.releases, "latest", { [ASSET]: fakeNexus("0.1.0") });
  const args = ["--repo", "my-org/my-app", "--server", "https://nexus.example.com"];
  t.equal((await runInstaller(args, f.env())).code, 0);
  const config = readFileSync(join(f.home, ".nexus", "config.yaml"), "utf8");
  const manifest = readFileSync(join(f.home, ".nexus", "install-manifest"), "utf8");

  const again = await runInstaller(args, f.env());
  t.equal(again.code, 0, "exit 0", { stderr: again.stderr });
  t.match(again.stdout, "is already this release");
  t.same(f.server.requests, ["/latest/SHA256SUMS", `/latest/${ASSET}`, "/latest/SHA256SUMS"], "only the checksums fetched again");
  t.equal(readFileSync(join(f.home, ".nexus", "config.yaml"), "utf8"), config, "config unchanged");
  t.equal(readFileSync(join(f.home, ".nexus", "install-manifest"), "utf8"), manifest, "manifest unchanged");
  t.equal(readFileSync(join(f.home, "nexus.log"), "utf8").split("\n").filter(Boolean).length, 2, "setup ran each time");

  const newer = fakeNexus("0.2.0");
  writeRelease(f.releases, "latest", { [ASSET]: newer });
  const upgrade = await runInstaller([], f.env());
  t.equal(upgrade.code, 0, "exit 0", { stderr: upgrade.stderr });
  t.equal(readFileSync(join(f.home, ".local", "bin", "nexus"), "utf8"), newer);
  t.match(readFileSync(join(f.home, ".nexus", "install-manifest"), "utf8"), "version=0.2.0");
});

t.test("--version fetches that release; --prefix and NEXUS_HOME are honoured; --local runs nexus up", async (t) => {
  const f = await fixture(t);
  writeRelease(f.releases, "1.4.2", { [ASSET]: fakeNexus("1.4.2") });
  const prefix = join(f.home, "opt", "nexus");
  const nexusHome = join(f.home, "state");
  const r = await runInstaller(["--version", "v1.4.2", "--prefix", prefix, "--local", "--repo", "/src/my app"], f.env({ NEXUS_HOME: nexusHome, PATH: `${f.path}:${prefix}/bin` }));
  t.equal(r.code, 0, "exit 0", { stderr: r.stderr });
  t.same(f.server.requests, ["/1.4.2/SHA256SUMS", `/1.4.2/${ASSET}`]);
  t.ok(existsSync(join(prefix, "bin", "nexus")));
  t.equal(readFileSync(join(nexusHome, "config.yaml"), "utf8"), `repo: "/src/my app"\n`);
  t.equal(readFileSync(join(f.home, "nexus.log"), "utf8"), "up /src/my app\n");
  t.notMatch(r.stderr, "is not on your PATH", "no PATH warning when the prefix is on PATH");
  t.notOk(existsSync(join(f.home, ".nexus")), "~/.nexus untouched when NEXUS_HOME is set");
});

t.test("a failing setup leaves the CLI installed and says how to retry", async (t) => {
  const f = await fixture(t);
  writeRelease(f.releases, "latest", { [ASSET]: `#!/bin/sh\n[ "$1" = --version ] && { echo 0.1.0; exit 0; }\necho "error [auth_required] not logged in" >&2\nexit 3\n` });
  const r = await runInstaller(["--repo", "my-org/my-app", "--server", "https://nexus.example.com"], f.env());
  t.equal(r.code, 3, "nexus's exit code");
  t.match(r.stderr, "error [auth_required] not logged in");
  t.match(r.stderr, "The CLI is installed; fix what it reported, then run:");
  t.match(r.stderr, `${join(f.home, ".local", "bin", "nexus")} workspace setup-from-repo my-org/my-app --server https://nexus.example.com`);
  t.ok(existsSync(join(f.home, ".local", "bin", "nexus")));
});

t.test("--uninstall removes what was installed and says what it left", async (t) => {
  const f = await fixture(t);
  writeRelease(f.releases, "latest", { [ASSET]: fakeNexus("0.1.0") });
  t.equal((await runInstaller(["--repo", "my-org/my-app", "--server", "https://nexus.example.com"], f.env())).code, 0);
  // Something else in the prefix that install.sh did not put there.
  writeFileSync(join(f.home, ".local", "bin", "other-tool"), "#!/bin/sh\n");

  const r = await runInstaller(["--uninstall"], f.env());
  t.equal(r.code, 0, "exit 0", { stderr: r.stderr });
  t.notOk(existsSync(join(f.home, ".local", "bin", "nexus")), "binary removed");
  t.notOk(existsSync(join(f.home, ".nexus", "install-manifest")), "manifest removed");
  t.ok(existsSync(join(f.home, ".local", "bin", "other-tool")), "other files kept");
  t.notOk(existsSync(join(f.home, ".nexus", "config.yaml")), "the config it wrote, unchanged, removed");
  t.notOk(existsSync(join(f.home, ".nexus")), "~/.nexus, empty now, removed");
  t.notMatch(r.stdout, "Left in place");

  const again = await runInstaller(["--uninstall"], f.env());
  t.equal(again.code, 0);
  t.match(again.stdout, "Nothing to uninstall");
});

t.test("--uninstall keeps a config changed since it was written, and the user's other data", async (t) => {
  const f = await fixture(t);
  writeRelease(f.releases, "latest", { [ASSET]: fakeNexus("0.1.0") });
  const args = ["--repo", "my-org/my-app", "--server", "https://nexus.example.com"];
  t.equal((await runInstaller(args, f.env())).code, 0);
  t.equal((await runInstaller(args, f.env())).code, 0, "a re-run: the config is still the one it wrote");
  const config = join(f.home, ".nexus", "config.yaml");
  writeFileSync(config, `${readFileSync(config, "utf8")}editor: "zed"\n`);
  writeFileSync(join(f.home, ".nexus", "credentials.json"), "{}\n");

  const r = await runInstaller(["--uninstall"], f.env());
  t.equal(r.code, 0, "exit 0", { stderr: r.stderr });
  t.notOk(existsSync(join(f.home, ".local", "bin", "nexus")), "binary removed");
  t.match(readFileSync(config, "utf8"), 'editor: "zed"', "the changed config kept");
  t.match(r.stdout, `Kept ${config}: it changed since install.sh wrote it.`);
  t.ok(existsSync(join(f.home, ".nexus", "credentials.json")), "credentials kept");
  t.match(r.stdout, `Left in place: ${join(f.home, ".nexus")}`);
  t.match(r.stdout, `rm -rf '${join(f.home, ".nexus")}'`);
});

t.test("--uninstall after a re-run removes the config the first run created", async (t) => {
  const f = await fixture(t);
  writeRelease(f.releases, "latest", { [ASSET]: fakeNexus("0.1.0") });
  t.equal((await runInstaller(["--repo", "my-org/my-app", "--server", "https://nexus.example.com"], f.env())).code, 0);
  t.equal((await runInstaller(["--repo", "my-org/other", "--server", "https://nexus.example.com"], f.env())).code, 0);
  t.match(readFileSync(join(f.home, ".nexus", "config.yaml"), "utf8"), 'repo: "my-org/other"');
  const r = await runInstaller(["--uninstall"], f.env());
  t.equal(r.code, 0, r.stderr);
  t.notOk(existsSync(join(f.home, ".nexus", "config.yaml")), "its own config, rewritten by its re-run, removed");
});
