// Builds the workspace base image's rootfs with debootstrap and packs it as
// `rootfs.tar` (Docker import, and the rootfs half of the Incus split image) and
// `incus-metadata.tar`. Results are cached under <cacheDir>/<recipe hash>/.

import { isAbsolute, join } from "node:path";
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { NexusError, isNexusError } from "@nexus/core";
import { debootstrapArgv, ROOTFS_TAR_EXCLUDES, tarCreateArgv } from "./commands.js";
import { configureRootfs, installPackages, writeIncusMetadata, type StepRunner } from "./configure.js";
import { hostDebianMirror, validateMirrorUrl } from "./mirror.js";
import { runProcess } from "./process.js";
import type { ImageProgressListener } from "./progress.js";
import { baseImageRecipe, hostArchitecture, recipeHash, type BaseImageRecipe } from "./recipe.js";

export const DEFAULT_IMAGE_CACHE_DIR = "/var/cache/nexus/images";

export interface BuildBaseImageOptions {
  /** http(s) Debian mirror; default: the one this machine's apt uses. */
  mirror?: string;
  /** Default /var/cache/nexus/images. */
  cacheDir?: string;
  /** Build even when the cache holds this recipe. */
  rebuild?: boolean;
  onProgress?: ImageProgressListener;
  signal?: AbortSignal;
}

export interface BaseImageArtifacts {
  recipeHash: string;
  recipe: BaseImageRecipe;
  /** <cacheDir>/<recipeHash> */
  directory: string;
  /** Plain tar of the rootfs (entries `./…`), for Docker import and Incus. */
  rootfsTar: string;
  /** Incus split-image metadata (metadata.yaml + templates). */
  incusMetadataTar: string;
  /** Incus architecture name (x86_64, aarch64). */
  incusArchitecture: string;
  /** True when the cache already held this recipe. */
  cached: boolean;
}

interface Manifest {
  recipeHash: string;
  builtAt: string;
  recipe: BaseImageRecipe;
}

const MANIFEST = "manifest.json";
/** Finished builds kept in the cache (each is ~750 MiB); older ones are removed. */
const KEPT_BUILDS = 2;
const ROOTFS_TAR = "rootfs.tar";
const METADATA_TAR = "incus-metadata.tar";

/** The recipe and its hash for these options, without building anything. */
export async function resolveBaseImageRecipe(options: Pick<BuildBaseImageOptions, "mirror"> = {}): Promise<{
  recipe: BaseImageRecipe;
  recipeHash: string;
}> {
  const recipe = baseImageRecipe({ mirror: await resolveMirror(options.mirror) });
  return { recipe, recipeHash: recipeHash(recipe) };
}

async function resolveMirror(mirror: string | undefined): Promise<string> {
  return mirror === undefined ? hostDebianMirror("bookworm") : validateMirrorUrl(mirror);
}

