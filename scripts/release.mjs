#!/usr/bin/env node
// The release: versions from changesets, every package built, the standalone binaries, npm
// tarballs and SHA256SUMS in dist/release/<version>/. docs/releasing.md describes the flow.
//
//   node scripts/release.mjs [--dry-run] [--publish] [--all-platforms] [--skip-build] [--out DIR]
//
// --dry-run (the default) publishes nothing: it builds everything and prints what --publish
// would publish. --publish runs `changeset publish` (npm) after the same build; the binaries
// are uploaded by hand (docs/releasing.md), after the darwin ones are signed.
import { execFile, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { CHECKSUMS_FILE, writeChecksums } from "./release/checksums.mjs";
import { binaryName, buildStandaloneBinaries } from "./release/build-sea.mjs";
import { TARGETS, hostTarget } from "./release/node-dist.mjs";

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
// The three shells are one changesets `fixed` group (.changeset/config.json): one version.
const SHELLS = ["@nexus/cli", "@nexus/server", "@nexus/agent"];

export function workspacePackages(root = ROOT) {
  const rootPkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  return rootPkg.workspaces.map((dir) => {
    const pkg = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"));
    return { name: pkg.name, version: pkg.version, private: Boolean(pkg.private), dir };
  });
}

export function pendingChangesets(root = ROOT) {
  return readdirSync(join(root, ".changeset")).filter((f) => f.endsWith(".md") && f !== "README.md");
}

/**
 * The versions `changeset version` would give each package, computed in a scratch copy of the
 * package manifests so the work tree is not touched.
 */
export async function plannedVersions(root = ROOT) {
  const changesets = pendingChangesets(root);
  const packages = workspacePackages(root);
  if (!changesets.length) return { changesets, bumps: [] };
  const scratch = mkdtempSync(join(tmpdir(), "nexus-release-plan-"));
  try {
    for (const file of ["package.json", "package-lock.json"]) copyFileSync(join(root, file), join(scratch, file));
    mkdirSync(join(scratch, ".changeset"));
    for (const file of readdirSync(join(root, ".changeset"))) copyFileSync(join(root, ".changeset", file), join(scratch, ".changeset", file));
    for (const pkg of packages) {
      mkdirSync(join(scratch, pkg.dir), { recursive: true });
      copyFileSync(join(root, pkg.dir, "package.json"), join(scratch, pkg.dir, "package.json"));
    }
    await run(join(root, "node_modules", ".bin", "changeset"), ["version"], { cwd: scratch });
    const after = new Map(workspacePackages(scratch).map((p) => [p.name, p.version]));
    const bumps = packages.filter((p) => after.get(p.name) !== p.version).map((p) => ({ name: p.name, from: p.version, to: after.get(p.name) }));
    return { changesets, bumps };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function runVisible(command, args, cwd) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolvePromise() : reject(new Error(`${command} ${args.join(" ")} exited with ${code}`))));
  });
}

