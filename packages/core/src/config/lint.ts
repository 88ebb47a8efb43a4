// Warnings that do not stop a config from loading: old forms (each with the form to write
// instead) and unknown keys (with a did-you-mean). Works on the raw YAML data, so paths and
// positions are where the user wrote them.
import { CONFIG_KEYS } from "./schema.js";
import type { DataPath } from "./positions.js";

/** deprecated: an old form, still read; unknown_key: not read at all; ignored: read, but this part has no effect. */
export type LintCode = "deprecated" | "unknown_key" | "ignored";

export interface LintFinding {
  code: LintCode;
  path: DataPath;
  /** Where to point: the key (unknown or renamed keys) or the value (old value forms). */
  target: "key" | "value";
  message: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A bare number of seconds becomes "10s"; anything else is shown as written. */
function asDuration(value: unknown): string {
  return typeof value === "number" ? `${value}s` : String(value);
}

function parseUrl(url: unknown): URL | undefined {
  try {
    return typeof url === "string" ? new URL(url) : undefined;
  } catch {
    return undefined;
  }
}

/** `path: /health`, and `port: 8080` when the URL names a port other than the service's. */
function pathFromUrl(url: unknown, servicePort: unknown): string {
  const parsed = parseUrl(url);
  const port = parsed?.port && Number(parsed.port) !== servicePort ? `, port: ${parsed.port}` : "";
  return `path: ${parsed ? `${parsed.pathname}${parsed.search}` : "/"}${port}`;
}

/** `{ type: http, path: /health }` as the user would write it, from an old URL. */
function httpCheckFromUrl(url: unknown, servicePort: unknown, extra: Record<string, unknown> = {}): string {
  const parts: string[] = ["type: http", pathFromUrl(url, servicePort)];
  for (const field of ["interval", "timeout", "start_period"]) {
    if (extra[field] !== undefined) parts.push(`${field}: ${asDuration(extra[field])}`);
  }
  if (extra.retries !== undefined) parts.push(`retries: ${String(extra.retries)}`);
  return `{ ${parts.join(", ")} }`;
}

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "0.0.0.0"]);

function nonLocalHost(url: unknown): string | undefined {
  const host = parseUrl(url)?.hostname;
  return host === undefined || LOCAL_HOSTS.has(host) ? undefined : host;
}

/** Levenshtein distance, for did-you-mean on unknown keys. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function suggestion(key: string, known: readonly string[]): string {
  const best = known
    .map((candidate) => ({ candidate, d: distance(key.toLowerCase(), candidate) }))
    .filter(({ d }) => d <= 2)
    .sort((x, y) => x.d - y.d)[0];
  return best ? `; did you mean "${best.candidate}"?` : "";
}

function unknownKeys(value: unknown, known: readonly string[], at: DataPath, where: string, findings: LintFinding[]): void {
  if (!isRecord(value)) return;
  for (const key of Object.keys(value)) {
    // `x-` keys are extension fields (as in Compose files), e.g. a home for YAML anchors.
    if (known.includes(key) || key.startsWith("x-")) continue;
    findings.push({ code: "unknown_key", path: [...at, key], target: "key", message: `unknown key "${key}" in ${where} is ignored${suggestion(key, known)}` });
  }
}

const RENAMED_ENV = 'environment is deprecated; rename it to "env"';

function lintService(name: string, service: unknown, findings: LintFinding[]): void {
  if (!isRecord(service)) return;
  const at = ["services", name];
  unknownKeys(service, CONFIG_KEYS.service, at, `service "${name}"`, findings);
  if (service.environment !== undefined) {
    findings.push({ code: "deprecated", path: [...at, "environment"], target: "key", message: RENAMED_ENV });
  }
  const healthCheck = service.health_check;
  if (typeof healthCheck === "string") {
    findings.push({
      code: "deprecated",
      path: [...at, "health_check"],
      target: "value",
      message: `a URL string as health_check is deprecated; write health_check: ${httpCheckFromUrl(healthCheck, service.port)}`,
    });
    warnNonLocal(healthCheck, [...at, "health_check"], findings);
  }
  if (isRecord(healthCheck)) {
    if (healthCheck.url !== undefined) {
      findings.push({ code: "deprecated", path: [...at, "health_check", "url"], target: "key", message: `health_check.url is deprecated; write ${pathFromUrl(healthCheck.url, service.port)}` });
      warnNonLocal(healthCheck.url, [...at, "health_check", "url"], findings);
    }
    warnIntegerTimeout(healthCheck.timeout, [...at, "health_check", "timeout"], findings);
  }
  if (isRecord(service.healthcheck)) {
    const old = service.healthcheck;
    findings.push({
      code: "deprecated",
      path: [...at, "healthcheck"],
      target: "key",
      message: `healthcheck is deprecated; write health_check: ${httpCheckFromUrl(old.url, service.port, old)}`,
    });
    warnNonLocal(old.url, [...at, "healthcheck", "url"], findings);
  }
  if (service.timeout !== undefined) {
    findings.push({
      code: "deprecated",
      path: [...at, "timeout"],
      target: "key",
      message: `timeout on a service is deprecated${typeof service.timeout === "number" ? " (and integer seconds are)" : ""}; write health_check: { timeout: ${asDuration(service.timeout)} }`,
    });
  }
}

/** `timeout: 10` was integer seconds; the unit is now written out. */
function warnIntegerTimeout(timeout: unknown, path: DataPath, findings: LintFinding[]): void {
  if (typeof timeout !== "number") return;
  findings.push({ code: "deprecated", path, target: "value", message: `timeout: ${timeout} (integer seconds) is deprecated; write timeout: ${timeout}s` });
}

