// Human output helpers: borderless tables and durations.
import Table from "cli-table3";
import type { CommandContext } from "./io.js";

export function table(ctx: CommandContext, head: string[], rows: Array<Array<string | number | undefined | null>>): string {
  const t = new Table({
    head: head.map((h) => ctx.colors.bold(h.toUpperCase())),
    chars: { top: "", "top-mid": "", "top-left": "", "top-right": "", bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "", left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "  " },
    style: { "padding-left": 0, "padding-right": 0, head: [], border: [] },
  });
  for (const row of rows) t.push(row.map((c) => (c === undefined || c === null ? "-" : String(c))));
  return t.toString();
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m${Math.round((ms % 60_000) / 1000)}s`;
}
