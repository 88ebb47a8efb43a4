// Bundles the three shells (CLI, server, agent) into one self-contained ES module each, for the
// standalone binary (see sea-launcher.cjs for how the binary runs them).
import { existsSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { build } from "esbuild";

/** The programs a standalone binary can run, and the package whose `bin` each one is. */
export const PROGRAMS = [
  { name: "cli", packageDir: "packages/cli", required: true },
  { name: "server", packageDir: "packages/server", required: false },
  { name: "agent", packageDir: "packages/agent", required: false },
];

// Native addons the bundle may meet, and why leaving them out is safe. Anything else that needs
// a `.node` file fails the build: a standalone binary cannot load one.
const OPTIONAL_NATIVE_ADDONS = [
  { importer: "node_modules/ssh2/", specifier: "cpu-features", why: "ssh2 only uses it to order ciphers by CPU support" },
  { importer: "node_modules/ssh2/", specifier: "./crypto/build/Release/sshcrypto.node", why: "ssh2 falls back to node:crypto" },
];

// Packages whose `main` esbuild cannot follow: jsonc-parser's is a UMD wrapper that hides its
// requires from the bundler; its ES-module build is the same code.
const ALIASES = { "jsonc-parser": "jsonc-parser/lib/esm/main.js" };

/**
 * Relative requires left in a bundle: esbuild resolves every require it can see, so one that is
 * still there is hidden from it (a UMD wrapper's `require` parameter, say) and would fail in the
 * binary, where nothing but Node's builtins can be loaded. Package specifiers are not reported:
 * code generators (ajv, fast-json-stringify) carry `require("pkg/…")` inside strings.
 */
export function unbundledRelativeRequires(code) {
  const found = new Set();
  for (const m of code.matchAll(/(?<![\w$.])(?:__)?require\d*\(\s*(["'`])(\.{1,2}\/[^"'`]*)\1\s*\)/g)) found.add(`require("${m[2]}")`);
  return [...found];
}

/** The bin a package's package.json declares (./dist/main.js) mapped back to its TypeScript source. */
export function programSource(root, program) {
  const pkg = JSON.parse(readFileSync(join(root, program.packageDir, "package.json"), "utf8"));
  const bin = typeof pkg.bin === "string" ? pkg.bin : Object.values(pkg.bin ?? {})[0];
  if (!bin) return undefined;
  const source = join(root, program.packageDir, bin.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts"));
  return existsSync(source) ? source : undefined;
}

function leaveOutOptionalNativeAddons(root, leftOut) {
  return {
    name: "nexus-optional-native-addons",
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /(\.node$|^cpu-features$)/ }, (args) => {
        const importer = relative(root, args.importer).split(sep).join("/");
        const known = OPTIONAL_NATIVE_ADDONS.find((a) => importer.includes(a.importer) && args.path === a.specifier);
        if (!known) {
          return { errors: [{ text: `${importer} loads the native addon ${args.path}: a standalone binary cannot carry it. Make it optional (with a fallback) or keep it out of the shells.` }] };
        }
        leftOut.add(`${args.path} (${known.why})`);
        return { path: args.path, namespace: "nexus-left-out-native-addon" };
      });
      pluginBuild.onLoad({ filter: /.*/, namespace: "nexus-left-out-native-addon" }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`${args.path} is not part of the standalone nexus binary`)});`,
        loader: "js",
      }));
    },
  };
}

/**
 * Bundles each entry (name → source file) into `<outDir>/<name>.mjs`, self-contained but for
 * Node's builtins. Returns the bundles and the optional native addons that were left out.
 */
export async function bundleEntries({ root, entryPoints, outDir }) {
  const leftOut = new Set();
  await build({
    entryPoints,
    absWorkingDir: root,
    outdir: outDir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    // Bundle the TypeScript sources, as the tests run them: no `npm run build` needed first.
    conditions: ["nexus-source"],
    alias: ALIASES,
    // The bundle runs from a data: URL (sea-launcher.cjs), so "where am I" is answered with the
    // executable, through globals the launcher sets. define only rewrites free references: a
    // module's own `const __dirname = …` is left alone.
    define: {
      "import.meta.url": "__nexusSeaModuleUrl",
      "import.meta.filename": "__nexusSeaFilename",
      "import.meta.dirname": "__nexusSeaDirname",
      __filename: "__nexusSeaFilename",
      __dirname: "__nexusSeaDirname",
    },
    plugins: [leaveOutOptionalNativeAddons(root, leftOut)],
    legalComments: "eof",
    logLevel: "error",
  });
  const bundles = Object.keys(entryPoints).map((name) => ({ name, file: join(outDir, `${name}.mjs`) }));
  for (const bundle of bundles) {
    const hidden = unbundledRelativeRequires(readFileSync(bundle.file, "utf8"));
    if (hidden.length) throw new Error(`the ${bundle.name} bundle still requires files esbuild could not see (add an alias in bundle.mjs): ${hidden.join("; ")}`);
  }
  return { bundles, leftOutNativeAddons: [...leftOut] };
}

/**
 * Bundles every program whose source exists. Returns the bundles, the optional programs that
 * were skipped (no source yet) and the native addons that were left out.
 */
export async function bundlePrograms({ root, outDir }) {
  const entryPoints = {};
  const skipped = [];
  for (const program of PROGRAMS) {
    const source = programSource(root, program);
    if (source) entryPoints[program.name] = source;
    else if (program.required) throw new Error(`${program.packageDir}: no source for its bin; cannot build the standalone binary`);
    else skipped.push(program.name);
  }
  return { ...(await bundleEntries({ root, entryPoints, outDir })), skipped };
}
