// Hints from every detector become one config. Deterministic: hints are taken in detector
// order (the order of the detectors list), then in the order each detector returned them;
// the first claim on a name, a port or an env key wins and every later decision is a guess.
import type { ServiceHint, ServiceHintService } from "@nexus/core";
import { displayDir } from "../files/paths.js";
import { SERVICE_NAME_PATTERN, serviceName } from "../util/names.js";
import { isPort } from "../util/ports.js";
import { inDirectory, shellQuote } from "../util/shell.js";
import type { GeneratedConfig, GeneratedService, Guess } from "./types.js";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Taken by the workspace's sshd; the config schema rejects it for services. */
const SSH_PORT = 22;

interface Entry {
  service: GeneratedService;
  detector: string;
  dir: string;
}

export interface MergeResult {
  config: Omit<GeneratedConfig, "version" | "name">;
  /** Decisions the merge made (renames, dropped duplicates, moved ports), in the Guess shape. */
  notes: Guess[];
}

/** One compound command (`if …; fi`, a loop): already a single link of an `&&` chain. */
const COMPOUND = /^(?:if|for|while|until|case)\s[\s\S]*\s(?:fi|done|esac)$/;
/** `||`, `;`, a lone `&` (not `&&` or `2>&1`), a newline or a comment would break out of an `&&` chain. */
const BREAKS_CHAIN = /\|\||;|(?<![&<>])&(?!&)|\n|#/;

/**
 * Install commands that do the same job: a devcontainer's `npm install` after the node
 * detector's `npm ci` would only install everything a second time.
 */
const SAME_STEP: Readonly<Record<string, string>> = {
  "npm ci": "npm", "npm install": "npm", "npm i": "npm",
  "pnpm install --frozen-lockfile": "pnpm", "pnpm install": "pnpm", "pnpm i": "pnpm",
  "yarn install --frozen-lockfile": "yarn", "yarn install --immutable": "yarn", "yarn install": "yarn", yarn: "yarn",
  "bun install": "bun", "bun i": "bun", "bundle install": "bundle", bundle: "bundle",
  "uv sync --frozen": "uv", "uv sync": "uv", "go mod download": "go",
};
const stepKey = (dir: string, command: string): string => `${dir}\0${SAME_STEP[command] ?? command}`;

/**
 * Drops the `&&` steps of a setup command that already ran in the same directory. Only plain
 * command chains are split: with quotes, substitutions or groups, `&&` may not be a separator.
 */
