// The CLI's single error boundary: every failure becomes what failed, why, and what to run next.
import { ERROR_CATALOG, isNexusError, toNexusError, NexusError } from "@nexus/core";
import type { CommandContext, CliIO } from "./io.js";

export function renderError(error: unknown, ctx: Pick<CommandContext, "json" | "verbose" | "colors"> & { io: CliIO }): number {
  const err = isNexusError(error) ? error : toNexusError(error);
  const exit = ERROR_CATALOG[err.code]?.exit ?? 1;
  if (ctx.json) {
    ctx.io.stdout.write(`${JSON.stringify(err.toJSON(), null, 2)}\n`);
    return exit;
  }
  const { red, dim, bold } = ctx.colors;
  const lines = [`${red(bold("error"))} ${dim(`[${err.code}]`)} ${err.message}`];
  const detailLines = describeDetails(err);
  for (const line of detailLines) lines.push(`  ${line}`);
  if (err.hint) lines.push(`${bold("next:")} ${err.hint}`);
  if (ctx.verbose && err.cause instanceof Error && err.cause.stack) lines.push(dim(err.cause.stack));
  ctx.io.stderr.write(`${lines.join("\n")}\n`);
  return exit;
}

function describeDetails(err: NexusError): string[] {
  const d = err.details;
  const out: string[] = [];
  // Config errors carry positioned issues; they are already in the message when present.
  if (Array.isArray(d.issues)) {
    for (const issue of d.issues as { path?: string; message?: string }[]) out.push(`${issue.path ?? ""}: ${issue.message ?? ""}`);
  }
  if (typeof d.request_id === "string") out.push(`request id: ${d.request_id}`);
  return out;
}
