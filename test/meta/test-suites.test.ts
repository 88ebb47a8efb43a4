// The three tap suites (fast .taprc, integration .taprc.int.yaml, real-engine
// .taprc.real.yaml): every test file belongs to exactly one, and they load the same tap
// plugins (tap rebuilds its plugin set whenever the list changes between runs).
import t from "tap";
import { globSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

const ROOT = join(import.meta.dirname, "..", "..");
const SUITES = [".taprc", ".taprc.int.yaml", ".taprc.real.yaml"] as const;

interface Rc { include: string[]; exclude: string[]; plugin: string[] }
const rcs = Object.fromEntries(SUITES.map((name) => [name, parse(readFileSync(join(ROOT, name), "utf8")) as Rc]));
const members = (rc: Rc) => new Set(globSync(rc.include, { cwd: ROOT, exclude: rc.exclude }));

t.test("every test file is in exactly one suite", async (t) => {
  const all = globSync(["packages/*/test/**/*.test.ts", "test/**/*.test.ts", "tooling/**/test/**/*.test.ts"], { cwd: ROOT, exclude: ["**/node_modules/**"] });
  t.ok(all.length > 100, `found ${all.length} test files`);
  const sets = SUITES.map((name) => members(rcs[name]!));
  const wrong = all.map((file) => ({ file, in: SUITES.filter((_, i) => sets[i]!.has(file)) })).filter((entry) => entry.in.length !== 1);
  t.same(wrong, [], "a file in no suite never runs; a file in two runs twice");
  t.ok(sets[1]!.size > 0 && [...sets[1]!].every((file) => file.endsWith(".int.test.ts")), "the integration suite is the *.int.test.ts files");
  t.ok([...sets[2]!].every((file) => file.endsWith(".real.test.ts")), "the real-engine suite is the *.real.test.ts files");
});

t.test("the suites load the same tap plugins", async (t) => {
  const [first, ...rest] = SUITES.map((name) => rcs[name]!.plugin);
  for (const [i, list] of rest.entries()) t.same(list, first, `${SUITES[i + 1]} lists the plugins of .taprc`);
});
