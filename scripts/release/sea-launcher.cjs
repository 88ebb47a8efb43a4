"use strict";
// The main script of the standalone `nexus` binary (a Node single-executable application).
//
// Node 24's SEA runs only a CommonJS main script, while the nexus shells are ES modules that
// may use top-level await. So the binary carries each shell as an ES-module bundle asset
// (`cli.mjs`, `server.mjs`, `agent.mjs`) and this script imports the one asked for through the
// main context's loader, from a data: URL: nothing is written to disk.
//
// One binary, three programs: `NEXUS_SEA_ENTRY=server|agent` picks the server or the agent;
// anything else runs the CLI. The CLI uses this to start `nexus server start` / `nexus agent
// start` as child processes (process.execPath + NEXUS_SEA_ENTRY). The variable is removed
// before the program runs, so a `nexus` started by a workspace hook is the CLI again.

const sea = require("node:sea");
const vm = require("node:vm");
const { dirname } = require("node:path");
const { pathToFileURL } = require("node:url");

const ENTRY_VARIABLE = "NEXUS_SEA_ENTRY";
const ENTRIES = ["cli", "server", "agent"];

const requested = process.env[ENTRY_VARIABLE] || "cli";
delete process.env[ENTRY_VARIABLE];

if (!ENTRIES.includes(requested)) {
  process.stderr.write(`nexus: ${ENTRY_VARIABLE} must be one of ${ENTRIES.join(", ")} (got "${requested}")\n`);
  process.exit(2);
}

let source;
try {
  source = sea.getAsset(`${requested}.mjs`, "utf8");
} catch {
  process.stderr.write(`nexus: this binary was built without the ${requested} program; install @nexus/${requested} with npm instead\n`);
  process.exit(1);
}

// The bundles leave `require` and "where am I" (import.meta.url, __dirname, …) to these globals
// (see bundle.mjs): CommonJS dependencies reach Node's builtins through `require`, and code that
// asks where it lives is told the executable's path, which is where it does live.
globalThis.require = require;
globalThis.__nexusSeaFilename = process.execPath;
globalThis.__nexusSeaDirname = dirname(process.execPath);
globalThis.__nexusSeaModuleUrl = pathToFileURL(process.execPath).href;

// vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER is marked experimental and says so once; the
// warning is about this launcher, not something the user can act on, so only it is dropped.
const emitWarning = process.emitWarning;
process.emitWarning = function dropLoaderWarning(warning, ...rest) {
  if (String(warning).includes("USE_MAIN_CONTEXT_DEFAULT_LOADER")) return;
  return emitWarning.call(process, warning, ...rest);
};
const importModule = new vm.Script("(url) => import(url)", {
  filename: "nexus-sea-launcher",
  importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
}).runInThisContext();

// `//# sourceURL` names the module in stack traces instead of the whole data: URL.
const url = `data:text/javascript;base64,${Buffer.from(`${source}\n//# sourceURL=nexus-${requested}.mjs\n`).toString("base64")}`;
source = undefined;

importModule(url).catch((error) => {
  process.stderr.write(`nexus: the ${requested} program failed: ${error && error.stack ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
