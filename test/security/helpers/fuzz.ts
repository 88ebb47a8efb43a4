// Reproducible fuzzing for the API: a seeded PRNG (the seed is printed; set
// NEXUS_FUZZ_SEED to replay a run), a corpus of hostile strings, a value generator
// driven by each route's own JSON Schema (so bodies are shaped like real requests and
// reach deep validation), and the check every response must pass.
import type { Test } from "tap";
import { z } from "zod";
import { ERROR_CATALOG, ErrorBodySchema, routeErrorCodes, type ApiRoute, type ErrorCode } from "@nexus/core";

/** mulberry32: tiny, fast and good enough to drive a fuzzer reproducibly. */
export class SeededRandom {
  #state: number;
  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let x = this.#state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }
}

/** The seed of this run: NEXUS_FUZZ_SEED when set, else a fresh one; printed so a failure can be replayed. */
export function fuzzSeed(t: Test): number {
  const fromEnv = process.env.NEXUS_FUZZ_SEED;
  const seed = fromEnv !== undefined && /^\d+$/.test(fromEnv) ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 32);
  t.comment(`fuzz seed ${seed} (replay with NEXUS_FUZZ_SEED=${seed})`);
  return seed;
}

/** Strings that break naive code: traversal, injection, unicode tricks, control characters, sizes. */
export function hostileStrings(canary: string): string[] {
  return [
    "",
    " ",
    ".",
    "..",
    "../../../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..\\..\\windows\\win.ini",
    "/etc/passwd",
    "a/../../b",
    "a%2Fb",
    "%00",
    "a\u0000b",
    "a\nb",
    "a\r\nX-Injected: 1",
    "\t",
    "\u202Eevil\u202C",
    "ab\u200Bcd",
    "\uFEFFbom",
    "\u0430dmin",
    "раураl",
    "ｅｘａｍｐｌｅ",
    "e\u0301",
    "\uD800",
    "😀",
    "-rf",
    "--upload-pack=touch " + canary,
    "-oProxyCommand=touch " + canary,
    "$(touch " + canary + ")",
    "`touch " + canary + "`",
    "; touch " + canary,
    "| touch " + canary,
    "&& touch " + canary,
    "$(touch${IFS}" + canary + ")",
    "ext::sh -c touch% " + canary,
    "file:///etc/passwd",
    "ssh://-oProxyCommand=touch%20" + canary + "/x/y",
    "https://127.0.0.1:1/a/b.git",
    "http://169.254.169.254/latest/meta-data",
    "x'; DROP TABLE workspaces; --",
    "' OR '1'='1",
    "%s%s%s%n",
    "${jndi:ldap://x/a}",
    "{{7*7}}",
    "<script>alert(1)</script>",
    "__proto__",
    "constructor",
    "ws_../../x",
    "ws_" + "a".repeat(64),
    "node_x",
    "cmd_x",
    "a".repeat(64),
    "a".repeat(300),
    "a".repeat(70_000),
  ];
}

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
  minimum?: number;
  maximum?: number;
  default?: unknown;
};

const WRONG_TYPES: unknown[] = [null, true, 0, -1, 1.5, 1e308, "", "x", [], {}, [null], { a: 1 }];
const NUMBERS: unknown[] = [0, 1, -1, 2, 25, 60, 65535, 65536, 2 ** 31, 2 ** 53 + 1, -(2 ** 53), 1.5, 1e308, -0, "1", "0x10", "1e3", "NaN"];

/**
 * Values shaped by a route's JSON Schema (zod's input form), corrupted on purpose:
 * fields dropped or added, types swapped, strings replaced by hostile ones.
 */
export class SchemaFuzzer {
  constructor(
    private readonly random: SeededRandom,
    private readonly strings: readonly string[],
  ) {}

  static jsonSchema(schema: z.ZodType): JsonSchema {
    return z.toJSONSchema(schema, { io: "input", unrepresentable: "any", target: "draft-2020-12" }) as JsonSchema;
  }

