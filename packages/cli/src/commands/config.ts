import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Command } from "commander";
import { NexusError, createNexus, loadProjectConfig, parseProjectConfig, serviceStartOrder, CONFIG_FILE, CONFIG_FILE_ALT, type ProjectConfig } from "@nexus/core";
import { detectProject, fileViewFromDirectory, type Guess } from "@nexus/detectors";
import { writeFileAtomic } from "../home.js";
import type { CliIO, CommandContext } from "../io.js";
import { action } from "../program.js";

export interface ValidateResult {
  valid: true;
  file: string;
  name?: string;
  services: string[];
  warnings: Array<{ text: string; code: string; line: number; column: number; service?: string }>;
  /** The declared plugins, each loaded the way nexus loads it (options checked by the plugin's own schema). */
  plugins: PluginCheck[];
}

export interface PluginCheck {
  package: string;
  /** The list it is declared in. */
  list: "providers" | "editors" | "detectors";
  status: "loaded" | "not_installed";
  /** The plugin's kind and name, once loaded. */
  kind?: string;
  name?: string;
  message?: string;
}

const PLUGIN_LISTS = { providers: "provider", editors: "editor", detectors: "detector" } as const;
const A_KIND: Record<string, string> = { provider: "a provider", editor: "an editor", detector: "a detector", auth: "an auth" };

/**
 * Loads every plugin the config declares, as the shells would: from the project's own
 * node_modules first, else next to nexus. A package that is not installed here is a
 * warning (the config may be meant for another machine); a broken plugin, one of the
 * wrong kind or invalid options are errors.
 */
export async function checkPlugins(root: string, plugins: ProjectConfig["plugins"]): Promise<{ checks: PluginCheck[]; problems: string[] }> {
  const fromProject = createRequire(join(root, "package.json"));
  const importer = async (specifier: string) => {
    let path: string | undefined;
    try {
      path = fromProject.resolve(specifier);
    } catch {
      // not in the project: next to nexus
    }
    return path === undefined ? import(specifier) : import(pathToFileURL(path).href);
  };
  const checks: PluginCheck[] = [];
  const problems: string[] = [];
  for (const [list, kind] of Object.entries(PLUGIN_LISTS) as [keyof typeof PLUGIN_LISTS, string][]) {
    for (const spec of plugins[list]) {
      const name = typeof spec === "string" ? spec : spec[0];
      const registry = createNexus({ importer });
      await registry.load([spec]);
      const failure = registry.failures()[0];
      if (failure) {
        if (failure.error.details?.reason === "not_installed") {
          checks.push({ package: name, list, status: "not_installed", message: failure.error.message });
        } else {
          const issues = (failure.error.details?.issues as Array<{ path: string; message: string }> | undefined) ?? [];
          problems.push(`${list}: ${failure.error.message}${issues.map((i) => `\n    ${i.path || "(options)"}: ${i.message}`).join("")}`);
        }
        continue;
      }
      const descriptor = (["provider", "auth", "editor", "detector"] as const).flatMap((k) => registry.list(k))[0]!;
      if (descriptor.kind !== kind) {
        problems.push(`${list}: "${name}" is ${A_KIND[descriptor.kind]} plugin, not ${A_KIND[kind]} plugin`);
        continue;
      }
      checks.push({ package: name, list, status: "loaded", kind: descriptor.kind, name: descriptor.name });
    }
  }
  return { checks, problems };
}

/** `nexus config validate [dir]`: exit 0 (warnings printed) or invalid_config with file:line:col errors. */
export async function validateConfig(ctx: CommandContext, dir = "."): Promise<ValidateResult> {
  const root = resolve(ctx.io.cwd, dir);
  const loaded = await loadProjectConfig(root);
  if (!loaded) {
    throw new NexusError("invalid_config", `no .nexus/config.yaml in ${root}`, {
      details: { dir: root },
      hint: `Run \`nexus config init ${dir}\` to generate one from what the repository contains.`,
    });
  }
  const order = serviceStartOrder(loaded.config.services ?? {});
  const { checks, problems } = await checkPlugins(root, loaded.config.plugins);
  if (problems.length > 0) {
    throw new NexusError("invalid_config", `${loaded.path}: ${problems.length === 1 ? "a plugin" : `${problems.length} plugins`} cannot be used:\n  ${problems.join("\n  ")}`, {
      details: { file: loaded.path, problems },
      hint: "Fix the plugin's entry (its name, its list, its options) or remove it from the config.",
    });
  }
  const warnings = loaded.warnings.map((w) => ({ text: w.text, code: w.code, line: w.line, column: w.column, ...(w.service ? { service: w.service } : {}) }));
  const result: ValidateResult = { valid: true, file: loaded.path, name: loaded.config.name, services: order, warnings, plugins: checks };
  for (const w of warnings) ctx.warn(`${ctx.colors.yellow("warning")} ${w.text}`);
  for (const c of checks.filter((c) => c.status === "not_installed")) {
    ctx.warn(`${ctx.colors.yellow("warning")} plugin ${c.package} (${c.list}) is not installed here, so it was not checked: npm i ${c.package}`);
  }
  ctx.say(`${ctx.colors.green("✓")} ${loaded.path} is valid${order.length ? ` — services start in order: ${order.join(" → ")}` : " — no services"}`);
  const loadedPlugins = checks.filter((c) => c.status === "loaded");
  if (loadedPlugins.length > 0) ctx.say(`  plugins: ${loadedPlugins.map((c) => `${c.kind} ${c.name} (${c.package})`).join(", ")}`);
  ctx.result(result);
  return result;
}

