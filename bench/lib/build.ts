// The programs the benchmark measures, built from the current sources the way they ship:
// `nexus-server` and `nexus-agent` as bundled ES modules whose third-party dependencies stay
// external (npm installs them), and every @nexus package they import as its own module
// under bench/.build/node_modules — so the agent's plugin registry, which imports its
// provider by package name at run time, loads the freshly built provider and both share one
// @nexus/core, as with the published packages. Nothing under packages/*/dist is touched:
// other work in this checkout may be using it.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, join } from "node:path";
import { build, type Plugin } from "esbuild";

export const ROOT = join(import.meta.dirname, "..", "..");
export const BUILD_DIR = join(ROOT, "bench", ".build");

const PACKAGE_DIRS: Record<string, string> = {
  "@nexus/core": "packages/core",
  "@nexus/provider-lxc": "packages/provider-lxc",
  "@nexus/provider-docker": "packages/provider-docker",
  "@nexus/github": "packages/github",
  "@nexus/editors": "packages/editors",
  "@nexus/detectors": "packages/detectors",
  "@nexus/server": "packages/server",
  "@nexus/agent": "packages/agent",
};

/** Packages the registry loads by name at run time (never seen by the bundler). */
const RUNTIME_PLUGINS = ["@nexus/provider-lxc", "@nexus/provider-docker"];

export interface Programs {
  server: string;
  agent: string;
}

function splitSpecifier(specifier: string): { pkg: string; subpath: string } {
  const parts = specifier.split("/");
  return { pkg: parts.slice(0, 2).join("/"), subpath: parts.length > 2 ? `./${parts.slice(2).join("/")}` : "." };
}

/** `<dir>/node_modules/<name>` of a resolved file, and the rest of its path. */
const PACKAGE_PATH = /^(.*\/node_modules\/((?:@[^/]+\/)?[^/]+))\/(.*)$/;

/**
 * One copy per package version, as `npm install` of the published packages lays them out.
 * In this checkout each workspace package has its own undici 8 under packages/<pkg>/node_modules
 * (the root's undici is another major for a dev tool), so without this the agent would load the
 * same undici two or three times.
 */
function deduplicated(path: string, copies: Map<string, string>): string {
  const match = PACKAGE_PATH.exec(path);
  if (!match) return path;
  const [, dir, name, rest] = match as unknown as [string, string, string, string];
  const { version } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string };
  const key = `${name}@${version}`;
  const first = copies.get(key) ?? dir;
  copies.set(key, first);
  return join(first, rest);
}

/**
 * Every bare import stays external. @nexus ones are noted so they get built too; the others
 * are pinned to the file they resolve to from their importer, since packages may carry their
 * own copy of a dependency (packages/core/node_modules/undici is not the root's undici), and
 * then deduplicated.
 */
function externals(seen: Set<string>, copies: Map<string, string>): Plugin {
  return {
    name: "bench-externals",
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === "inner") return undefined;
        if (args.path.startsWith("node:") || isBuiltin(args.path)) return { path: args.path, external: true };
        if (args.path.startsWith("@nexus/")) {
          seen.add(args.path);
          return { path: args.path, external: true };
        }
        const resolved = await b.resolve(args.path, { importer: args.importer, resolveDir: args.resolveDir, kind: args.kind, pluginData: "inner" });
        if (resolved.errors.length) return { errors: resolved.errors };
        return { path: deduplicated(resolved.path, copies), external: true };
      });
    },
  };
}

async function bundle(entry: string, outfile: string, seen: Set<string>, copies: Map<string, string>): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    conditions: ["nexus-source"],
    plugins: [externals(seen, copies)],
    logLevel: "error",
    sourcemap: false,
  });
}

/** Builds the two programs and the @nexus modules they need; returns the programs' paths. */
export async function buildPrograms(): Promise<Programs> {
  rmSync(BUILD_DIR, { recursive: true, force: true });
  const seen = new Set<string>(RUNTIME_PLUGINS);
  const copies = new Map<string, string>();
  const programs = { server: join(BUILD_DIR, "nexus-server.mjs"), agent: join(BUILD_DIR, "nexus-agent.mjs") };
  await bundle(join(ROOT, "packages/server/src/main.ts"), programs.server, seen, copies);
  await bundle(join(ROOT, "packages/agent/src/main.ts"), programs.agent, seen, copies);
  const built = new Set<string>();
  const exportsOf = new Map<string, Record<string, string>>();
  for (;;) {
    const next = [...seen].find((s) => !built.has(s));
    if (next === undefined) break;
    built.add(next);
    const { pkg, subpath } = splitSpecifier(next);
    const dir = PACKAGE_DIRS[pkg];
    if (!dir) throw new Error(`bench build: unknown package ${pkg}`);
    const manifest = JSON.parse(readFileSync(join(ROOT, dir, "package.json"), "utf8")) as { exports: Record<string, { "nexus-source"?: string }> };
    const source = manifest.exports[subpath]?.["nexus-source"];
    if (!source) throw new Error(`bench build: ${next} has no nexus-source export`);
    const file = subpath === "." ? "index.mjs" : `${subpath.slice(2).replaceAll("/", "-")}.mjs`;
    const out = join(BUILD_DIR, "node_modules", pkg, file);
    await bundle(join(ROOT, dir, source), out, seen, copies);
    const map = exportsOf.get(pkg) ?? {};
    map[subpath] = `./${file}`;
    exportsOf.set(pkg, map);
  }
  for (const [pkg, map] of exportsOf) {
    const file = join(BUILD_DIR, "node_modules", pkg, "package.json");
    mkdirSync(dirname(file), { recursive: true });
    const manifest = JSON.parse(readFileSync(join(ROOT, PACKAGE_DIRS[pkg]!, "package.json"), "utf8")) as { version: string };
    writeFileSync(file, `${JSON.stringify({ name: pkg, version: manifest.version, type: "module", exports: map }, null, 2)}\n`);
  }
  writeFileSync(join(BUILD_DIR, "package.json"), `${JSON.stringify({ private: true, type: "module" })}\n`);
  return programs;
}