function splitSteps(command: string): string[] {
  return /['"`$(){}\\]/.test(command) || BREAKS_CHAIN.test(command) ? [command.trim()] : command.split("&&").map((step) => step.trim().replace(/\s+/g, " "));
}

function newSteps(command: string, dir: string, done: ReadonlyMap<string, string>): { command?: string; dropped: string[] } {
  const steps = splitSteps(command);
  const kept = steps.filter((step) => !done.has(stepKey(dir, step)));
  const dropped = steps.filter((step) => done.has(stepKey(dir, step))).map((step) => {
    const earlier = done.get(stepKey(dir, step))!;
    return earlier === step ? `\`${step}\`` : `\`${step}\` (as \`${earlier}\`)`;
  });
  return { ...(kept.length > 0 ? { command: kept.join(" && ") } : {}), dropped };
}

/** Lifecycle scripts run in the repo dir; a package's command runs in a subshell so the next line starts there again. */
function scoped(dir: string, command: string): string {
  return dir === "." ? command : `(cd ${shellQuote(dir)} && ${command})`;
}

/** A command as one link of an `&&` chain: `a || b` joined as `x && a || b` would run `b` after `x` failed. */
function chainLink(command: string): string {
  if (COMPOUND.test(command) || !BREAKS_CHAIN.test(command)) return command;
  return /[\n#]|&$/.test(command) ? `{ ${command}\n}` : `{ ${command}; }`;
}

/** Several commands as one script that stops at the first failure: `a &&\nb`. */
function script(commands: readonly string[]): string | undefined {
  if (commands.length === 0) return undefined;
  return commands.length === 1 ? commands[0] : commands.map(chainLink).join(" &&\n");
}

function healthCheck(check: ServiceHintService["health_check"]): GeneratedService["health_check"] | undefined {
  if (!check) return undefined;
  if (check.type === "http" && typeof check.path === "string") return { type: "http", path: check.path.startsWith("/") ? check.path : `/${check.path}` };
  if (check.type === "tcp") return { type: "tcp" };
  if (check.type === "exec" && typeof check.command === "string" && check.command.trim() !== "") return { type: "exec", command: check.command };
  return undefined;
}

function cleanEnv(env: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(env ?? {}).filter(([key, value]) => ENV_NAME.test(key) && typeof value === "string"));
}

/** A duplicate's dependencies and env join the service kept; the kept service's own values win. */
function absorb(kept: GeneratedService, dependsOn: readonly string[], env: Record<string, string>): string[] {
  const added: string[] = [];
  const newDependencies = dependsOn.filter((name) => !kept.depends_on?.includes(name));
  if (newDependencies.length > 0) {
    kept.depends_on = [...(kept.depends_on ?? []), ...newDependencies];
    added.push("depends_on");
  }
  const newEnv = Object.entries(env).filter(([key]) => kept.env?.[key] === undefined);
  if (newEnv.length > 0) {
    kept.env = { ...kept.env, ...Object.fromEntries(newEnv) };
    added.push(`env (${newEnv.map(([key]) => key).join(", ")})`);
  }
  return added;
}

export function mergeHints(hints: readonly ServiceHint[]): MergeResult {
  const notes: Guess[] = [];
  const note = (hint: ServiceHint, reason: string): void => {
    notes.push({ detector: hint.detector, dir: displayDir(hint.dir), reason });
  };
  const setup: string[] = [];
  /** Steps setup already runs, per directory (see SAME_STEP). */
  const setupSteps = new Map<string, string>();
  const postStart: string[] = [];
  const env: Record<string, string> = {};
  const services = new Map<string, Entry>();
  const portOwners = new Map<number, string>();
  /** Names a dropped duplicate was known by, so depends_on on it follows to the service kept. */
  const aliases = new Map<string, string>();

  for (const hint of hints) {
    const dir = displayDir(hint.dir);
    for (const command of hint.setup ?? []) {
      if (command.trim() === "") continue;
      const { command: remaining, dropped } = newSteps(command, dir, setupSteps);
      if (dropped.length > 0) note(hint, `setup already runs ${dropped.join(", ")}${dir === "." ? "" : ` in ${dir}`}, so ${remaining ? "only the rest of this command is added" : "this command is not repeated"}`);
      if (remaining === undefined) continue;
      setup.push(scoped(dir, remaining));
      for (const step of [...splitSteps(remaining), remaining.trim()]) if (!setupSteps.has(stepKey(dir, step))) setupSteps.set(stepKey(dir, step), step);
    }
    for (const command of hint.post_start ?? []) {
      const line = scoped(dir, command);
      if (command.trim() !== "" && !postStart.includes(line)) postStart.push(line);
    }
    for (const [key, value] of Object.entries(cleanEnv(hint.env))) {
      if (env[key] === undefined) env[key] = value;
      else if (env[key] !== value) note(hint, `env ${key} is already set to ${JSON.stringify(env[key])}; ${JSON.stringify(value)} was not used`);
    }
    if (hint.service) mergeService(hint, dir, hint.service);
  }

  function mergeService(hint: ServiceHint, dir: string, hinted: ServiceHintService): void {
    const wanted = SERVICE_NAME_PATTERN.test(hinted.name) ? hinted.name : serviceName(hinted.name);
    let port = isPort(hinted.port) && hinted.port !== SSH_PORT ? hinted.port : undefined;
    if (hinted.port !== undefined && port === undefined) {
      note(hint, `service \`${wanted}\`: ${JSON.stringify(hinted.port)} ${hinted.port === SSH_PORT ? "belongs to the workspace's SSH server" : "is not a port"}, so it has no port`);
    }

    if (typeof hinted.command !== "string" || hinted.command.trim() === "") {
      note(hint, `service \`${wanted}\` has no command, so it is not generated`);
      return;
    }

    const serviceEnv = cleanEnv(hinted.env);
    if (port !== undefined && portOwners.has(port)) {
      const owner = portOwners.get(port)!;
      const existing = services.get(owner)!;
      if (existing.dir === dir) {
        aliases.set(wanted, owner);
        const added = absorb(existing.service, hinted.depends_on ?? [], serviceEnv);
        note(hint, `service \`${wanted}\` (${hint.detector}) listens on port ${port} in ${dir} like \`${owner}\` (${existing.detector}), so they are one service: kept \`${owner}\`${added.length ? ` and added its ${added.join(" and ")}` : ""}`);
        return;
      }
      let free = port;
      while (portOwners.has(free) && free < 65535) free += 1;
      note(hint, `service \`${wanted}\`: port ${port} is taken by \`${owner}\`, so it moves to ${free} with PORT=${free} (check that it reads PORT)`);
      port = free;
      serviceEnv.PORT = String(free);
    }

    let name = wanted;
    for (let n = 2; services.has(name); n += 1) name = `${wanted.slice(0, 60)}-${n}`;
    if (name !== wanted) note(hint, `service name \`${wanted}\` is taken by \`${wanted}\` (${services.get(wanted)!.detector}), so this one is \`${name}\``);

    const health = healthCheck(hinted.health_check);
    const service: GeneratedService = {
      command: inDirectory(dir, hinted.command),
      ...(port !== undefined ? { port } : {}),
      ...(hinted.expose === false ? { expose: false } : {}),
      ...(hinted.depends_on?.length ? { depends_on: [...hinted.depends_on] } : {}),
      ...(Object.keys(serviceEnv).length > 0 ? { env: serviceEnv } : {}),
      ...(health ? { health_check: health } : {}),
    };
    services.set(name, { service, detector: hint.detector, dir });
    if (port !== undefined) portOwners.set(port, name);
  }

  resolveDependencies(services, aliases, (entry, reason) => notes.push({ detector: entry.detector, dir: entry.dir, reason }));

  const lifecycle = { ...(script(setup) ? { setup: script(setup)! } : {}), ...(script(postStart) ? { post_start: script(postStart)! } : {}) };
  return {
    config: {
      ...(Object.keys(env).length > 0 ? { env } : {}),
      ...(Object.keys(lifecycle).length > 0 ? { lifecycle } : {}),
      ...(services.size > 0 ? { services: Object.fromEntries([...services].map(([name, entry]) => [name, entry.service])) } : {}),
    },
    notes,
  };
}

/** depends_on may only name generated services and must not loop; anything else is dropped and said. */
function resolveDependencies(services: Map<string, Entry>, aliases: ReadonlyMap<string, string>, note: (entry: Entry, reason: string) => void): void {
  for (const [name, entry] of services) {
    const wanted = entry.service.depends_on;
    if (!wanted) continue;
    const kept: string[] = [];
    for (const dependency of wanted) {
      const target = aliases.get(dependency) ?? dependency;
      if (target === name || kept.includes(target)) continue;
      if (services.has(target)) kept.push(target);
      else note(entry, `service \`${name}\` depended on \`${dependency}\`, which was not generated, so that dependency is dropped`);
    }
    if (kept.length > 0) entry.service.depends_on = kept;
    else delete entry.service.depends_on;
  }
  // Break cycles deterministically: walk in service order and drop the edge that closes a loop.
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string): void => {
    state.set(name, "visiting");
    const entry = services.get(name)!;
    for (const dependency of [...(entry.service.depends_on ?? [])]) {
      const seen = state.get(dependency);
      if (seen === "visiting") {
        entry.service.depends_on = entry.service.depends_on!.filter((d) => d !== dependency);
        if (entry.service.depends_on.length === 0) delete entry.service.depends_on;
        note(entry, `service \`${name}\` depending on \`${dependency}\` would close a cycle, so that dependency is dropped`);
      } else if (seen === undefined) {
        visit(dependency);
      }
    }
    state.set(name, "done");
  };
  for (const name of services.keys()) if (!state.has(name)) visit(name);
}
