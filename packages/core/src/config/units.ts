// Durations and sizes as users write them in config files and flags, normalised to
// milliseconds and bytes.
import { NexusError } from "../errors.js";

/** Longest duration a timer can hold (setTimeout's signed 32-bit limit). */
export const MAX_DURATION_MS = 2 ** 31 - 1;

const DURATION_UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
/** One or more `<number><unit>` parts (`1m30s`), or a bare number of seconds. */
export const DURATION_PATTERN = /^(?:\d+(?:\.\d+)?|(?:\d+(?:\.\d+)?(?:ms|s|m|h))+)$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

const DURATION_HELP = "write a number with a unit (500ms, 10s, 2m, 1h, 1m30s) or a bare number of seconds";

/**
 * `10` and `"10"` are seconds; `"500ms"`, `"10s"`, `"2m"`, `"1h"` and combinations such as
 * `"1m30s"` carry their unit. Returns whole milliseconds.
 */
export function parseDuration(value: string | number): number {
  let ms: number;
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) throw durationError(value, "it must be a non-negative number of seconds");
    ms = value * 1000;
  } else {
    const text = value.trim();
    if (!DURATION_PATTERN.test(text)) throw durationError(value, DURATION_HELP);
    if (/^[\d.]+$/.test(text)) {
      ms = Number(text) * 1000;
    } else {
      ms = 0;
      for (const [, amount, unit] of text.matchAll(DURATION_PART)) {
        ms += Number(amount) * DURATION_UNIT_MS[unit as keyof typeof DURATION_UNIT_MS];
      }
    }
  }
  ms = Math.round(ms);
  if (ms > MAX_DURATION_MS) throw durationError(value, "it is longer than the maximum of 24 days");
  return ms;
}

function durationError(value: unknown, why: string): NexusError {
  return new NexusError("invalid_request", `${JSON.stringify(value)} is not a valid duration: ${why}`, {
    details: { value },
  });
}

/** Shortest exact form: 1500 → "1500ms", 2000 → "2s", 90000 → "90s", 120000 → "2m". */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

const SIZE_UNIT_BYTES: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  ki: 2 ** 10,
  kib: 2 ** 10,
  mi: 2 ** 20,
  mib: 2 ** 20,
  gi: 2 ** 30,
  gib: 2 ** 30,
  ti: 2 ** 40,
  tib: 2 ** 40,
};
/** Loose shape for the JSON Schema; parseSize decides which units are valid. */
export const SIZE_PATTERN = /^\d+(?:\.\d+)?\s?[A-Za-z]{0,3}$/;
const SIZE_SYNTAX = /^(\d+(?:\.\d+)?)\s?([A-Za-z]{0,3})$/;

const SIZE_HELP = "write bytes (1048576) or a number with a unit: KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)";

/** `512MiB`, `4GB`, `4GiB`, `4Gi`, or plain bytes. Returns whole bytes. */
export function parseSize(value: string | number): number {
  let bytes: number;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) throw sizeError(value, "a plain number is bytes and must be a whole, non-negative number");
    bytes = value;
  } else {
    const match = SIZE_SYNTAX.exec(value.trim());
    if (!match) throw sizeError(value, SIZE_HELP);
    const [, amount, unit = ""] = match;
    const factor = SIZE_UNIT_BYTES[unit.toLowerCase()];
    if (factor === undefined) {
      const letter = unit.charAt(0).toUpperCase();
      const ambiguous = unit.length === 1 && "KMGT".includes(letter);
      throw sizeError(value, ambiguous ? `"${unit}" is ambiguous: write ${letter}iB (powers of 1024) or ${letter}B (powers of 1000)` : SIZE_HELP);
    }
    if (unit === "" && amount!.includes(".")) throw sizeError(value, "a plain number is bytes and must be whole");
    bytes = Math.round(Number(amount) * factor);
  }
  if (!Number.isSafeInteger(bytes)) throw sizeError(value, "it is too large");
  return bytes;
}

function sizeError(value: unknown, why: string): NexusError {
  return new NexusError("invalid_request", `${JSON.stringify(value)} is not a valid size: ${why}`, { details: { value } });
}

/** Largest exact binary unit: 4294967296 → "4GiB", 1500 → "1500". */
export function formatSize(bytes: number): string {
  for (const [unit, factor] of [["TiB", 2 ** 40], ["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]] as const) {
    if (bytes > 0 && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}
