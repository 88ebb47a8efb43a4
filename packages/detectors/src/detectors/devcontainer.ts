import type { FileView, ServiceHint } from "@nexus/core";
import { PLUGIN_API_VERSION, defineDetector } from "@nexus/core";
import { normalizeRepoPath } from "../files/paths.js";
import { asObject, asString, asStringArray, readJsoncFile, type JsonObject } from "../util/parse.js";
import { isPort, parsePort } from "../util/ports.js";
import { shellQuote } from "../util/shell.js";
import { composeFileHints } from "./compose.js";

const DETECTOR = "devcontainer";
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The devcontainer.json in use: the root ones first, then the first named configuration in .devcontainer/<name>/. */
function findConfig(files: FileView): { path: string; others: string[] } | undefined {
  const named = files
    .list(".devcontainer")
    .filter((entry) => entry.endsWith("/"))
    .map((entry) => `.devcontainer/${entry}devcontainer.json`)
    .filter((path) => files.exists(path));
  const all = [".devcontainer/devcontainer.json", ".devcontainer.json"].filter((path) => files.exists(path)).concat(named);
  return all[0] ? { path: all[0], others: all.slice(1) } : undefined;
}

interface LifecycleCommand {
  command: string;
  /** Set when an object form's parallel commands are run one after another. */
  sequential?: boolean;
  /** ${…} variables only the devcontainer CLI can resolve (`${localEnv:…}`), left as written. */
  unresolved: string[];
}

const VARIABLE = /\$\{([^}]+)\}/g;

/**
 * devcontainer.json variables that have a meaning in the workspace, as shell expansions:
 * lifecycle scripts run in the repo directory, in the container's environment.
 */
function shellExpansion(variable: string): string | undefined {
  if (variable === "containerWorkspaceFolder") return "$PWD";
  const env = /^containerEnv:([A-Za-z_][A-Za-z0-9_]*)(?::(.*))?$/.exec(variable);
  if (!env) return undefined;
  return env[2] === undefined ? `\${${env[1]}}` : `\${${env[1]}:-${env[2].replace(/["\\$`}]/g, "\\$&")}}`;
}

/** A shell-form command: variables become expansions in place. */
function substituteString(command: string, unresolved: string[]): string {
  return command.replace(VARIABLE, (whole, variable: string) => {
    const expansion = shellExpansion(variable);
    if (expansion === undefined) unresolved.push(whole);
    return expansion ?? whole;
  });
}

/** One argument of an argument vector: literal parts single-quoted, expansions double-quoted. */
function substituteArgument(arg: string, unresolved: string[]): string {
  const parts: string[] = [];
  let literal = "";
  let last = 0;
  for (const match of arg.matchAll(VARIABLE)) {
    literal += arg.slice(last, match.index);
    last = match.index + match[0].length;
    const expansion = shellExpansion(match[1]!);
    if (expansion === undefined) {
      unresolved.push(match[0]);
      literal += match[0];
      continue;
    }
    if (literal !== "") parts.push(shellQuote(literal));
    literal = "";
    parts.push(`"${expansion}"`);
  }
  literal += arg.slice(last);
  if (literal !== "" || parts.length === 0) parts.push(shellQuote(literal));
  return parts.join("");
}

/**
 * Lifecycle commands come in three forms: a string for the shell, an argument vector
 * (quoted here so it means the same under sh), or an object of named commands that
 * devcontainers run in parallel and nexus runs one after another.
 */
function lifecycleCommand(value: unknown): LifecycleCommand | undefined {
  const unresolved: string[] = [];
  if (typeof value === "string") return value.trim() === "" ? undefined : { command: substituteString(value.trim(), unresolved), unresolved };
  if (Array.isArray(value)) {
    const argv = asStringArray(value);
    return argv.length === 0 ? undefined : { command: argv.map((arg) => substituteArgument(arg, unresolved)).join(" "), unresolved };
  }
  const object = asObject(value);
  if (!object) return undefined;
  const commands = Object.values(object).map(lifecycleCommand).filter((c): c is LifecycleCommand => c !== undefined);
  if (commands.length === 0) return undefined;
  return { command: commands.map((c) => c.command).join(" && "), sequential: commands.length > 1, unresolved: commands.flatMap((c) => c.unresolved) };
}

function describe(key: string, path: string, command: LifecycleCommand): string {
  const notes = [
    command.sequential ? "its commands one after another; devcontainers run them in parallel" : "",
    command.unresolved.length > 0 ? `${[...new Set(command.unresolved)].join(", ")} cannot be resolved in the workspace and is left as written` : "",
  ].filter(Boolean);
  return `\`${key}\` from ${path}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`;
}

