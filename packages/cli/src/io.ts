// Everything a command touches from the outside world, passed in so commands are
// plain functions tested in-process.
import pc from "picocolors";

export interface CliIO {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
}

export interface GlobalOptions {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  color: boolean;
  server?: string;
}

export interface CommandContext extends GlobalOptions {
  io: CliIO;
  /** True when progress (spinners, live tables) may be drawn. */
  interactive: boolean;
  colors: ReturnType<typeof pc.createColors>;
  /** Human output on stdout (suppressed by --json and --quiet). */
  say(line?: string): void;
  /** Diagnostics on stderr (suppressed by --quiet). */
  warn(line: string): void;
  /** The one JSON document --json prints. */
  result(value: unknown): void;
}

export function makeContext(io: CliIO, options: GlobalOptions): CommandContext {
  const colors = pc.createColors(options.color);
  const interactive = Boolean(io.stderr.isTTY) && !options.json && !options.quiet && io.env.CI !== "true";
  return {
    ...options,
    io,
    interactive,
    colors,
    say(line = "") {
      if (!options.json && !options.quiet) io.stdout.write(`${line}\n`);
    },
    warn(line) {
      if (!options.quiet) io.stderr.write(`${line}\n`);
    },
    result(value) {
      if (options.json) io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
  };
}

export function colorEnabled(io: CliIO, flag: boolean | undefined): boolean {
  if (flag === false) return false;
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== "") return false;
  if (io.env.FORCE_COLOR && io.env.FORCE_COLOR !== "0") return true;
  return Boolean(io.stdout.isTTY);
}
