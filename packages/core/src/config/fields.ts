// Field schemas shared by the project config: names, ports, durations, sizes, env, commands.
import { z } from "zod";
import { isNexusError } from "../errors.js";
import { DURATION_PATTERN, SIZE_PATTERN, parseDuration, parseSize } from "./units.js";

/** Project and service names. */
export const CONFIG_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const CONFIG_NAME_RULE = "1 to 63 characters: lowercase letters, digits, '-' and '_', starting with a letter or digit";
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A value as it appears in a message: strings quoted, long values cut. */
export function show(value: unknown): string {
  const text = typeof value === "string" ? JSON.stringify(value) : value === undefined ? "nothing" : JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Runs a unit parser inside a zod transform, turning its NexusError into an issue. */
function convert(parse: (value: string | number) => number, value: string | number, ctx: z.RefinementCtx): number {
  try {
    return parse(value);
  } catch (error) {
    if (!isNexusError(error)) throw error;
    ctx.addIssue({ code: "custom", message: error.message, input: value });
    return z.NEVER;
  }
}

export function nameSchema(what: string) {
  return z.string({ error: `${what} must be a string` }).regex(CONFIG_NAME_PATTERN, {
    error: (issue) => `${show(issue.input)} is not a valid ${what}: use ${CONFIG_NAME_RULE}`,
  });
}

export const portSchema = z
  .number({ error: (issue) => `port must be a whole number from 1 to 65535, got ${show(issue.input)}` })
  .int({ error: (issue) => `port must be a whole number from 1 to 65535, got ${show(issue.input)}` })
  .min(1, { error: (issue) => `port must be a whole number from 1 to 65535, got ${show(issue.input)}` })
  .max(65535, { error: (issue) => `port must be a whole number from 1 to 65535, got ${show(issue.input)}` });

const DURATION_HINT = "a duration is a number of seconds (10) or a number with a unit (500ms, 10s, 2m, 1h, 1m30s)";

/** Input: `10` (seconds), `"10s"`, `"500ms"`, `"2m"`, `"1m30s"`. Output: milliseconds. */
export const durationSchema = z
  .union(
    [
      z.number().min(0, { error: (issue) => `${show(issue.input)} is not a valid duration: it must not be negative` }),
      z.string().regex(DURATION_PATTERN, { error: (issue) => `${show(issue.input)} is not a valid duration: ${DURATION_HINT}` }),
    ],
    { error: (issue) => `expected a duration, got ${show(issue.input)}: ${DURATION_HINT}` },
  )
  .describe("A duration: a bare number of seconds (10) or a number with a unit: 500ms, 10s, 2m, 1h, 1m30s.")
  .transform((value, ctx) => convert(parseDuration, value, ctx));

const SIZE_HINT = "a size is bytes (1048576) or a number with a unit: 512MiB, 4GiB (powers of 1024), 4GB (powers of 1000)";

/** Input: `"512MiB"`, `"4GB"`, `"4GiB"`, plain bytes. Output: bytes. */
export const sizeSchema = z
  .union(
    [
      z.number().int({ error: (issue) => `${show(issue.input)} is not a valid size: plain numbers are whole bytes` }).min(0, {
        error: (issue) => `${show(issue.input)} is not a valid size: it must not be negative`,
      }),
      z.string().regex(SIZE_PATTERN, { error: (issue) => `${show(issue.input)} is not a valid size: ${SIZE_HINT}` }),
    ],
    { error: (issue) => `expected a size, got ${show(issue.input)}: ${SIZE_HINT}` },
  )
  .describe("A size: plain bytes, or a number with a unit: KiB, MiB, GiB, TiB (powers of 1024) or KB, MB, GB, TB (powers of 1000).")
  .transform((value, ctx) => convert(parseSize, value, ctx));

const NO_NUL = (text: string) => !text.includes("\0");

/** Environment variables: names checked, scalar values converted to strings. */
export const envSchema = z
  .record(
    z.string().regex(ENV_NAME_PATTERN, {
      error: (issue) => `${show(issue.input)} is not a valid environment variable name: use letters, digits and '_', not starting with a digit`,
    }),
    z
      .union([z.string().refine(NO_NUL, { error: "environment values must not contain NUL characters" }), z.number(), z.boolean()], {
        error: (issue) => `environment values must be strings, numbers or booleans, got ${show(issue.input)}`,
      })
      .transform(String),
  )
  .describe("Environment variables. Numbers and booleans are converted to strings.");

/** A shell command line, run by `sh -c` inside the workspace. */
export const commandSchema = z
  .string({ error: (issue) => `a command must be a string, got ${show(issue.input)}` })
  .trim()
  .min(1, { error: "a command must not be empty" })
  .refine(NO_NUL, { error: "a command must not contain NUL characters" });

/** Lifecycle scripts: one shell script, or a list of commands (joined one per line). */
export const scriptSchema = z
  .union([z.string(), z.array(z.string())], { error: (issue) => `expected a shell script or a list of commands, got ${show(issue.input)}` })
  .refine((value) => (typeof value === "string" ? NO_NUL(value) : value.every(NO_NUL)), { error: "a script must not contain NUL characters" })
  .transform((value) => {
    const script = (typeof value === "string" ? value : value.join("\n")).trim();
    return script === "" ? undefined : script;
  });
