import type { FileView, ServiceHint, ServiceHintService } from "@nexus/core";
import { PLUGIN_API_VERSION, defineDetector } from "@nexus/core";
import { displayDir, joinRepoPath, normalizeRepoPath } from "../files/paths.js";
import { serviceName } from "../util/names.js";
import { asObject, asString, asStringArray, readYamlFile, type JsonObject } from "../util/parse.js";
import { isPort, parsePort } from "../util/ports.js";
import { shellJoin } from "../util/shell.js";

const DETECTOR = "compose";
export const COMPOSE_FILES = ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"];
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface ComposePort {
  /** The port the process listens on (the container side). */
  target: number;
  published?: number;
}

/** `ports:` entries: `3000`, `"8080:80"`, `"127.0.0.1:8080:80/tcp"`, `"3000-3005:3000-3005"`, `{ target, published }`. */
function parsePortEntry(entry: unknown): ComposePort | undefined {
  if (isPort(entry)) return { target: entry };
  const long = asObject(entry);
  if (long) {
    if (asString(long.protocol) === "udp") return undefined;
    const target = isPort(long.target) ? long.target : parsePort(asString(long.target));
    const published = isPort(long.published) ? long.published : parsePort(asString(long.published)?.split("-")[0]);
    return target === undefined ? undefined : { target, ...(published !== undefined ? { published } : {}) };
  }
  const text = asString(entry);
  if (text === undefined || /\/udp$/.test(text)) return undefined;
  const parts = text.replace(/\/tcp$/, "").split(":");
  const target = parsePort(parts.at(-1)?.split("-")[0]);
  const published = parts.length > 1 ? parsePort(parts.at(-2)?.split("-")[0]) : undefined;
  return target === undefined ? undefined : { target, ...(published !== undefined ? { published } : {}) };
}

/** Compose escapes a literal `$` as `$$`; a shell wants `$`. */
function composeCommand(value: unknown): string | undefined {
  if (typeof value === "string") return value.trim() === "" ? undefined : value.replaceAll("$$", "$");
  const argv = asStringArray(value);
  return argv.length === 0 ? undefined : shellJoin(argv.map((arg) => arg.replaceAll("$$", "$")));
}

/** One Dockerfile instruction's arguments: exec form (JSON array) or shell form. */
function instructionCommand(args: string): string | undefined {
  const trimmed = args.trim();
  if (trimmed.startsWith("[")) {
    try {
      const argv: unknown = JSON.parse(trimmed);
      return composeCommand(argv);
    } catch {
      return undefined;
    }
  }
  return trimmed === "" ? undefined : trimmed;
}

/** What the image built from this Dockerfile runs: its last ENTRYPOINT followed by its last CMD. */
function dockerfileCommand(dockerfile: string): string | undefined {
  const lines = dockerfile.replace(/[ \t]*\\\r?\n\s*/g, " ").split(/\r?\n/);
  let entrypoint: string | undefined;
  let cmd: string | undefined;
  for (const line of lines) {
    const match = /^\s*(CMD|ENTRYPOINT)\s+(.*)$/i.exec(line);
    if (!match) continue;
    if (match[1]!.toUpperCase() === "CMD") cmd = instructionCommand(match[2]!);
    else entrypoint = instructionCommand(match[2]!);
  }
  const parts = [entrypoint, cmd].filter((part): part is string => part !== undefined);
  return parts.length === 0 ? undefined : parts.join(" ");
}

interface BuildSource {
  /** The build context, which is where the command runs in the workspace. */
  dir: string;
  dockerfile: string;
}