function warnNonLocal(url: unknown, path: DataPath, findings: LintFinding[]): void {
  const host = nonLocalHost(url);
  if (host === undefined) return;
  findings.push({ code: "ignored", path, target: "value", message: `the host "${host}" is ignored: health checks connect to localhost inside the workspace` });
}

function lintLegacyProviders(providers: unknown, findings: LintFinding[]): void {
  if (!isRecord(providers)) return;
  const { default: chosen, ...named } = providers;
  const names = Object.keys(named);
  const provider = typeof chosen === "string" ? chosen : names.length === 1 ? names[0] : undefined;
  const block = provider === undefined ? undefined : named[provider];
  const image = isRecord(block) && typeof block.image === "string" ? block.image : undefined;
  const replacement = [provider !== undefined ? `provider: ${provider}` : undefined, image !== undefined ? `image: ${image}` : undefined].filter(Boolean).join(" and ");
  findings.push({
    code: "deprecated",
    path: ["providers"],
    target: "key",
    message: `providers is deprecated; write ${replacement || "provider: <name> and image: <reference>"} at the top level`,
  });
  for (const name of names) {
    const options = named[name];
    if (!isRecord(options)) continue;
    for (const key of Object.keys(options)) {
      if (key === "image") continue;
      findings.push({ code: "ignored", path: ["providers", name, key], target: "key", message: `providers.${name}.${key} is ignored: only image is read from the old providers block` });
    }
    if (name !== provider && options.image !== undefined) {
      findings.push({ code: "ignored", path: ["providers", name, "image"], target: "key", message: `providers.${name}.image is ignored: ${name} is not the default provider` });
    }
  }
}

/** Deprecation and unknown-key findings, in document order of their parents. */
export function lintProjectConfig(raw: unknown): LintFinding[] {
  const findings: LintFinding[] = [];
  if (!isRecord(raw)) return findings;
  unknownKeys(raw, CONFIG_KEYS.project, [], "the config", findings);
  unknownKeys(raw.resources, CONFIG_KEYS.resources, ["resources"], "resources", findings);
  unknownKeys(raw.lifecycle, CONFIG_KEYS.lifecycle, ["lifecycle"], "lifecycle", findings);
  unknownKeys(raw.plugins, CONFIG_KEYS.plugins, ["plugins"], "plugins", findings);
  if (raw.environment !== undefined) findings.push({ code: "deprecated", path: ["environment"], target: "key", message: RENAMED_ENV });
  lintLegacyProviders(raw.providers, findings);
  if (isRecord(raw.services)) {
    for (const [name, service] of Object.entries(raw.services)) lintService(name, service, findings);
  }
  return findings;
}
