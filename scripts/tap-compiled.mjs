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
// With --grouped, the files share `jobs` processes instead (see runGroup).
//
//   node scripts/tap-compiled.mjs .taprc --grouped          the fast suite (npm test)
//   node scripts/tap-compiled.mjs .taprc.int.yaml           the integration suite
//   node scripts/tap-compiled.mjs .taprc packages/cli       only test files under these paths
//   node scripts/tap-compiled.mjs .taprc -- --enable-source-maps   node flags after `--`
import { spawn } from "node:child_process";
import { globSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { Parser } from "tap-parser";
import { parse } from "yaml";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const [rcName, ...args] = process.argv.slice(2);
if (!rcName) {
  console.error("usage: node scripts/tap-compiled.mjs <rc file> [--grouped] [paths…] [-- node flags…]");
  process.exit(2);
}
const dash = args.indexOf("--");
const own = dash === -1 ? args : args.slice(0, dash);
const grouped = own.includes("--grouped");
const filters = own.filter((a) => a !== "--grouped").map((p) => relative(ROOT, resolve(p)));
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
let failed = 0;
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

/** Runs one compiled entry (a test file, or a group importing several) and counts its TAP. */
function runEntry(entry, limitMs) {
  return new Promise((done) => {
    const begun = Date.now();
    const env = { ...process.env, TAP: "1", TAP_TIMEOUT: String(limitMs / 1000) };
    const child = spawn(process.execPath, [...nodeArgs, entry], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const parser = new Parser();
    const counts = countLeaves(parser);
    child.stdout.pipe(parser);
    let results;
    parser.on("complete", (r) => (results = r));
    const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const ok = code === 0 && results?.ok === true && counts.fail === 0;
      const why = ok ? "" : signal === "SIGKILL" ? ` (killed after ${limitMs / 1000} s)` : counts.fail === 0 ? ` (exit ${code ?? signal})` : "";
      done({ ok, counts, output, why, ms: Date.now() - begun });
    });
  });
}

function record(label, run, replay) {
  totals.total += run.counts.total;
  totals.pass += run.counts.pass;
  totals.fail += run.ok ? 0 : Math.max(1, run.counts.fail);
  totals.skip += run.counts.skip;
  totals.todo += run.counts.todo;
  const n = ++index;
  if (run.ok) {
    console.log(`ok ${n} - ${label} # time=${run.ms}ms`);
    return;
  }
  failed++;
  console.log(`# Subtest: ${label}\n${run.output.replace(/^/gm, "    ")}\nnot ok ${n} - ${label}${run.why} # time=${run.ms}ms`);
  if (replay) console.log(`# replay with source maps: node --enable-source-maps ${relative(ROOT, replay)}`);
}

const runFile = async (file) => record(file, await runEntry(compiled(file), timeoutMs), compiled(file));

/**
 * --grouped: the files run in `jobs` processes, each importing its share in turn (one tap
 * root runs them all), which spares a process start, module loading and JIT warm-up per
 * file. A group that fails is run again file by file, to name the failing file; if every
 * file then passes alone, they interfere, which fails the run too.
 */
async function runGroup(group, k) {
  const size = `${group.length} file${group.length === 1 ? "" : "s"}`;
  const entry = join(OUT, `group-${k}.mjs`);
  writeFileSync(entry, group.map((file) => `import ${JSON.stringify(pathToFileURL(compiled(file)).href)};\n`).join(""));
  // The files' limits add up, but a hung group is cut at 10 minutes (its files then run alone, each with its own limit).
  const run = await runEntry(entry, Math.min(timeoutMs * group.length, GROUP_LIMIT_MS));
  if (run.ok) {
    console.log(`# group ${k}: ${group.join(" ")}`);
    record(`group ${k} (${size})`, run);
    return;
  }
  console.log(`# group ${k} (${size}) failed${run.why}; its failures:\n${run.output.split("\n").filter((line) => /^\s*not ok /.test(line)).join("\n")}\n# running its files one by one`);
  const before = failed;
  for (const file of group) await runFile(file);
  if (failed === before) record(`group ${k}: every file passes alone, but not in the group (the tests interfere, or one is sensitive to timing)`, { ...run, counts: { total: 0, pass: 0, fail: 1, skip: 0, todo: 0 } });
}

const timeoutMs = (rc.timeout ?? 120) * 1000;
const GROUP_LIMIT_MS = 10 * 60_000;
const jobs = Math.max(1, Number(process.env.TAP_JOBS ?? rc.jobs ?? 2));
console.log("TAP version 14");
const suiteStarted = Date.now();
if (grouped && files.length > jobs) {
  // Balanced by source size (a fair stand-in for run time): largest first, each to the lightest group.
  const groups = Array.from({ length: jobs }, () => ({ files: [], bytes: 0 }));
  for (const file of [...files].sort((a, b) => statSync(join(ROOT, b)).size - statSync(join(ROOT, a)).size)) {
    const lightest = groups.reduce((min, g) => (g.bytes < min.bytes ? g : min));
    lightest.files.push(file);
    lightest.bytes += statSync(join(ROOT, file)).size;
  }
  await Promise.all(groups.map((group, k) => runGroup(group.files.sort(), k + 1)));
} else {
  await Promise.all(Array.from({ length: jobs }, async () => {
    while (next < files.length) await runFile(files[next++]);
  }));
}
console.log(`1..${index}`);
console.log(`# ${failed === 0 ? "all passed" : `${failed} of ${index} failed`} in ${((Date.now() - suiteStarted) / 1000).toFixed(1)} s`);
console.log(`# { total: ${totals.total}, pass: ${totals.pass}, fail: ${totals.fail}, skip: ${totals.skip}, todo: ${totals.todo} }`);
process.exit(failed === 0 ? 0 : 1);
