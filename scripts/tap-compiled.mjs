#!/usr/bin/env node
// Runs a tap suite compiled first: every test file of the suite (the include/exclude globs
// of its rc file) is bundled with esbuild into .tap/compiled/<suite>/ (the workspace's own
// TypeScript inlined, shared code split into chunks, npm packages left external), then
// each runs as a plain node process, `jobs` at a time, its TAP read with tap-parser. Same
// tests as `npx tap`, which transpiles every module through tsx's loader and adds tap's
// process-tracking loader in every test process: here that was most of the time.
// Ends with tap's own summary line, `# { total: N, pass: N, fail: N, … }`.
//
// import.meta.url/dirname/filename keep pointing at the source file, so tests and sources
// that find files next to themselves behave as under tsx. Child processes a test starts
// name their own loader (`--import=tsx`), as under `npx tap`.
//
//   node scripts/tap-compiled.mjs .taprc                    the fast suite (npm test)
//   node scripts/tap-compiled.mjs .taprc.int.yaml           the integration suite
//   node scripts/tap-compiled.mjs .taprc packages/cli       only test files under these paths
//   node scripts/tap-compiled.mjs .taprc -- --enable-source-maps   node flags after `--`
import { spawn } from "node:child_process";
import { globSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { Parser } from "tap-parser";
import { parse } from "yaml";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const [rcName, ...args] = process.argv.slice(2);
if (!rcName) {
  console.error("usage: node scripts/tap-compiled.mjs <rc file> [paths…] [-- tap flags…]");
  process.exit(2);
}
const dash = args.indexOf("--");
const filters = (dash === -1 ? args : args.slice(0, dash)).map((p) => relative(ROOT, resolve(p)));
const nodeArgs = dash === -1 ? [] : args.slice(dash + 1);

const rc = parse(readFileSync(join(ROOT, rcName), "utf8"));
const OUT = join(ROOT, ".tap", "compiled", rcName.replace(/^\.taprc\.?|\.ya?ml$/g, "") || "fast");
const files = globSync(rc.include, { cwd: ROOT, exclude: rc.exclude })
  .filter((file) => filters.length === 0 || filters.some((f) => file === f || file.startsWith(`${f}/`)))
  .sort();
if (files.length === 0) {
  console.error(`no test file of ${rcName} matches ${filters.join(" ")}`);
  process.exit(1);
}

/** Replaces import.meta's location with the source file's, so bundling moves no path. */
const sourceLocations = {
  name: "source-locations",
  setup(b) {
    b.onLoad({ filter: /\.[cm]?[jt]s$/ }, (load) => {
      if (load.path.includes("/node_modules/")) return undefined;
      const text = readFileSync(load.path, "utf8");
      if (!text.includes("import.meta.")) return undefined;
      const location = { url: pathToFileURL(load.path).href, dirname: dirname(load.path), filename: load.path };
      // Not inside a string ("import.meta.url" as a define key, say).
      const replaced = text.replace(/(?<!["'`])\bimport\.meta\.(url|dirname|filename)\b(?!["'`])/g, (_, key) => JSON.stringify(location[key]));
      return { contents: replaced, loader: load.path.endsWith("ts") ? "ts" : "js", resolveDir: dirname(load.path) };
    });
  },
};

/**
 * npm packages stay external, imported by the path they resolve to from the importing
 * source (a package's own node_modules may hold another version than the root's);
 * @nexus/* are bundled from source.
 */
const externals = {
  name: "externals",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (r) => {
      if (r.pluginData === "externals" || r.path.startsWith("@nexus/") || r.path.startsWith("node:")) return undefined;
      const found = await b.resolve(r.path, { kind: r.kind, resolveDir: r.resolveDir, importer: r.importer, pluginData: "externals" });
      if (found.errors.length > 0 || found.external) return { path: r.path, external: true };
      return { path: found.path, external: true };
    });
  },
};

/**
 * The workspace's sources are free of import-time side effects, so a test that imports one
 * name from a package's index loads that module's code only, not the whole package.
 */
const pureSources = {
  name: "pure-sources",
  setup(b) {
    b.onResolve({ filter: /.*/ }, async (r) => {
      if (r.pluginData === "pure-sources" || r.kind === "entry-point") return undefined;
      if (!r.path.startsWith(".") && !r.path.startsWith("@nexus/")) return undefined;
      const found = await b.resolve(r.path, { kind: r.kind, resolveDir: r.resolveDir, importer: r.importer, pluginData: "pure-sources" });
      if (found.errors.length > 0 || found.external || !/\/packages\/[^/]+\/src\//.test(found.path)) return undefined;
      return { path: found.path, sideEffects: false };
    });
  },
};

const started = Date.now();
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
await build({
  entryPoints: files.map((file) => join(ROOT, file)),
  outbase: ROOT,
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  conditions: ["nexus-source"],
  sourcemap: "linked",
  plugins: [externals, pureSources, sourceLocations],
  logLevel: "warning",
  // Some bundled CommonJS-minded code wants `require`; ESM has none by default.
  banner: { js: 'import { createRequire as __nexusRequire } from "node:module"; const require = __nexusRequire(import.meta.url);' },
});
console.log(`# compiled ${files.length} test files of ${rcName} in ${Date.now() - started} ms`);

// Each compiled file is a plain node program that prints TAP. They run `jobs` at a time,
// straight under node: tap's runner would start every one with its process-tracking
// loader and source maps on, which costs more than the tests themselves here.
const compiled = (file) => join(OUT, file.replace(/\.ts$/, ".js"));
const totals = { total: 0, pass: 0, fail: 0, skip: 0, todo: 0 };
let failedFiles = 0;
let index = 0;
let next = 0;

/** Assertions at every depth; a subtest's own summary point is not one more. */
function countLeaves(parser, counts = { total: 0, pass: 0, fail: 0, skip: 0, todo: 0 }) {
  let openChildren = 0;
  parser.on("child", (child) => {
    openChildren++;
    countLeaves(child, counts);
  });
  parser.on("assert", (point) => {
    if (openChildren > 0) {
      openChildren--;
      return;
    }
    counts.total++;
    if (point.todo) counts.todo++;
    else if (point.skip) counts.skip++;
    else if (point.ok) counts.pass++;
    else counts.fail++;
  });
  return counts;
}

function runFile(file) {
  return new Promise((done) => {
    const begun = Date.now();
    const child = spawn(process.execPath, [...nodeArgs, compiled(file)], { cwd: ROOT, env: { ...process.env, TAP: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const parser = new Parser();
    const counts = countLeaves(parser);
    child.stdout.pipe(parser);
    let results;
    parser.on("complete", (r) => (results = r));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const ok = code === 0 && results?.ok === true && counts.fail === 0;
      totals.total += counts.total;
      totals.pass += counts.pass;
      totals.fail += ok ? 0 : Math.max(1, counts.fail);
      totals.skip += counts.skip;
      totals.todo += counts.todo;
      const n = ++index;
      const ms = Date.now() - begun;
      if (ok) console.log(`ok ${n} - ${file} # time=${ms}ms`);
      else {
        failedFiles++;
        const why = signal === "SIGKILL" ? ` (killed after ${timeoutMs / 1000} s)` : counts.fail === 0 ? ` (exit ${code ?? signal})` : "";
        console.log(`# Subtest: ${file}\n${output.replace(/^/gm, "    ")}\nnot ok ${n} - ${file}${why} # time=${ms}ms`);
        console.log(`# replay with source maps: node --enable-source-maps ${relative(ROOT, compiled(file))}`);
      }
      done();
    });
  });
}

const timeoutMs = (rc.timeout ?? 120) * 1000;
const queue = files;
console.log("TAP version 14");
const workers = Array.from({ length: Math.max(1, Number(process.env.TAP_JOBS ?? rc.jobs ?? 2)) }, async () => {
  while (next < queue.length) await runFile(queue[next++]);
});
const suiteStarted = Date.now();
await Promise.all(workers);
console.log(`1..${index}`);
console.log(`# ${failedFiles === 0 ? "all files passed" : `${failedFiles} of ${index} files failed`} in ${((Date.now() - suiteStarted) / 1000).toFixed(1)} s`);
console.log(`# { total: ${totals.total}, pass: ${totals.pass}, fail: ${totals.fail}, skip: ${totals.skip}, todo: ${totals.todo} }`);
process.exit(failedFiles === 0 ? 0 : 1);