/** `npm pack` of every public workspace package into `outDir`; returns the tarball names. */
export async function packPackages(root, packages, outDir) {
  const args = ["pack", "--json", "--pack-destination", outDir];
  for (const pkg of packages) args.push("--workspace", pkg.name);
  const { stdout } = await run("npm", args, { cwd: root, maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout.slice(stdout.indexOf("["))).map((entry) => entry.filename.replace(/^@/, "").replace(/\//, "-"));
}

/** Public packages whose entry points (exports, bin) are missing: they would be published without their build. */
export function unbuiltPackages(root, packages) {
  const problems = [];
  for (const p of packages) {
    const pkg = JSON.parse(readFileSync(join(root, p.dir, "package.json"), "utf8"));
    const entry = pkg.exports?.["."];
    const targets = [typeof entry === "string" ? entry : entry?.default, ...Object.values(typeof pkg.bin === "string" ? { bin: pkg.bin } : (pkg.bin ?? {}))];
    const missing = targets.filter((t) => typeof t === "string" && !existsSync(join(root, p.dir, t)));
    if (missing.length) problems.push(`${p.name} (${missing.join(", ")} missing)`);
  }
  return problems;
}

/** The output directory is emptied first, but only when it is empty already or holds an earlier release. */
function prepareOutDir(outDir) {
  if (existsSync(outDir) && readdirSync(outDir).length && !existsSync(join(outDir, CHECKSUMS_FILE))) {
    throw new Error(`${outDir} is not empty and holds no earlier release (${CHECKSUMS_FILE}): choose another --out`);
  }
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
}

export async function release({ root = ROOT, publish = false, allPlatforms = false, skipBuild = false, outDir, log = () => {} }) {
  const packages = workspacePackages(root);
  const shellVersions = new Set(packages.filter((p) => SHELLS.includes(p.name)).map((p) => p.version));
  if (shellVersions.size !== 1) throw new Error(`${SHELLS.join(", ")} must share one version (changesets fixed group); found ${[...shellVersions].join(", ")}`);
  const [version] = [...shellVersions];
  const plan = await plannedVersions(root);
  if (publish && plan.changesets.length) {
    throw new Error(`${plan.changesets.length} changeset(s) not applied yet: run \`npx changeset version\`, review and commit, then publish`);
  }
  const out = resolve(outDir ?? join(root, "dist", "release", version));
  prepareOutDir(out);

  if (!skipBuild) {
    log("building every package (npm run build)");
    await runVisible("npm", ["run", "build", "--silent"], root);
  }
  const targets = allPlatforms || publish ? Object.keys(TARGETS) : [hostTarget()];
  log(`building standalone binaries: ${targets.join(", ")}`);
  const binaries = await buildStandaloneBinaries({ root, targets, outDir: out, log });
  const host = binaries.built.find((b) => b.target === hostTarget());
  if (host) {
    const { stdout } = await run(host.file, ["--version"]);
    if (stdout.trim() !== version) throw new Error(`${binaryName(host.target)} --version printed "${stdout.trim()}", expected ${version}`);
  }
  const publicPackages = packages.filter((p) => !p.private);
  const unbuilt = unbuiltPackages(root, publicPackages);
  if (unbuilt.length && publish) throw new Error(`not built, refusing to publish: ${unbuilt.join("; ")}`);
  log("packing npm tarballs");
  const tarballs = await packPackages(root, publicPackages, out);
  const checksums = await writeChecksums(out);

  const summary = { version, outDir: out, plan, binaries, packages: publicPackages, unbuilt, tarballs, checksums };
  if (publish) {
    log("publishing to npm: changeset publish");
    await runVisible(join(root, "node_modules", ".bin", "changeset"), ["publish"], root);
  }
  return summary;
}

export function describe(summary, { publish, root = ROOT }) {
  const lines = [];
  const inside = relative(root, summary.outDir);
  const where = inside && !inside.startsWith("..") ? inside : summary.outDir;
  lines.push(`nexus ${summary.version}: ${publish ? "published to npm" : "dry run, nothing published"}`);
  if (summary.plan.changesets.length) {
    lines.push(`pending changesets (${summary.plan.changesets.join(", ")}): \`npx changeset version\` would release`);
    for (const b of summary.plan.bumps) lines.push(`  ${b.name} ${b.from} → ${b.to}`);
    lines.push("  (this build has the current versions; apply the changesets and commit to build those)");
  } else {
    lines.push("pending changesets: none");
  }
  lines.push(`npm packages (${publish ? "published" : "`changeset publish` would publish those not yet on the registry"}):`);
  for (const p of summary.packages) lines.push(`  ${p.name}@${p.version}`);
  if (summary.unbuilt.length) lines.push(`  NOT BUILT (--publish refuses): ${summary.unbuilt.join("; ")}`);
  lines.push("standalone binaries:");
  for (const b of summary.binaries.built) lines.push(`  ${binaryName(b.target)}  (Node ${b.nodeVersion}${b.needsSigning ? "; unsigned: sign on macOS, then rewrite SHA256SUMS" : ""})`);
  if (summary.binaries.skippedPrograms.length) lines.push(`  without: ${summary.binaries.skippedPrograms.join(", ")} (no source yet)`);
  lines.push(`artifacts and ${CHECKSUMS_FILE} in ${where}:`);
  for (const line of summary.checksums.trim().split("\n")) lines.push(`  ${line}`);
  lines.push(`upload ${where}/* to <download base>/${summary.version}/ and <download base>/latest/ (docs/releasing.md)`);
  return `${lines.join("\n")}\n`;
}

async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      "dry-run": { type: "boolean", default: false },
      publish: { type: "boolean", default: false },
      "all-platforms": { type: "boolean", default: false },
      "skip-build": { type: "boolean", default: false },
      out: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write("usage: node scripts/release.mjs [--dry-run] [--publish] [--all-platforms] [--skip-build] [--out DIR]\n");
    return;
  }
  if (values.publish && values["dry-run"]) throw new Error("--publish and --dry-run exclude each other (`npm run release` is the dry run: use `node scripts/release.mjs --publish`)");
  const summary = await release({
    publish: values.publish,
    allPlatforms: values["all-platforms"],
    skipBuild: values["skip-build"],
    outDir: values.out,
    log: (line) => process.stderr.write(`release: ${line}\n`),
  });
  process.stdout.write(describe(summary, { publish: values.publish }));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error) => {
    process.stderr.write(`release: ${error.message}\n`);
    process.exitCode = 1;
  });
}
