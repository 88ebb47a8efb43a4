// @nexus/cli: the `nexus` command. Commands are exported for in-process use and tests.
export { run, buildProgram } from "./program.js";
export type { CliIO, CommandContext } from "./io.js";
export { VERSION } from "./version.js";