/** forwardPorts / appPort entries: `3000`, `"3000"`, or `"db:5432"` (a port of another compose service). */
function forwardedPort(entry: unknown): { port: number; host?: string } | undefined {
  if (isPort(entry)) return { port: entry };
  const text = asString(entry);
  if (text === undefined) return undefined;
  const match = /^(?:([\w.-]+):)?(\d{1,5})$/.exec(text.trim());
  const port = parsePort(match?.[2]);
  if (!match || port === undefined) return undefined;
  return match[1] && match[1] !== "localhost" && match[1] !== "127.0.0.1" ? { port, host: match[1] } : { port };
}

function environment(config: JsonObject): { env: Record<string, string>; skipped: string[] } {
  const env: Record<string, string> = {};
  const skipped: string[] = [];
  // remoteEnv is what tools and terminals see, so it wins over containerEnv like in a devcontainer.
  for (const source of [asObject(config.containerEnv), asObject(config.remoteEnv)]) {
    for (const [key, value] of Object.entries(source ?? {})) {
      if (typeof value !== "string" || !ENV_NAME.test(key)) continue;
      // ${localEnv:…} and ${containerEnv:…} are resolved by the devcontainer CLI on the user's machine; nexus cannot.
      if (value.includes("${")) skipped.push(key);
      else env[key] = value;
    }
  }
  return { env, skipped: skipped.sort() };
}

export function detectDevcontainer(files: FileView): ServiceHint[] {
  const found = findConfig(files);
  if (!found) return [];
  const { path } = found;
  const config = readJsoncFile(files, path)!;
  const hints: ServiceHint[] = [];
  const hint = (reason: string, extra: Omit<ServiceHint, "detector" | "dir" | "reason"> = {}): void => {
    hints.push({ detector: DETECTOR, dir: ".", reason, ...extra });
  };

  if (found.others.length > 0) hint(`several devcontainer configurations; used ${path}, ignored ${found.others.join(", ")}`);
  const image = asString(config.image) ?? (config.dockerFile || config.build ? "a Dockerfile" : config.dockerComposeFile ? "a compose service" : undefined);
  if (image || config.features) {
    hint(`${path} builds its container from ${image ?? "an image"}${config.features ? " with features" : ""}; nexus uses its own base image, so tools that image or its features install may be missing`);
  }

  const setupKeys = ["onCreateCommand", "updateContentCommand", "postCreateCommand"] as const;
  for (const key of setupKeys) {
    const command = lifecycleCommand(config[key]);
    if (command) hint(`setup runs ${describe(key, path, command)}`, { setup: [command.command] });
  }
  const postStart = lifecycleCommand(config.postStartCommand);
  if (postStart) hint(`post_start runs ${describe("postStartCommand", path, postStart)}`, { post_start: [postStart.command] });
  if (lifecycleCommand(config.postAttachCommand)) hint(`\`postAttachCommand\` in ${path} is not used: it runs when an editor attaches, which nexus does not track`);

  const { env, skipped } = environment(config);
  if (Object.keys(env).length > 0) hint(`env from containerEnv/remoteEnv in ${path}`, { env });
  if (skipped.length > 0) hint(`env ${skipped.join(", ")} from ${path} not copied: their values use \${…} variables only the devcontainer CLI resolves`);

  // forwardPorts say which ports matter, not what listens on them: the services come from the
  // detectors that find what starts them (or from the compose file below), so ports are reported.
  const attributes = asObject(config.portsAttributes) ?? {};
  const entries = [...(Array.isArray(config.forwardPorts) ? config.forwardPorts : []), ...(Array.isArray(config.appPort) ? config.appPort : config.appPort === undefined ? [] : [config.appPort])];
  const ports = [...new Map(entries.map(forwardedPort).filter((p) => p !== undefined).map((p) => [p.port, p])).values()];
  if (ports.length > 0) {
    const described = ports.map(({ port, host }) => {
      const label = asString(asObject(attributes[String(port)])?.label);
      return `${host ? `${host}:` : ""}${port}${label ? ` ("${label}")` : ""}`;
    });
    hint(`${path} forwards ${described.join(", ")}; services on them come from what starts them (a script, a compose service), not from the forward itself`);
  }

  // A compose-based devcontainer: its other compose services (databases, caches) are the project's
  // services; the one named by `service` is the dev container itself, which the workspace replaces.
  const composeFiles = (Array.isArray(config.dockerComposeFile) ? asStringArray(config.dockerComposeFile) : [asString(config.dockerComposeFile)]).filter((f): f is string => f !== undefined);
  const devcontainerDir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
  const own = asString(config.service);
  for (const file of composeFiles) {
    const composePath = normalizeRepoPath(devcontainerDir === "" ? file : `${devcontainerDir}/${file}`);
    if (composePath === undefined || composePath === "") continue;
    hints.push(...composeFileHints(files, composePath, DETECTOR, own ? [own] : []));
  }
  return hints;
}

export const devcontainerDetector = defineDetector({
  name: DETECTOR,
  apiVersion: PLUGIN_API_VERSION,
  description: "devcontainer.json: lifecycle commands, forwarded ports, environment",
  detect: detectDevcontainer,
});
