// Enforces the dependency direction of ARCHITECTURE.md: shells → plugins → core.
import t from "tap";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");
const CORE = "@nexus/core";
const PLUGINS = new Set(["@nexus/testkit", "@nexus/provider-lxc", "@nexus/provider-docker", "@nexus/github", "@nexus/editors", "@nexus/detectors"]);
const SHELLS = new Set(["@nexus/cli", "@nexus/server", "@nexus/agent"]);

interface Pkg { name: string; dir: string; dependencies?: Record<string, string>; peerDependencies?: Record<string, string>; devDependencies?: Record<string, string> }

const packages: Pkg[] = readdirSync(join(ROOT, "packages")).map((d) => ({
  ...(JSON.parse(readFileSync(join(ROOT, "packages", d, "package.json"), "utf8")) as Pkg),
  dir: join(ROOT, "packages", d),
}));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|js|mjs)$/.test(entry) ? [path] : [];
  });
}

function importedNexusPackages(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found = new Set<string>();
  for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)["'](@nexus\/[a-z0-9-]+)/g)) found.add(match[1]!);
  return [...found];
}

function layer(name: string): "core" | "plugin" | "shell" | "tooling" {
  if (name === CORE) return "core";
  if (PLUGINS.has(name)) return "plugin";
  if (SHELLS.has(name)) return "shell";
  return "tooling";
}

t.test("every package is classified", async (t) => {
  for (const pkg of packages) t.not(layer(pkg.name), "tooling", `${pkg.name} is core, a plugin or a shell`);
  t.equal(packages.length, 10);
});

t.test("core depends on no other nexus package", async (t) => {
  const core = packages.find((p) => p.name === CORE)!;
  const deps = Object.keys({ ...core.dependencies, ...core.peerDependencies });
  t.same(deps.filter((d) => d.startsWith("@nexus/")), []);
  for (const file of sourceFiles(join(core.dir, "src"))) t.same(importedNexusPackages(file), [], relative(ROOT, file));
});

t.test("plugins take @nexus/core as a peer and depend on no other plugin or shell", async (t) => {
  for (const pkg of packages.filter((p) => layer(p.name) === "plugin")) {
    t.ok(pkg.peerDependencies?.[CORE], `${pkg.name} lists ${CORE} as a peer dependency`);
    t.notOk(pkg.dependencies?.[CORE], `${pkg.name} does not bundle its own ${CORE}`);
    const runtime = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies }).filter((d) => d.startsWith("@nexus/") && d !== CORE);
    t.same(runtime, [], `${pkg.name} runtime deps stay at the core layer`);
    for (const file of sourceFiles(join(pkg.dir, "src"))) {
      const bad = importedNexusPackages(file).filter((n) => n !== CORE);
      t.same(bad, [], `${relative(ROOT, file)} imports only ${CORE}`);
    }
  }
});

// The CLI may depend on the server and agent packages only to launch their binaries as
// child processes (`nexus server start`, `nexus agent start`); no shell imports another.
const LAUNCHES: Record<string, string[]> = { "@nexus/cli": ["@nexus/server", "@nexus/agent"] };

t.test("shells never import each other, and import only what they declare", async (t) => {
  for (const pkg of packages.filter((p) => layer(p.name) === "shell")) {
    const declared = new Set(Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.devDependencies }));
    for (const d of declared) {
      if (SHELLS.has(d) && d !== pkg.name) t.ok(LAUNCHES[pkg.name]?.includes(d), `${pkg.name} depends on shell ${d} only to launch it`);
    }
    for (const file of sourceFiles(join(pkg.dir, "src"))) {
      for (const imported of importedNexusPackages(file)) {
        t.notOk(SHELLS.has(imported) && imported !== pkg.name, `${relative(ROOT, file)} does not import shell ${imported}`);
        t.ok(declared.has(imported), `${relative(ROOT, file)} imports ${imported}, declared in ${pkg.name}/package.json`);
      }
    }
  }
});

t.test("plugin tests may use testkit, but nothing else crosses layers", async (t) => {
  for (const pkg of packages) {
    const testDir = join(pkg.dir, "test");
    const allowed = new Set([CORE, "@nexus/testkit", "@nexus/test-utils", pkg.name, ...Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })]);
    let files: string[] = [];
    try { files = sourceFiles(testDir); } catch { continue; }
    for (const file of files) {
      for (const imported of importedNexusPackages(file)) t.ok(allowed.has(imported), `${relative(ROOT, file)} may import ${imported}`);
    }
  }
});

t.test("every package imported by src/ is declared as a runtime dependency", async (t) => {
  for (const pkg of packages) {
    const runtime = new Set(Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies }));
    for (const file of sourceFiles(join(pkg.dir, "src"))) {
      const text = readFileSync(file, "utf8");
      // Static imports and re-exports only; type-only imports vanish at build time.
      for (const match of text.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?from\s+["']([^"'.][^"']*)["']/gm)) {
        const spec = match[1]!;
        if (spec.startsWith("node:")) continue;
        const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
        t.ok(runtime.has(name), `${relative(ROOT, file)} imports ${name}, declared in ${pkg.name} dependencies`);
      }
    }
  }
});
