// Reading manifests from the file view. A manifest that cannot be parsed is an
// invalid_config error naming the file and the position, never a silent skip.
import { parse as parseJsonc, printParseErrorCode, type ParseError } from "jsonc-parser";
import { parse as parseToml, TomlError } from "smol-toml";
import { parseDocument, isMap } from "yaml";
import type { FileView } from "@nexus/core";
import { NexusError } from "@nexus/core";

export type JsonObject = Record<string, unknown>;

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

function invalidFile(file: string, problem: string, position?: { line: number; column: number }, cause?: unknown): NexusError {
  const where = position ? `${file}:${position.line}:${position.column}` : file;
  return new NexusError("invalid_config", `${where}: ${problem}`, {
    cause,
    details: { file, ...(position ?? {}) },
    hint: `Fix ${file}, or write .nexus/config.yaml by hand.`,
  });
}

function expectObject(value: unknown, file: string, kind: string): JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalidFile(file, `expected ${kind} object at the top level`);
  }
  return value as JsonObject;
}

/** Strict JSON (package.json, composer-style manifests): comments and trailing commas are errors, as npm says. */
export function readJsonFile(files: FileView, path: string): JsonObject | undefined {
  return readJsonLike(files, path, false);
}

/** JSON with comments and trailing commas (devcontainer.json, tsconfig.json). */
export function readJsoncFile(files: FileView, path: string): JsonObject | undefined {
  return readJsonLike(files, path, true);
}

function readJsonLike(files: FileView, path: string, comments: boolean): JsonObject | undefined {
  const text = files.read(path);
  if (text === undefined) return undefined;
  const errors: ParseError[] = [];
  const value: unknown = parseJsonc(text, errors, { disallowComments: !comments, allowTrailingComma: comments, allowEmptyContent: false });
  const first = errors[0];
  if (first) throw invalidFile(path, `invalid JSON (${printParseErrorCode(first.error)})`, lineColumn(text, first.offset));
  return expectObject(value, path, "a JSON");
}

export function readTomlFile(files: FileView, path: string): JsonObject | undefined {
  const text = files.read(path);
  if (text === undefined) return undefined;
  try {
    return parseToml(text) as JsonObject;
  } catch (error) {
    if (error instanceof TomlError) {
      throw invalidFile(path, `invalid TOML (${error.message.split("\n")[0]})`, { line: error.line, column: error.column }, error);
    }
    throw invalidFile(path, `invalid TOML (${(error as Error).message})`, undefined, error);
  }
}

export function readYamlFile(files: FileView, path: string): JsonObject | undefined {
  const text = files.read(path);
  if (text === undefined) return undefined;
  const document = parseDocument(text, { uniqueKeys: false });
  const first = document.errors[0];
  if (first) {
    const position = first.linePos?.[0];
    throw invalidFile(path, `invalid YAML (${first.message.split("\n")[0]})`, position ? { line: position.line, column: position.col } : undefined, first);
  }
  if (document.contents === null) return {};
  if (!isMap(document.contents)) throw invalidFile(path, "expected a YAML mapping at the top level");
  return document.toJS({ maxAliasCount: 100 }) as JsonObject;
}

/** Narrowing helpers: manifests are user data, so every field is checked before use. */
export function asObject(value: unknown): JsonObject | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

export function asString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export function asStringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

export function asStringRecord(value: unknown): Record<string, string> {
  const object = asObject(value);
  if (!object) return {};
  return Object.fromEntries(Object.entries(object).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
}
