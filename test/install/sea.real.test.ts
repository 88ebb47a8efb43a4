// The real standalone binary for this machine, built by scripts/release/build-sea.mjs (the
// platform Node package is cached under .tools/cache, so reruns take seconds), run with no Node
// and no node_modules in reach, then installed by install.sh from a local release server.
import t from "tap";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { buildStandaloneBinaries, binaryName, cliVersion } from "../../scripts/release/build-sea.mjs";
import { writeChecksums } from "../../scripts/release/checksums.mjs";
import { TARGETS, hostTarget } from "../../scripts/release/node-dist.mjs";
import { BASE_TOOLS, ROOT, runInstaller, serveRelease, toolDir } from "./harness.js";

const execFileAsync = promisify(execFile);

const work = mkdtempSync(join(tmpdir(), "nexus-sea-test-"));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const releaseDir = join(work, "release", "latest");
const home = join(work, "home");

const binary = join(releaseDir, binaryName(hostTarget()));
let built: { programs: string[]; skippedPrograms: string[] };
t.before(async () => {
  built = await buildStandaloneBinaries({ root: ROOT, targets: [hostTarget()], outDir: releaseDir });
});

// No node on PATH, a cwd outside the repository: nothing to fall back on but the binary itself.
async function nexus(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(binary, args, { cwd: work, env: { HOME: home, PATH: "/usr/bin:/bin", ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

t.test("the binary prints the CLI's version, and nothing else", async (t) => {
  const r = await nexus(["--version"]);
  t.equal(r.code, 0);
  t.equal(r.stdout.trim(), cliVersion(ROOT));
  t.equal(r.stderr, "", "no warnings (SEA, loader) on stderr");
});

t.test("nexus config validate examples/hello", async (t) => {
  const r = await nexus(["config", "validate", join(ROOT, "examples", "hello")]);
  t.equal(r.code, 0, "exit 0", { stderr: r.stderr });
  t.match(r.stdout, /config\.yaml is valid/);
  const json = await nexus(["--json", "config", "validate", join(ROOT, "examples", "hello")]);
  t.equal(json.code, 0);
  t.equal(JSON.parse(json.stdout).valid, true);
});

t.test("errors keep their catalog exit codes inside the binary", async (t) => {
  const r = await nexus(["config", "validate", work]);
  t.equal(r.code, 2, "invalid_config exits 2");
  t.match(r.stderr, "invalid_config");
});

t.test("NEXUS_SEA_ENTRY picks the program; an unknown one is refused", async (t) => {
  const bogus = await nexus(["--version"], { NEXUS_SEA_ENTRY: "bogus" });
  t.equal(bogus.code, 2);
  t.match(bogus.stderr, "NEXUS_SEA_ENTRY must be one of cli, server, agent");
  for (const program of built.skippedPrograms) {
    const r = await nexus([], { NEXUS_SEA_ENTRY: program });
    t.equal(r.code, 1, `${program}: not in this build`);
    t.match(r.stderr, `this binary was built without the ${program} program`);
  }
  t.ok(built.programs.includes("cli"));
  // The server and the agent load from the binary and answer --help with their own usage.
  for (const program of built.programs.filter((p: string) => p !== "cli")) {
    const r = await nexus(["--help"], { NEXUS_SEA_ENTRY: program });
    t.equal(r.code, 0, `${program} --help exits 0`, { stderr: r.stderr });
    t.match(r.stdout, `Usage: nexus-${program}`, `${program} usage`);
  }
});

t.test("install.sh installs the real binary from a local release and it runs", async (t) => {
  await writeChecksums(releaseDir);
  const server = await serveRelease(join(work, "release"));
  const tools = toolDir(["git", "ssh", "curl", ...BASE_TOOLS]);
  t.teardown(async () => {
    await server.close();
    tools.cleanup();
  });
  const r = await runInstaller([], { HOME: home, PATH: tools.dir, NEXUS_DOWNLOAD_URL: server.url, NEXUS_INSTALL_METHOD: "binary" });
  t.equal(r.code, 0, "exit 0", { stderr: r.stderr });
  t.match(r.stdout, `nexus ${cliVersion(ROOT)} (binary, ${hostTarget()})`);
  const installed = join(home, ".local", "bin", "nexus");
  t.ok(readFileSync(installed).equals(readFileSync(binary)), "installed file is the release binary");
  const { stdout } = await execFileAsync(installed, ["--version"], { env: { HOME: home, PATH: "/usr/bin:/bin" } });
  t.equal(stdout.trim(), cliVersion(ROOT));
});

/** What an executable's header says it is: ELF or Mach-O, and for which processor. */
function executableKind(head: Buffer): string {
  if (head.readUInt32BE(0) === 0x7f454c46) return `linux-${({ 0x3e: "x64", 0xb7: "arm64" } as Record<number, string>)[head.readUInt16LE(18)] ?? "?"}`;
  if (head.readUInt32LE(0) === 0xfeedfacf) return `darwin-${({ 0x01000007: "x64", 0x0100000c: "arm64" } as Record<number, string>)[head.readUInt32LE(4)] ?? "?"}`;
  return "unknown";
}

t.test("the other platforms' binaries: each is its platform's executable with the program injected, and that blob runs here", async (t) => {
  const others = Object.keys(TARGETS).filter((target) => target !== hostTarget());
  const cross = await buildStandaloneBinaries({ root: ROOT, targets: others, outDir: join(work, "cross") });
  t.same(cross.built.map((b: { target: string }) => b.target), others, "one binary per other target");
  for (const b of cross.built as Array<{ target: string; file: string; nodeVersion: string; needsSigning: boolean }>) {
    const bytes = readFileSync(b.file);
    t.equal(executableKind(bytes.subarray(0, 32)), b.target, `${b.target}: the header is that platform's`);
    t.ok(bytes.includes("NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1"), `${b.target}: the single-executable fuse is set (a blob was injected)`);
    t.equal(b.needsSigning, b.target.startsWith("darwin-"), `${b.target}: signing flagged for macOS only`);
  }
  // A blob is written by the Node version it is injected into: the same version's binary for
  // this machine, built with that blob, runs the CLI (what the other platforms' binaries run).
  for (const version of new Set(cross.built.map((b: { nodeVersion: string }) => b.nodeVersion))) {
    if (version === process.versions.node) continue;
    const here = await buildStandaloneBinaries({ root: ROOT, targets: [hostTarget()], outDir: join(work, `here-${version}`), nodeVersion: version });
    const file = (here.built as Array<{ file: string }>)[0]!.file;
    const env = { HOME: home, PATH: "/usr/bin:/bin" };
    const { stdout } = await execFileAsync(file, ["--version"], { cwd: work, env });
    t.equal(stdout.trim(), cliVersion(ROOT), `Node ${version}: the CLI runs from the binary`);
    const validated = await execFileAsync(file, ["config", "validate", join(ROOT, "examples", "hello")], { cwd: work, env });
    t.match(validated.stdout, "is valid", `Node ${version}: and validates a config`);
  }
});
