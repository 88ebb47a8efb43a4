import { tmpdir } from "node:os";
import type { DetectorDescriptor, FileView, PluginContext, ServiceHint } from "@nexus/core";
import { NexusError, isPluginDescriptor, silentLogger, toNexusError } from "@nexus/core";
import { builtinDetectors } from "../builtin.js";
import { goModuleName } from "../detectors/go.js";
import { pythonProjectName } from "../detectors/python.js";
import { joinRepoPath, normalizeRepoPath } from "../files/paths.js";
import { SKIPPED_DIRECTORIES } from "../files/skipped.js";
import { scopeFileView } from "../files/scope.js";
import { projectName, serviceName } from "../util/names.js";
import { asString, readJsonFile } from "../util/parse.js";
import { mergeHints } from "./merge.js";
import { renderConfigYaml } from "./render.js";
import type { DetectionProblem, GeneratedConfig, Guess } from "./types.js";

/** A detector as code hands it over: a descriptor (optionally with options), or a created instance with its name. */
export type DetectorInput =
  | DetectorDescriptor<any>
  | readonly [DetectorDescriptor<any>, unknown]
  | { name: string; detect(files: FileView): ServiceHint[] };

export interface DetectProjectOptions {
  /** Detectors in precedence order (earlier wins a conflict). Default: builtinDetectors. */
  detectors?: readonly DetectorInput[];
  /** Project name, e.g. the repository's directory name; default: the manifest's name, else "project". */
  name?: string;
  /** Handed to detector factories; detection itself does no I/O. */
  context?: PluginContext;
}

export interface DetectedProject {
  config: GeneratedConfig;
  /** The config as .nexus/config.yaml text, with the guesses as comments. */
  yaml: string;
  /** Every guess and merge decision, in order. */
  guesses: Guess[];
  /** Detectors that failed (an unreadable manifest, a broken plugin); the rest of the config is still generated. */
  problems: DetectionProblem[];
}

interface RunnableDetector {
  name: string;
  detect(files: FileView): ServiceHint[];
}

/** Top-level directories that hold examples, docs or tooling rather than the app. */
const NOT_APP_DIRECTORIES = new Set(["docs", "doc", "examples", "example", "test", "tests", "scripts", "vendor", "fixtures", "e2e"]);

async function runnable(input: DetectorInput, context: PluginContext): Promise<RunnableDetector> {
  const [descriptor, options] = Array.isArray(input) ? (input as readonly [DetectorDescriptor<any>, unknown]) : [input as DetectorDescriptor<any> | RunnableDetector, undefined];
  if (!isPluginDescriptor(descriptor)) return descriptor as RunnableDetector;
  if (descriptor.kind !== "detector") {
    throw new NexusError("invalid_config", `${descriptor.kind} plugin "${descriptor.name}" is not a detector`, { details: { name: descriptor.name, kind: descriptor.kind } });
  }
  const parsed = descriptor.options ? descriptor.options.parse(options ?? {}) : options;
  const instance = await descriptor.create(context, parsed);
  return { name: descriptor.name, detect: (files) => instance.detect(files) };
}

function runAll(detectors: readonly RunnableDetector[], files: FileView, dir: string, problems: DetectionProblem[]): ServiceHint[] {
  const hints: ServiceHint[] = [];
  for (const detector of detectors) {
    try {
      const found = detector.detect(dir === "" ? files : scopeFileView(files, dir));
      if (!Array.isArray(found)) throw new NexusError("internal_error", `detector "${detector.name}" returned ${typeof found}, not an array of hints`);
      for (const hint of found) {
        const hintDir = normalizeRepoPath(typeof hint.dir === "string" ? hint.dir : ".");
        if (hintDir === undefined) throw new NexusError("internal_error", `detector "${detector.name}" returned a hint for ${JSON.stringify(hint.dir)}, outside the repository`);
        hints.push({ ...hint, detector: typeof hint.detector === "string" && hint.detector ? hint.detector : detector.name, dir: joinRepoPath(dir, hintDir) || ".", reason: String(hint.reason ?? "") });
      }
    } catch (error) {
      problems.push({ detector: detector.name, error: toNexusError(error, { plugin: `detector:${detector.name}` }) });
    }
  }
  return hints;
}

/** A package found in `frontend/` names its service `frontend` (or `frontend-<name>` when it has several), not `web`. */
function nameAfterDirectory(hints: readonly ServiceHint[], dir: string): ServiceHint[] {
  const runnable = hints.filter((hint) => hint.service && hint.service.command.trim() !== "");
  return hints.map((hint) => {
    if (!hint.service || hint.service.command.trim() === "") return hint;
    const name = runnable.length === 1 ? serviceName(dir) : serviceName(`${dir}-${hint.service.name}`);
    return { ...hint, service: { ...hint.service, name } };
  });
}

const runsSomething = (hints: readonly ServiceHint[]): boolean => hints.some((hint) => hint.service && hint.service.command.trim() !== "");

/** The name for the config: given, else from the root manifest, else "project". */
function nameFor(files: FileView, given: string | undefined): string {
  if (given) return projectName(given);
  const fromManifest = (): string | undefined => {
    try {
      return asString(readJsonFile(files, "package.json")?.name) ?? pythonProjectName(files) ?? goModuleName(files);
    } catch {
      return undefined; // an unreadable manifest is already reported by its detector
    }
  };
  return projectName(fromManifest() ?? "project");
}

/**
 * Runs the detectors over a repository without a config and merges what they find into one
 * config (SPEC §9). When nothing runnable is at the root, each top-level directory is tried
 * as a package (a `frontend/` + `backend/` layout); npm/yarn/pnpm workspaces are expanded by
 * the node detector, which knows the root's package manager.
 */
export async function detectProject(files: FileView, options: DetectProjectOptions = {}): Promise<DetectedProject> {
  const context = options.context ?? { log: silentLogger, env: {}, dataDir: tmpdir() };
  const detectors = await Promise.all((options.detectors ?? builtinDetectors).map((input) => runnable(input, context)));
  const problems: DetectionProblem[] = [];
  let hints = runAll(detectors, files, "", problems);
  const extraGuesses: Guess[] = [];

  if (!runsSomething(hints)) {
    const tried: string[] = [];
    for (const entry of files.list("")) {
      const name = entry.slice(0, -1);
      if (!entry.endsWith("/") || name.startsWith(".") || SKIPPED_DIRECTORIES.has(name) || NOT_APP_DIRECTORIES.has(name)) continue;
      const found = runAll(detectors, files, name, problems);
      if (runsSomething(found)) {
        hints = hints.concat(nameAfterDirectory(found, name));
        tried.push(name);
      }
    }
    if (tried.length > 0) extraGuesses.push({ detector: "nexus", dir: ".", reason: `nothing runnable at the root, so top-level directories were detected as packages: ${tried.join(", ")}` });
  }

  const merged = mergeHints(hints);
  const config: GeneratedConfig = { version: 1, name: nameFor(files, options.name), ...merged.config };
  const guesses: Guess[] = [
    ...hints.map((hint) => ({ detector: hint.detector, dir: hint.dir, reason: hint.reason })),
    ...extraGuesses,
    ...merged.notes,
  ];
  return { config, yaml: renderConfigYaml(config, { guesses, problems }), guesses, problems };
}