export async function buildBaseImage(options: BuildBaseImageOptions = {}): Promise<BaseImageArtifacts> {
  const report = options.onProgress ?? (() => {});
  const cacheDir = options.cacheDir ?? DEFAULT_IMAGE_CACHE_DIR;
  if (!isAbsolute(cacheDir)) {
    throw new NexusError("invalid_request", `image cache dir must be an absolute path: ${cacheDir}`);
  }
  const { recipe, recipeHash: hash } = await resolveBaseImageRecipe(options);
  const directory = join(cacheDir, hash);
  const artifacts = {
    recipeHash: hash,
    recipe,
    directory,
    rootfsTar: join(directory, ROOTFS_TAR),
    incusMetadataTar: join(directory, METADATA_TAR),
    incusArchitecture: hostArchitecture().incus,
  };

  if (!options.rebuild && (await isCachedBuild(directory, hash))) {
    report({ step: "done", message: `cached image ${hash.slice(0, 12)} in ${directory}`, percent: 100 });
    return { ...artifacts, cached: true };
  }
  if (process.getuid?.() !== 0) {
    throw new NexusError("provision_failed", "building the base image needs root (debootstrap, chroot)", {
      hint: "Run `nexus node image build` as root.",
    });
  }

  await mkdir(cacheDir, { recursive: true });
  await removeAbandonedBuilds(cacheDir);
  const work = join(cacheDir, `.build-${hash.slice(0, 12)}-${process.pid}`);
  const rootfs = join(work, "rootfs");
  const metadata = join(work, "metadata");
  await removeTree(work);
  await mkdir(work, { recursive: true });
  try {
    report({ step: "prepare", message: `recipe ${hash.slice(0, 12)}, mirror ${recipe.mirror}`, percent: 0 });
    const packageCache = join(cacheDir, "packages");
    await debootstrap(recipe, rootfs, packageCache, options, report);
    await install(recipe, rootfs, packageCache, options, report);

    report({ step: "configure", message: "creating user dev, sshd and systemd settings", percent: 80 });
    await configureRootfs(rootfs, recipe, hash, run(options, "configure"));

    report({ step: "pack", message: `packing ${ROOTFS_TAR}`, percent: 85 });
    await run(options, "pack")(
      tarCreateArgv({ directory: rootfs, output: join(work, ROOTFS_TAR), excludes: ROOTFS_TAR_EXCLUDES }),
    );
    await writeIncusMetadata(metadata, recipe, hash, artifacts.incusArchitecture);
    await run(options, "pack")(tarCreateArgv({ directory: metadata, output: join(work, METADATA_TAR) }));
    await removeTree(rootfs);
    await removeTree(metadata);
    const manifest: Manifest = { recipeHash: hash, builtAt: new Date().toISOString(), recipe };
    await writeFile(join(work, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);

    await removeTree(directory);
    await rename(work, directory);
    await pruneOldBuilds(cacheDir, KEPT_BUILDS);
    const size = (await stat(artifacts.rootfsTar)).size;
    report({ step: "done", message: `built image ${hash.slice(0, 12)} (${Math.round(size / 2 ** 20)} MiB)`, percent: 100 });
    return { ...artifacts, cached: false };
  } catch (error) {
    await removeTree(work);
    throw error;
  }
}

/** True when `directory` holds a finished build of `hash` (manifest written last). */
export async function isCachedBuild(directory: string, hash: string): Promise<boolean> {
  try {
    const manifest = JSON.parse(await readFile(join(directory, MANIFEST), "utf8")) as Partial<Manifest>;
    if (manifest.recipeHash !== hash) return false;
    await stat(join(directory, ROOTFS_TAR));
    await stat(join(directory, METADATA_TAR));
    return true;
  } catch {
    return false;
  }
}

async function debootstrap(
  recipe: BaseImageRecipe,
  rootfs: string,
  packageCache: string,
  options: BuildBaseImageOptions,
  report: ImageProgressListener,
): Promise<void> {
  await mkdir(packageCache, { recursive: true });
  const argv = debootstrapArgv({ recipe, target: rootfs, mirror: recipe.mirror, cacheDir: packageCache });
  // debootstrap prints one "I: Retrieving/Validating/Unpacking/Configuring …" line
  // per package and phase; the phase gives a rough percentage.
  const phases: [RegExp, number][] = [
    [/^I: Retrieving Release/, 1],
    [/^I: Retrieving /, 5],
    [/^I: Extracting /, 15],
    [/^I: Installing (core|base) packages/, 20],
    [/^I: Unpacking the base system/, 25],
    [/^I: Configuring the base system/, 30],
    [/^I: Base system installed successfully/, 35],
  ];
  let percent = 0;
  report({ step: "debootstrap", message: argv.join(" "), percent });
  const onLine = (line: string) => {
    const phase = phases.find(([pattern]) => pattern.test(line));
    if (phase && phase[1] > percent) percent = phase[1];
    report({ step: "debootstrap", message: line, percent });
  };
  await run(options, "debootstrap")(argv, { onLine }).catch(async (error: unknown) => {
    if (isNexusError(error)) {
      const log = await readFile(join(rootfs, "debootstrap", "debootstrap.log"), "utf8").catch(() => "");
      error.details.debootstrapLog = log.trimEnd().split("\n").slice(-30);
    }
    throw error;
  });
}

/**
 * apt-get install in the rootfs. apt announces how many packages it installs;
 * each is then unpacked and set up, and those lines give the percentage.
 */
async function install(
  recipe: BaseImageRecipe,
  rootfs: string,
  packageCache: string,
  options: BuildBaseImageOptions,
  report: ImageProgressListener,
): Promise<void> {
  let total = 0;
  let done = 0;
  report({ step: "install", message: `apt-get install ${recipe.packages.join(" ")}`, percent: 35 });
  await installPackages(rootfs, recipe, packageCache, run(options, "install"), (line) => {
    const count = /^(\d+) upgraded, (\d+) newly installed/.exec(line);
    if (count) total = Number(count[2]);
    if (line.startsWith("Unpacking ") || line.startsWith("Setting up ")) done += 1;
    const percent = total > 0 ? 38 + Math.floor((40 * Math.min(done, 2 * total)) / (2 * total)) : 36;
    report({ step: "install", message: line, percent });
  });
}

/** A runner for one step: non-zero exit → provision_failed with the output's last lines. */
function run(options: BuildBaseImageOptions, step: string): StepRunner {
  return async (argv, runOptions = {}) => {
    let result;
    try {
      result = await runProcess(argv, {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(runOptions.onLine ? { onLine: runOptions.onLine } : {}),
        ...(runOptions.env ? { env: runOptions.env } : {}),
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        throw new NexusError("provision_failed", `${argv[0]} is not installed`, {
          details: { step },
          hint: "Run scripts/engines/setup.sh (or `apt-get install debootstrap`).",
          cause: error,
        });
      }
      throw error;
    }
    if (result.exitCode !== 0) {
      throw new NexusError("provision_failed", `image build step ${step} failed: ${argv[0]} exited with ${result.exitCode ?? result.signal}`, {
        details: { step, argv: [...argv], output: result.tail },
      });
    }
  };
}

async function pruneOldBuilds(cacheDir: string, keep: number): Promise<void> {
  const builds: { path: string; builtAt: string }[] = [];
  for (const name of await readdir(cacheDir)) {
    if (!/^[0-9a-f]{64}$/.test(name)) continue;
    const path = join(cacheDir, name);
    const manifest = await readFile(join(path, MANIFEST), "utf8").then(
      (text) => JSON.parse(text) as Partial<Manifest>,
      () => ({}) as Partial<Manifest>,
    );
    builds.push({ path, builtAt: manifest.builtAt ?? "" });
  }
  builds.sort((a, b) => (a.builtAt < b.builtAt ? 1 : a.builtAt > b.builtAt ? -1 : 0));
  for (const build of builds.slice(keep)) await removeTree(build.path);
}

/** Build dirs are named .build-<hash12>-<pid>; one whose process is gone was abandoned. */
async function removeAbandonedBuilds(cacheDir: string): Promise<void> {
  for (const name of await readdir(cacheDir)) {
    const match = /^\.build-[0-9a-f]{12}-(\d+)$/.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid !== process.pid && isAlive(pid)) continue;
    await removeTree(join(cacheDir, name));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * rm -rf that first unmounts anything mounted below `path`: an interrupted
 * debootstrap can leave /proc or /sys mounted inside the rootfs, and a recursive
 * delete must never walk into them.
 */
async function removeTree(path: string): Promise<void> {
  const mountinfo = await readFile("/proc/self/mountinfo", "utf8").catch(() => "");
  const below = mountinfo
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((mountPoint): mountPoint is string => !!mountPoint && mountPoint.startsWith(`${path}/`))
    .sort((a, b) => b.length - a.length);
  for (const mountPoint of below) {
    await runProcess(["umount", "--lazy", mountPoint]);
  }
  await rm(path, { recursive: true, force: true });
}