function buildSource(build: unknown, composeDir: string): BuildSource | undefined {
  const object = asObject(build);
  const context = asString(object?.context) ?? asString(build) ?? (object ? "." : undefined);
  if (context === undefined || /^[a-z]+:\/\//i.test(context) || context.startsWith("git@")) return undefined;
  const dir = normalizeRepoPath(joinRepoPath(composeDir, context));
  const dockerfile = normalizeRepoPath(asString(object?.dockerfile) ?? "Dockerfile");
  if (dir === undefined || dockerfile === undefined) return undefined;
  return { dir: displayDir(dir), dockerfile: joinRepoPath(dir, dockerfile) };
}

/** Services reach each other by compose service name; in a workspace they all share localhost. */
function localizeHosts(value: string, hosts: readonly string[]): string {
  let result = value;
  for (const host of hosts) {
    const escaped = host.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    result = result === host ? "localhost" : result.replace(new RegExp(`(?<=[/@])${escaped}(?=[:/?]|$)`, "g"), "localhost");
  }
  return result;
}

function environment(value: unknown, hosts: readonly string[]): { env: Record<string, string>; localized: boolean } {
  const pairs: [string, string][] = Array.isArray(value)
    ? asStringArray(value).filter((item) => item.includes("=")).map((item) => [item.slice(0, item.indexOf("=")), item.slice(item.indexOf("=") + 1)])
    : Object.entries(asObject(value) ?? {}).filter(([, v]) => v !== null && v !== undefined && typeof v !== "object").map(([k, v]) => [k, String(v)]);
  const env: Record<string, string> = {};
  let localized = false;
  for (const [key, raw] of pairs) {
    if (!ENV_NAME.test(key)) continue;
    const local = localizeHosts(raw, hosts);
    localized ||= local !== raw;
    env[key] = local;
  }
  return { env, localized };
}

function dependsOn(value: unknown): string[] {
  const names = Array.isArray(value) ? asStringArray(value) : Object.keys(asObject(value) ?? {});
  return names.map((name) => serviceName(name));
}

function healthCheck(definition: JsonObject, port: number | undefined): ServiceHintService["health_check"] | undefined {
  if (port !== undefined) return { type: "tcp" };
  const check = asObject(definition.healthcheck);
  if (!check || check.disable === true) return undefined;
  const test = check.test;
  const argv = asStringArray(test);
  if (typeof test === "string") return { type: "exec", command: test };
  if (argv[0] === "CMD-SHELL" && argv[1]) return { type: "exec", command: argv[1] };
  if (argv[0] === "CMD" && argv.length > 1) return { type: "exec", command: shellJoin(argv.slice(1)) };
  return undefined;
}

function serviceHint(files: FileView, file: string, rawName: string, definition: JsonObject, hosts: readonly string[], detector: string): ServiceHint {
  const name = serviceName(rawName);
  const slash = file.lastIndexOf("/");
  const composeDir = slash === -1 ? "" : file.slice(0, slash);
  const ports = (Array.isArray(definition.ports) ? definition.ports : []).map(parsePortEntry).filter((p): p is ComposePort => p !== undefined);
  const exposed = (Array.isArray(definition.expose) ? definition.expose : []).map((entry) => parsePortEntry(typeof entry === "number" ? entry : String(entry))).filter((p): p is ComposePort => p !== undefined);
  const port = ports[0] ?? exposed[0];
  const portReason = ports[0]
    ? `port ${ports[0].target}${ports[0].published !== undefined && ports[0].published !== ports[0].target ? ` (published as ${ports[0].published}; the process listens on ${ports[0].target})` : ""}`
    : exposed[0] ? `port ${exposed[0].target} (exposed to other services only, so not forwarded)` : "no port";

  const declared = [composeCommand(definition.entrypoint), composeCommand(definition.command)].filter((part): part is string => part !== undefined);
  let command = declared.length > 0 ? declared.join(" ") : undefined;
  let commandReason = "its `entrypoint`/`command`";
  const build = buildSource(definition.build, composeDir);
  const dir = build?.dir ?? ".";
  if (command === undefined && build) {
    command = dockerfileCommand(files.read(build.dockerfile) ?? "");
    commandReason = `the CMD of ${build.dockerfile} (its build steps are not replayed; check it)`;
  }
  if (command === undefined) {
    const image = asString(definition.image);
    return {
      detector,
      dir: ".",
      reason: `compose service \`${rawName}\` in ${file} ${image ? `runs the image ${image}` : "has no build"} and no \`command\`: nexus runs services as processes in the workspace, so add one by hand (${portReason})`,
    };
  }

  const { env, localized } = environment(definition.environment, hosts);
  const depends = dependsOn(definition.depends_on);
  const health = healthCheck(definition, port?.target);
  const service: ServiceHintService = {
    name,
    command,
    ...(port ? { port: port.target } : {}),
    ...(port && !ports[0] ? { expose: false } : {}),
    ...(depends.length > 0 ? { depends_on: depends } : {}),
    ...(Object.keys(env).length > 0 ? { env } : {}),
    ...(health ? { health_check: health } : {}),
  };
  const notes = [localized ? "other services' hostnames in its environment now point at localhost" : "", definition.env_file ? "its env_file is not copied" : ""].filter(Boolean);
  return {
    detector,
    dir,
    reason: `service \`${name}\` from compose service \`${rawName}\` in ${file}: command from ${commandReason}; ${portReason}${notes.length ? `; ${notes.join("; ")}` : ""}`,
    service,
  };
}

/**
 * One hint per service of a compose file (a service, or why there is none). Also used by the
 * devcontainer detector for the compose file a devcontainer.json names; `skip` leaves out the
 * service that is the dev container itself.
 */
export function composeFileHints(files: FileView, file: string, detector: string, skip: readonly string[] = []): ServiceHint[] {
  const compose = readYamlFile(files, file);
  if (!compose) return [];
  const services = asObject(compose.services) ?? {};
  const hosts = Object.keys(services);
  return Object.entries(services)
    .filter(([rawName]) => !skip.includes(rawName))
    .map(([rawName, definition]) => serviceHint(files, file, rawName, asObject(definition) ?? {}, hosts, detector));
}

export function detectCompose(files: FileView): ServiceHint[] {
  const present = COMPOSE_FILES.filter((file) => files.exists(file));
  const file = present[0];
  if (!file) return [];
  const several: ServiceHint[] = present.length > 1 ? [{ detector: DETECTOR, dir: ".", reason: `several compose files (${present.join(", ")}); used ${file} as docker compose does` }] : [];
  return [...several, ...composeFileHints(files, file, DETECTOR)];
}

export const composeDetector = defineDetector({
  name: DETECTOR,
  apiVersion: PLUGIN_API_VERSION,
  description: "compose.yaml / docker-compose.yml: one service per compose service",
  detect: detectCompose,
});
