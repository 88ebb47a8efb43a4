#!/usr/bin/env node
// Builds the standalone `nexus` binaries: Node single-executable applications for
// linux/darwin × x64/arm64. One binary runs the CLI, and the server and the agent when started
// with NEXUS_SEA_ENTRY=server|agent (see sea-launcher.cjs). No node_modules needed at run time.
//
//   node scripts/release/build-sea.mjs [--target linux-x64]… [--all-platforms] [--out DIR] [--node-version X.Y.Z]
//
// Default: this machine's target, into dist/release/<cli version>/nexus-<os>-<arch>.
// darwin binaries are built unsigned: sign them on macOS before publishing (docs/releasing.md).
import { execFile } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { bundlePrograms } from "./bundle.mjs";
import { TARGETS, hostTarget, nodeDistribution, resolveNodeVersion } from "./node-dist.mjs";

const run = promisify(execFile);

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
// The fuse Node's SEA support looks for (single-executable-applications docs).
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

export function cliVersion(root = ROOT) {
  return JSON.parse(readFileSync(join(root, "packages", "cli", "package.json"), "utf8")).version;
}

export function binaryName(target) {
  return `nexus-${target}`;
}

async function writeBlob({ generator, work, version, bundles }) {
  const config = join(work, `sea-config-${version}.json`);
  const blob = join(work, `sea-${version}.blob`);
  writeFileSync(
    config,
    JSON.stringify({
      main: join(dirname(fileURLToPath(import.meta.url)), "sea-launcher.cjs"),
      output: blob,
      disableExperimentalSEAWarning: true,
      // The launcher is tiny and the programs are imported, not compiled from the main script:
      // a code cache or snapshot would buy nothing and tie the blob to one V8 build.
      useCodeCache: false,
      useSnapshot: false,
      assets: Object.fromEntries(bundles.map((b) => [`${b.name}.mjs`, b.file])),
    }),
  );
  await run(generator, ["--experimental-sea-config", config], { cwd: work });
  return blob;
}

async function inject({ root, binary, blob, os }) {
  const postject = join(root, "node_modules", "postject", "dist", "cli.js");
  const args = [postject, binary, "NODE_SEA_BLOB", blob, "--sentinel-fuse", SEA_FUSE];
  if (os === "darwin") args.push("--macho-segment-name", "NODE_SEA");
  try {
    await run(process.execPath, args, { maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    throw new Error(`postject failed for ${binary}: ${error.stderr || error.message}`);
  }
}

/**
 * Builds one binary per target into `outDir`; returns what was built. Bundling happens once;
 * one blob per Node version, written by that same Node version.
 * @param {{ root?: string, targets?: string[], outDir: string, nodeVersion?: string, log?: (line: string) => void }} options
 */
export async function buildStandaloneBinaries({ root = ROOT, targets = [hostTarget()], outDir, nodeVersion = undefined, log = () => {} }) {
  const cacheDir = join(root, ".tools", "cache", "node-dist");
  const host = hostTarget();
  const work = mkdtempSync(join(tmpdir(), "nexus-sea-"));
  try {
    const bundled = await bundlePrograms({ root, outDir: join(work, "bundles") });
    if (bundled.skipped.length) log(`not in the binary (no source yet): ${bundled.skipped.join(", ")}`);
    for (const addon of bundled.leftOutNativeAddons) log(`left out optional native addon ${addon}`);
    mkdirSync(outDir, { recursive: true });
    const blobs = new Map();
    const built = [];
    for (const target of targets) {
      const spec = TARGETS[target];
      if (!spec) throw new Error(`unknown target ${target} (one of ${Object.keys(TARGETS).join(", ")})`);
      const version = await resolveNodeVersion({ root, cacheDir, target, requested: nodeVersion, host });
      if (!blobs.has(version)) {
        const generator =
          version === process.versions.node
            ? process.execPath
            : join(await nodeDistribution({ root, cacheDir, nodePackage: TARGETS[host].nodePackage, version, log }), "bin", "node");
        blobs.set(version, await writeBlob({ generator, work, version, bundles: bundled.bundles }));
      }
      const dist = await nodeDistribution({ root, cacheDir, nodePackage: spec.nodePackage, version, log });
      const file = join(outDir, binaryName(target));
      // Built beside the destination and renamed over it: a running old binary is never written to.
      const partial = join(outDir, `.${binaryName(target)}.partial`);
      copyFileSync(join(dist, "bin", "node"), partial);
      chmodSync(partial, 0o755);
      log(`${binaryName(target)}: injecting into ${spec.nodePackage}@${version}`);
      await inject({ root, binary: partial, blob: blobs.get(version), os: spec.os });
      renameSync(partial, file);
      built.push({ target, file, nodePackage: spec.nodePackage, nodeVersion: version, needsSigning: spec.os === "darwin" });
    }
    return { built, programs: bundled.bundles.map((b) => b.name), skippedPrograms: bundled.skipped, leftOutNativeAddons: bundled.leftOutNativeAddons };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: "string", multiple: true },
      "all-platforms": { type: "boolean", default: false },
      out: { type: "string" },
      "node-version": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`usage: node scripts/release/build-sea.mjs [--target T]… [--all-platforms] [--out DIR] [--node-version X.Y.Z]\ntargets: ${Object.keys(TARGETS).join(", ")}\n`);
    return;
  }
  const targets = values["all-platforms"] ? Object.keys(TARGETS) : (values.target ?? [hostTarget()]);
  const outDir = resolve(values.out ?? join(ROOT, "dist", "release", cliVersion()));
  const result = await buildStandaloneBinaries({ targets, outDir, nodeVersion: values["node-version"], log: (line) => process.stderr.write(`build-sea: ${line}\n`) });
  for (const b of result.built) process.stdout.write(`${b.file}  (Node ${b.nodeVersion}${b.needsSigning ? ", unsigned: sign on macOS before publishing" : ""})\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error) => {
    process.stderr.write(`build-sea: ${error.message}\n`);
    process.exitCode = 1;
  });
}
