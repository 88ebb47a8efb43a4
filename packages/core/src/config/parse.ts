// Text → ProjectConfig, with every error and warning at file:line:column.
import { LineCounter, parseDocument, type YAMLError } from "yaml";
import type { z } from "zod";
import { NexusError } from "../errors.js";
import { lintProjectConfig, type LintCode } from "./lint.js";
import { YamlLocator, type DataPath } from "./positions.js";
import { crossFieldIssues, projectConfigSchema, type IssueLocation, type ProjectConfig } from "./schema.js";

/** Where the config lives, relative to the project directory. */
export const CONFIG_FILE = ".nexus/config.yaml";
/** Accepted when CONFIG_FILE is absent. */
export const CONFIG_FILE_ALT = ".nexus/config.yml";

/** Configs are small; a multi-megabyte file is a mistake, not a config. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** One problem in the file. `path` is dotted (`services.api.depends_on[0]`); "" for the document itself. */
export interface ConfigIssue {
  path: string;
  message: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** The service the problem is in, when it is in one. */
  service?: string;
}

export type ConfigWarningCode = LintCode | "yaml" | "empty";

export interface ConfigWarning extends ConfigIssue {
  code: ConfigWarningCode;
  file: string;
  /** The whole warning on one line: `.nexus/config.yaml:3:1: environment: environment is deprecated; ...` */
  text: string;
}

export interface ParsedProjectConfig {
  config: ProjectConfig;
  warnings: ConfigWarning[];
}

export interface ParseProjectConfigOptions {
  /** Shown in messages; default `.nexus/config.yaml`. */
  file?: string;
}

/** `services.api.depends_on[0]` */
export function formatDataPath(path: DataPath): string {
  return path.reduce<string>((text, segment) => {
    if (typeof segment === "number") return `${text}[${segment}]`;
    return text === "" ? String(segment) : `${text}.${String(segment)}`;
  }, "");
}

/** `.nexus/config.yaml:12:5: services.api.port: ...` */
export function formatConfigIssue(file: string, issue: ConfigIssue): string {
  return `${file}:${issue.line}:${issue.column}: ${issue.path ? `${issue.path}: ` : ""}${issue.message}`;
}

function byPosition(a: ConfigIssue, b: ConfigIssue): number {
  return a.line - b.line || a.column - b.column;
}

function makeIssue(path: DataPath, message: string, position: { line: number; column: number }): ConfigIssue {
  const service = path[0] === "services" && typeof path[1] === "string" ? path[1] : undefined;
  return { path: formatDataPath(path), message, line: position.line, column: position.column, ...(service !== undefined ? { service } : {}) };
}

/** The invalid_config error for a file: one `file:line:col: path: message` line per issue. */
export function configError(file: string, issues: readonly ConfigIssue[], extra: Record<string, unknown> = {}): NexusError {
  const errors = [...issues].sort(byPosition);
  return new NexusError("invalid_config", errors.map((issue) => formatConfigIssue(file, issue)).join("\n"), {
    details: { file, errors, ...extra },
  });
}

/**
 * zod issues with positions. Record-key and unknown-key issues point at the key. A union whose
 * value has the type of exactly one branch (a mapping given for `health_check`, a string for a
 * duration) reports that branch's specific issues instead of "matches no branch".
 */
function issuesFromZod(issues: readonly z.core.$ZodIssue[], locator: YamlLocator, prefix: PropertyKey[] = []): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...(issue.path as PropertyKey[])];
    if (issue.code === "invalid_union") {
      // zod reports a failed .int() as invalid_type too, but then the value's type did match.
      const wrongType = (inner: z.core.$ZodIssue) => inner.code === "invalid_type" && inner.path.length === 0 && inner.expected !== "int";
      const typed = issue.errors.filter((branch) => !branch.some(wrongType));
      if (typed.length === 1) {
        out.push(...issuesFromZod(typed[0]!, locator, path));
        continue;
      }
    }
    if (issue.code === "unrecognized_keys") {
      const where = formatDataPath(path);
      for (const key of issue.keys) {
        const at = [...path, key];
        out.push(makeIssue(at, `unknown key "${key}" in ${where}`, locator.locate(at, "key")));
      }
    } else if (issue.code === "invalid_key") {
      out.push(makeIssue(path, issue.issues[0]?.message ?? issue.message, locator.locate(path, "key")));
    } else {
      const where: IssueLocation = (issue.code === "custom" ? issue.params : undefined) ?? {};
      out.push(makeIssue(path, issue.message, locator.locate(where.locate ? [...prefix, ...where.locate] : path, where.target)));
    }
  }
  return out;
}

function yamlIssue(error: YAMLError, locator: YamlLocator): ConfigIssue {
  // yaml's messages can carry a source excerpt after the first line; the position says where.
  const message = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  return { path: "", message: `YAML: ${message}`, ...locator.at(error.pos[0]) };
}

/**
 * Parses and validates `.nexus/config.yaml` text. Returns the normalised config and warnings
 * (old forms, unknown keys); throws NexusError("invalid_config") listing every error, each at
 * file:line:column, in `details: { file, errors: ConfigIssue[], warnings }`.
 */
export function parseProjectConfig(text: string, options: ParseProjectConfigOptions = {}): ParsedProjectConfig {
  const file = options.file ?? CONFIG_FILE;
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) {
    throw configError(file, [{ path: "", message: `the file is larger than ${MAX_CONFIG_BYTES} bytes; a project config is a few dozen lines`, line: 1, column: 1 }]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true, uniqueKeys: true });
  const locator = new YamlLocator(doc, lines);
  if (doc.errors.length > 0) throw configError(file, doc.errors.map((error) => yamlIssue(error, locator)));

  const warnings: ConfigWarning[] = [];
  const warn = (code: ConfigWarningCode, issue: ConfigIssue) => warnings.push({ ...issue, code, file, text: formatConfigIssue(file, issue) });
  for (const warning of doc.warnings) warn("yaml", yamlIssue(warning, locator));

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw configError(file, [{ path: "", message: `YAML: ${(error as Error).message}`, line: 1, column: 1 }]);
  }
  if (raw === null || raw === undefined) {
    warn("empty", { path: "", message: "the file is empty: no services will be started", line: 1, column: 1 });
    raw = {};
  }

  for (const finding of lintProjectConfig(raw)) {
    warn(finding.code, makeIssue(finding.path, finding.message, locator.locate(finding.path, finding.target)));
  }
  warnings.sort(byPosition);

  const result = projectConfigSchema.safeParse(raw);
  if (!result.success) {
    const errors = issuesFromZod(result.error.issues, locator);
    // zod skips the schema's cross-field check after some errors; run it here so that every
    // problem is reported at once.
    const seen = new Set(errors.map((issue) => `${issue.path}\n${issue.message}`));
    for (const { path, message, locate, target } of crossFieldIssues(raw)) {
      const issue = makeIssue(path, message, locator.locate(locate ?? path, target));
      if (!seen.has(`${issue.path}\n${issue.message}`)) errors.push(issue);
    }
    throw configError(file, errors, { warnings });
  }
  return { config: result.data, warnings };
}
