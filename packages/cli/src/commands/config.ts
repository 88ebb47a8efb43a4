import { resolve } from "node:path";
import type { Command } from "commander";
import { NexusError, loadProjectConfig, serviceStartOrder } from "@nexus/core";
import type { CliIO, CommandContext } from "../io.js";
import { action } from "../program.js";

export interface ValidateResult {
  valid: true;
  file: string;
  name?: string;
  services: string[];
  warnings: Array<{ text: string; code: string; line: number; column: number; service?: string }>;
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
  const warnings = loaded.warnings.map((w) => ({ text: w.text, code: w.code, line: w.line, column: w.column, ...(w.service ? { service: w.service } : {}) }));
  const result: ValidateResult = { valid: true, file: loaded.path, name: loaded.config.name, services: order, warnings };
  for (const w of warnings) ctx.warn(`${ctx.colors.yellow("warning")} ${w.text}`);
  ctx.say(`${ctx.colors.green("✓")} ${loaded.path} is valid${order.length ? ` — services start in order: ${order.join(" → ")}` : " — no services"}`);
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
}
