// The supervisor as a standalone ES module for the container's Node.js: the program's
// own source text plus the paths it works with.
import { supervisorProgram } from "./program.js";
import type { SupervisorPaths } from "./types.js";

/** Where the supervisor and its files live inside a workspace container. */
export const CONTAINER_PATHS = {
  script: "/opt/nexus/supervisor.mjs",
  workspaceFile: "/var/lib/nexus/workspace.json",
  stateDir: "/var/lib/nexus",
  logDir: "/var/log/nexus",
} as const;

export const STATUS_FILE_NAME = "status.json";

/**
 * The module text. `__name` is the helper esbuild (tsx, tsup with keepNames) calls to
 * preserve function names; inside the serialised function it must resolve to something.
 */
export function supervisorScript(paths: SupervisorPaths = CONTAINER_PATHS): string {
  const settings = JSON.stringify({ workspaceFile: paths.workspaceFile, stateDir: paths.stateDir, logDir: paths.logDir });
  return [
    "// nexus workspace supervisor, written by the nexus agent (replaced on every create).",
    "const __name = (target) => target;",
    `const supervisorProgram = ${supervisorProgram.toString()};`,
    `supervisorProgram(process.argv.slice(2), ${settings}).then(`,
    "  (code) => process.exit(code),",
    "  (error) => { console.error(error); process.exit(1); },",
    ");",
    "",
  ].join("\n");
}
