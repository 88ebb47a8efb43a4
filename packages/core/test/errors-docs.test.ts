// Keeps the catalog, docs/errors.md and the committed snapshot of codes in sync.
import t from "tap";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ERROR_CATALOG, ERROR_CODES } from "@nexus/core";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const doc = readFileSync(join(ROOT, "docs", "errors.md"), "utf8");
const snapshot = JSON.parse(readFileSync(join(import.meta.dirname, "fixtures", "error-codes.json"), "utf8")) as Record<string, { http: number; exit: number; retryable: boolean }>;

const sections = new Map<string, string>();
for (const part of doc.split(/^## /m).slice(1)) {
  const [heading = "", ...body] = part.split("\n");
  sections.set(heading.trim(), body.join("\n"));
}

t.test("every catalog code has an anchored section with its status and exit code", async (t) => {
  for (const code of ERROR_CODES) {
    const body = sections.get(code);
    t.ok(body, `docs/errors.md has "## ${code}"`);
    const entry = ERROR_CATALOG[code];
    t.match(body ?? "", new RegExp(`HTTP ${entry.http} · exit ${entry.exit} · ${entry.retryable ? "retryable" : "not retryable"}`), `${code} section states HTTP ${entry.http}, exit ${entry.exit}`);
  }
});

t.test("docs/errors.md documents no code that is not in the catalog", async (t) => {
  t.same([...sections.keys()].filter((h) => !(h in ERROR_CATALOG)), []);
});

t.test("the catalog matches the committed snapshot (codes are public API)", async (t) => {
  const current = Object.fromEntries(ERROR_CODES.map((c) => [c, { http: ERROR_CATALOG[c].http, exit: ERROR_CATALOG[c].exit, retryable: ERROR_CATALOG[c].retryable }]));
  t.same(current, snapshot, "update test/fixtures/error-codes.json deliberately when the catalog changes");
});
