// The project configuration a create sends: the repository's .nexus/config.yaml as
// written (the agent parses durations and sizes itself), or — when there is none — the
// one the detectors generate, with what they guessed.
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { parse } from "yaml";
import { CONFIG_FILE, loadProjectConfig, parseProjectConfig, serviceStartOrder, type ConfigWarning } from "@nexus/core";
import { detectProject, fileViewFromDirectory, type Guess } from "@nexus/detectors";

export interface CreateConfig {
  /** The document sent as `config`. */
  config: Record<string, unknown>;
  source: "file" | "detected";
  /** The file read, when source is `file`. */
  file?: string;
  services: string[];
  guesses: Guess[];
  warnings: ConfigWarning[];
  problems: Array<{ detector: string; message: string }>;
}

export async function projectConfigFor(dir: string, name = basename(dir)): Promise<CreateConfig> {
  const loaded = await loadProjectConfig(dir);
  if (loaded) {
    const raw = (parse(await readFile(loaded.path, "utf8"), { merge: true }) ?? {}) as Record<string, unknown>;
    return {
      config: raw,
      source: "file",
      file: loaded.path,
      services: serviceStartOrder(loaded.config.services),
      guesses: [],
      warnings: loaded.warnings,
      problems: [],
    };
  }
  const detected = await detectProject(fileViewFromDirectory(dir), { name });
  // What is sent must be what the server accepts: validate the generated document first.
  const { config } = parseProjectConfig(detected.yaml, { file: CONFIG_FILE });
  return {
    config: detected.config as unknown as Record<string, unknown>,
    source: "detected",
    services: serviceStartOrder(config.services),
    guesses: detected.guesses,
    warnings: [],
    problems: detected.problems.map((p) => ({ detector: p.detector, message: p.error.message })),
  };
}