export interface InitResult {
  file: string;
  written: boolean;
  services: string[];
  guesses: Guess[];
  problems: Array<{ detector: string; error: string; message: string }>;
  yaml: string;
}

/** `nexus config init [dir]`: detect what the repository contains and write .nexus/config.yaml. */
export async function initConfig(ctx: CommandContext, dir = ".", options: { force?: boolean; print?: boolean } = {}): Promise<InitResult> {
  const root = resolve(ctx.io.cwd, dir);
  const existing = [CONFIG_FILE, CONFIG_FILE_ALT].map((f) => join(root, f)).find((f) => existsSync(f));
  if (existing && !options.force && !options.print) {
    throw new NexusError("invalid_request", `${existing} already exists; nothing was changed`, {
      details: { file: existing },
      hint: `Check it with \`nexus config validate ${dir}\`, or regenerate it with \`nexus config init ${dir} --force\`.`,
    });
  }
  const detected = await detectProject(fileViewFromDirectory(root), { name: basename(root) });
  // What we write must be what we accept: validate before touching the disk.
  const { config } = parseProjectConfig(detected.yaml, { file: CONFIG_FILE });
  const file = join(root, CONFIG_FILE);
  const services = serviceStartOrder(config.services);
  const problems = detected.problems.map((p) => ({ detector: p.detector, error: p.error.code, message: p.error.message }));
  for (const p of problems) ctx.warn(`${ctx.colors.yellow("warning")} ${p.detector}: ${p.message}`);
  if (options.print) {
    if (!ctx.json) ctx.io.stdout.write(detected.yaml);
  } else {
    mkdirSync(join(root, ".nexus"), { recursive: true });
    writeFileAtomic(file, detected.yaml, 0o644);
    ctx.say(`${ctx.colors.green("✓")} wrote ${file}`);
  }
  if (!options.print) {
    for (const g of detected.guesses) ctx.say(`  ${ctx.colors.dim(`${g.detector}${g.dir !== "." ? ` (${g.dir})` : ""}:`)} ${g.reason}`);
    ctx.say(services.length ? `services: ${services.join(" → ")}` : "no services were detected; add them under `services:`");
    ctx.say(`next: review the file, then run \`nexus config validate ${dir}\``);
  }
  const result: InitResult = { file, written: !options.print, services, guesses: detected.guesses, problems, yaml: detected.yaml };
  ctx.result(result);
  return result;
}

export function registerConfigCommands(program: Command, io: CliIO): void {
  const config = program.command("config").description("check or generate .nexus/config.yaml");
  action(
    config
      .command("validate")
      .argument("[dir]", "project directory", ".")
      .description("validate <dir>/.nexus/config.yaml; errors name file:line:column")
      .addHelpText("after", "\nExamples:\n  $ nexus config validate\n  $ nexus config validate ../api --json"),
    io,
    async (ctx, dir: string) => {
      await validateConfig(ctx, dir);
    },
  );
  action(
    config
      .command("init")
      .argument("[dir]", "project directory", ".")
      .option("--force", "overwrite an existing .nexus/config.yaml")
      .option("--print", "print the generated config instead of writing it")
      .description("generate .nexus/config.yaml from what the repository contains, and say why")
      .addHelpText("after", "\nExamples:\n  $ nexus config init\n  $ nexus config init ../shop --print\n  $ nexus config init --force"),
    io,
    async (ctx, dir: string, opts: { force?: boolean; print?: boolean }) => {
      await initConfig(ctx, dir, opts);
    },
  );
}
