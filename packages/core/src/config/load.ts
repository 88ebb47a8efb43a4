// Finds and parses a project's `.nexus/config.yaml` (or `.nexus/config.yml`).
import { readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { NexusError } from "../errors.js";
import {
  CONFIG_FILE,
  CONFIG_FILE_ALT,
  configError,
  formatConfigIssue,
  parseProjectConfig,
  type ConfigWarning,
  type ParsedProjectConfig,
} from "./parse.js";

export interface LoadedProjectConfig extends ParsedProjectConfig {
  /** As shown in messages, relative to the project directory: `.nexus/config.yaml`. */
  file: string;
  /** Absolute path of the file that was read. */
  path: string;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") return false;
    throw error;
  }
}

/**
 * Reads `<dir>/.nexus/config.yaml`, else `<dir>/.nexus/config.yml`. Returns `null` when the
 * project has neither (then detectors generate a config, SPEC §9). Throws invalid_request when
 * `dir` is not an existing directory and invalid_config when the file cannot be read or is invalid.
 */
export async function loadProjectConfig(dir: string): Promise<LoadedProjectConfig | null> {
  const root = resolve(dir);
  let rootIsDir: boolean;
  try {
    rootIsDir = (await stat(root)).isDirectory();
  } catch {
    rootIsDir = false;
  }
  if (!rootIsDir) {
    throw new NexusError("invalid_request", `project directory ${root} does not exist or is not a directory`, { details: { dir: root } });
  }

  const candidates = [CONFIG_FILE, CONFIG_FILE_ALT];
  const present: string[] = [];
  for (const file of candidates) {
    const path = join(root, file);
    if (await isFile(path)) present.push(file);
    else if (await exists(path)) throw configError(file, [{ path: "", message: "is not a regular file", line: 1, column: 1 }], { path });
  }
  const file = present[0];
  if (file === undefined) return null;
  const path = join(root, file);

  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw configError(file, [{ path: "", message: `cannot be read: ${(error as Error).message}`, line: 1, column: 1 }], { path });
  }
  const parsed = parseProjectConfig(text, { file });
  const warnings: ConfigWarning[] = [...parsed.warnings];
  if (present.length > 1) {
    const issue = { path: "", message: `${CONFIG_FILE_ALT} also exists and is ignored; delete one of the two`, line: 1, column: 1 };
    warnings.unshift({ ...issue, code: "ignored", file, text: formatConfigIssue(file, issue) });
  }
  return { config: parsed.config, warnings, file, path };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
