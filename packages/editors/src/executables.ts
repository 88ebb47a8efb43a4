// Finding programs on the PATH the plugin was given (not necessarily process.env's),
// and asking them for their version without a shell.
import { execFile } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import type { Op } from "@nexus/core";

export type Env = Readonly<Record<string, string | undefined>>;

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The absolute path of `name` on `env.PATH`, or undefined. Relative PATH entries
 * (including the empty one, which means the current directory) are skipped: a
 * repository could otherwise plant a `code` that nexus would run.
 */
export function findExecutable(name: string, env: Env, platform: NodeJS.Platform = process.platform): string | undefined {
  const extensions = platform === "win32" ? ["", ...(env.PATHEXT ?? ".COM;.EXE;.BAT;.CMD").split(";").filter(Boolean)] : [""];
  for (const dir of (env.PATH ?? "").split(platform === "win32" ? ";" : delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    for (const extension of extensions) {
      const candidate = join(dir, name + extension);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}

/** The first of `names` found on PATH, with the name that matched. */
export function findFirstExecutable(names: readonly string[], env: Env): { name: string; path: string } | undefined {
  for (const name of names) {
    const path = findExecutable(name, env);
    if (path) return { name, path };
  }
  return undefined;
}

export const VERSION_PROBE_TIMEOUT_MS = 3000;
const VERSION_PATTERN = /\bv?(\d+\.\d+(?:\.\d+)*(?:-[0-9A-Za-z.]+)?)/;

/** The version in a program's `--version` output: `NVIM v0.9.5` → `0.9.5`. */
export function parseVersion(output: string): string | undefined {
  const firstLine = output.split(/\r?\n/).map((line) => line.trim()).find((line) => line !== "");
  if (!firstLine) return undefined;
  return VERSION_PATTERN.exec(firstLine)?.[1] ?? firstLine.slice(0, 80);
}

/** Plain string env for a child process (undefined entries dropped). */
export function childEnv(env: Env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
}

/**
 * Runs `<path> <args>` (no shell, short time limit, stdin closed) and parses a version.
 * Never throws: a program that hangs, fails or prints nothing has no known version.
 */
export function probeVersion(path: string, args: readonly string[], op: Op, env: Env, timeoutMs = VERSION_PROBE_TIMEOUT_MS): Promise<string | undefined> {
  return new Promise((resolve) => {
    try {
      const child = execFile(
        path,
        [...args],
        { timeout: timeoutMs, killSignal: "SIGKILL", signal: op.signal, env: childEnv(env), windowsHide: true, maxBuffer: 64 * 1024, encoding: "utf8" },
        (error, stdout, stderr) => {
          if (error && !stdout) {
            op.log.debug({ path, err: error.message }, "version probe failed");
            resolve(undefined);
            return;
          }
          resolve(parseVersion(stdout) ?? parseVersion(stderr));
        },
      );
      child.stdin?.end();
    } catch (error) {
      op.log.debug({ path, err: (error as Error).message }, "version probe could not start");
      resolve(undefined);
    }
  });
}