  value(schema: JsonSchema, depth = 0): unknown {
    const r = this.random;
    if (depth > 6 || r.chance(0.08)) return r.pick(WRONG_TYPES);
    const variants = schema.anyOf ?? schema.oneOf;
    if (variants?.length) return this.value(r.pick(variants), depth + 1);
    if (schema.allOf?.length) return this.value(r.pick(schema.allOf), depth + 1);
    if (schema.const !== undefined) return r.chance(0.8) ? schema.const : r.pick(this.strings);
    if (schema.enum) return r.chance(0.7) ? r.pick(schema.enum) : r.pick(this.strings);
    const type = Array.isArray(schema.type) ? r.pick(schema.type) : schema.type;
    switch (type) {
      case "object":
        return this.object(schema, depth);
      case "array": {
        const length = r.pick([0, 1, 2, 3, 50]);
        return Array.from({ length }, () => (schema.items ? this.value(schema.items, depth + 1) : r.pick(this.strings)));
      }
      case "integer":
      case "number":
        return r.chance(0.6) && schema.minimum !== undefined ? r.int(schema.minimum, Math.min(schema.maximum ?? schema.minimum + 100, schema.minimum + 100)) : r.pick(NUMBERS);
      case "boolean":
        return r.chance(0.8) ? r.chance(0.5) : r.pick(["true", "1", 0, null]);
      case "string":
        return r.pick(this.strings);
      case "null":
        return null;
      default:
        return r.chance(0.5) ? r.pick(this.strings) : { [r.pick(this.strings)]: r.pick(WRONG_TYPES) };
    }
  }

  object(schema: JsonSchema, depth: number): Record<string, unknown> {
    const r = this.random;
    // A null-prototype object, so that keys like __proto__ are own data properties
    // and reach JSON.stringify as written.
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const [key, property] of Object.entries(schema.properties ?? {})) {
      const required = schema.required?.includes(key) ?? false;
      if (r.chance(required ? 0.9 : 0.6)) out[key] = this.value(property, depth + 1);
    }
    if (r.chance(0.15)) out[r.pick(["extra", "__proto__", "constructor", "admin", "owner_id", "user_id", r.pick(this.strings)])] = r.pick(WRONG_TYPES);
    if (typeof schema.additionalProperties === "object" && r.chance(0.7)) {
      for (let i = r.int(1, 4); i > 0; i--) out[r.pick(this.strings)] = this.value(schema.additionalProperties, depth + 1);
    }
    return out;
  }
}

export interface ResponseLike {
  statusCode: number;
  body: string;
  headers: Record<string, unknown>;
}

/** Marks of a leaked stack trace or server path in a response. */
const LEAK_PATTERNS = [/\n\s+at [^\n]+:\d+:\d+/, /node_modules/, /\/work\/main\//, /\.ts:\d+/, /"stack"/];

/** Statuses that are not the catalog's but that the server uses for invalid_request (body/headers too large). */
const SIZE_STATUSES = new Set([413, 431]);

/**
 * The contract every response keeps whatever was sent: a failure is the catalog's error
 * body with its code's status (never a 500 or a stack), and a success is a status the
 * route declares. `codes` narrows which catalog codes are acceptable.
 */
export function checkResponse(t: Test, label: string, res: ResponseLike, codes?: ReadonlySet<ErrorCode>): boolean {
  const problems: string[] = [];
  if (res.statusCode >= 500) problems.push(`status ${res.statusCode}`);
  for (const pattern of LEAK_PATTERNS) if (pattern.test(res.body)) problems.push(`body matches ${pattern}`);
  if (res.statusCode >= 400) {
    let parsed: z.ZodSafeParseResult<z.infer<typeof ErrorBodySchema>> | undefined;
    try {
      parsed = ErrorBodySchema.safeParse(JSON.parse(res.body));
    } catch {
      problems.push("error body is not JSON");
    }
    if (parsed && !parsed.success) problems.push(`not a catalog error body: ${res.body.slice(0, 200)}`);
    if (parsed?.success) {
      const body = parsed.data;
      const expected = ERROR_CATALOG[body.error].http;
      if (res.statusCode !== expected && !(SIZE_STATUSES.has(res.statusCode) && body.error === "invalid_request")) {
        problems.push(`${body.error} answered with ${res.statusCode}, the catalog says ${expected}`);
      }
      if (codes && !codes.has(body.error)) problems.push(`unexpected code ${body.error}`);
      if (res.headers["x-request-id"] !== body.request_id) problems.push("request_id does not repeat X-Request-Id");
    }
  }
  if (problems.length) t.fail(`${label}: ${problems.join("; ")}`, { status: res.statusCode, body: res.body.slice(0, 500) });
  return problems.length === 0;
}

/** The codes a route may answer with, plus not_found (a mangled path may match no route). */
export function allowedCodes(route: ApiRoute): Set<ErrorCode> {
  return new Set<ErrorCode>([...routeErrorCodes(route), "not_found"]);
}
