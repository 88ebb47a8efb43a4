import type { FileView, ServiceHint, ServiceHintService } from "@nexus/core";
import { PLUGIN_API_VERSION, defineDetector } from "@nexus/core";
import { baseName, joinRepoPath } from "../../files/paths.js";
import { scopeFileView } from "../../files/scope.js";
import { serviceName } from "../../util/names.js";
import { asObject, asString, asStringRecord, readJsonFile, type JsonObject } from "../../util/parse.js";
import { portFromCommand } from "../../util/ports.js";
import { shellJoin } from "../../util/shell.js";
import { FRAMEWORKS, analyzeScript, looksLikeServer, portFromFrameworkConfig, portFromSource, type Framework, type FrameworkId } from "./frameworks.js";
import { choosePackageManager, runScript, type PackageManager } from "./package-manager.js";
import { expandWorkspacePatterns, workspaceDeclaration } from "./workspaces.js";

const DETECTOR = "node";

/** Scripts that run the app, in the order they are tried. */
const SERVICE_SCRIPTS = ["dev", "start"] as const;
/** Where server code usually starts, when no script names the file. */
const ENTRY_CANDIDATES = ["server.js", "index.js", "app.js", "src/main.ts", "src/server.ts", "src/index.ts", "src/app.ts", "server.ts", "index.ts", "src/server.js", "src/index.js", "src/main.js"];

interface ServicePlan {
  dir: string;
  /** How to run it with extra arguments (a moved port). */
  command: (extraArgs?: readonly string[]) => string;
  framework: Framework;
  port: number;
  portReason: string;
  description: string;
  /** `start` usually serves a build: run the `build` script during setup. */
  build?: string;
}

interface PackageResult {
  plan?: ServicePlan;
  /** Why there is no service, when there is none. */
  why?: string;
}

function dependenciesOf(manifest: JsonObject): Set<string> {
  return new Set([...Object.keys(asObject(manifest.dependencies) ?? {}), ...Object.keys(asObject(manifest.devDependencies) ?? {})]);
}

/** Inlines `npm run x` / `pnpm x` / `yarn x` references so `"dev": "npm run dev:web"` is analysed as what it runs. */
function expandScript(scripts: Record<string, string>, name: string, depth = 0): string {
  const text = scripts[name] ?? "";
  if (depth >= 4) return text;
  return text.replace(/\b(?:npm run|npm|pnpm run|pnpm|yarn run|yarn|bun run)\s+([\w:.-]+)/g, (whole, target: string) =>
    target !== name && scripts[target] !== undefined ? `(${expandScript(scripts, target, depth + 1)})` : whole,
  );
}

function firstEntry(files: FileView, candidates: readonly (string | undefined)[]): { file: string; source: string } | undefined {
  for (const file of candidates) {
    if (!file) continue;
    const source = files.read(file.replace(/^\.\//, ""));
    if (source !== undefined) return { file: file.replace(/^\.\//, ""), source };
  }
  return undefined;
}

function planPackage(root: FileView, dir: string, manifest: JsonObject, manager: PackageManager): PackageResult {
  const files = scopeFileView(root, dir);
  const scripts = asStringRecord(manifest.scripts);
  const dependencies = dependenciesOf(manifest);
  const main = asString(manifest.main);
  const rejected: string[] = [];

  const resolve = (frameworkId: FrameworkId, commandText: string, how: string, entryHint: string | undefined, scriptLabel: string): Omit<ServicePlan, "dir" | "command"> | string => {
    const framework: Framework = FRAMEWORKS[frameworkId];
    const entry = framework.health === "tcp" ? firstEntry(files, [entryHint, main, ...ENTRY_CANDIDATES]) : undefined;
    if (frameworkId === "node" && !(entry && looksLikeServer(entry.source))) {
      return `${how}, and nothing shows it starts a server`;
    }
    const fromCommand = portFromCommand(commandText);
    const fromConfig = fromCommand ? undefined : portFromFrameworkConfig(files, framework);
    const fromSource = fromCommand || fromConfig || !entry ? undefined : portFromSource(entry.source);
    const [port, portReason] = fromCommand ? [fromCommand.port, `from ${fromCommand.source} in ${scriptLabel}`]
      : fromConfig ? [fromConfig.port, `from ${fromConfig.source}`]
      : fromSource !== undefined ? [fromSource, `from ${entry!.file}`]
      : [framework.defaultPort, `the ${framework.label} default${framework.health === "tcp" ? "; nothing in the code names another, check it" : ""}`];
    return { framework, port, portReason, description: `${how} (${framework.label})` };
  };

  for (const script of SERVICE_SCRIPTS) {
    if (scripts[script] === undefined) continue;
    const expanded = expandScript(scripts, script);
    const analysis = analyzeScript(expanded, dependencies);
    const label = `the \`${script}\` script`;
    if (analysis.notServer || !analysis.framework) {
      rejected.push(`${label} ${analysis.how}, which nexus does not recognise as a server`);
      continue;
    }
    const resolved = resolve(analysis.framework, expanded, `${label} ${analysis.how}`, analysis.entry, label);
    if (typeof resolved === "string") {
      rejected.push(resolved);
      continue;
    }
    const build = script === "start" && scripts.build !== undefined ? runScript(manager.name, "build") : undefined;
    return { plan: { ...resolved, dir, command: (extra) => runScript(manager.name, script, extra), ...(build ? { build } : {}) } };
  }

  // `npm start` runs `node server.js` when there is no start script; `main` often names the server too.
  if (scripts.start === undefined) {
    const entry = firstEntry(files, [main, "server.js"]);
    if (entry && looksLikeServer(entry.source)) {
      const framework = analyzeScript(`node ${entry.file}`, dependencies).framework ?? "node";
      const resolved = resolve(framework, "", `\`${entry.file}\` starts a server`, entry.file, "");
      if (typeof resolved !== "string") return { plan: { ...resolved, dir, command: () => shellJoin(["node", entry.file]) } };
    }
  }

  if (rejected.length > 0) return { why: rejected.join("; ") };
  return { why: "package.json has no `dev` or `start` script and no server file" };
}

function healthCheck(framework: Framework): ServiceHintService["health_check"] {
  return framework.health === "http" ? { type: "http", path: "/" } : { type: "tcp" };
}

function serviceHint(plan: ServicePlan, name: string, move?: { port: number; takenBy: string }): ServiceHint {
  const port = move?.port ?? plan.port;
  const extraArgs = move && plan.framework.portArgs ? plan.framework.portArgs(port) : [];
  let reason = `service \`${name}\`: ${plan.description}; port ${plan.port} (${plan.portReason})`;
  if (move) {
    reason += `; ${plan.port} is already taken by \`${move.takenBy}\`, so it moves to ${port} (PORT=${port}${extraArgs.length ? ` and \`${shellJoin(extraArgs)}\`` : ", assuming the server reads PORT"})`;
  }
  return {
    detector: DETECTOR,
    dir: plan.dir,
    reason,
    service: {
      name,
      command: plan.command(extraArgs),
      port,
      health_check: healthCheck(plan.framework),
      ...(move ? { env: { PORT: String(port) } } : {}),
    },
  };
}

function buildHint(plan: ServicePlan, name: string): ServiceHint[] {
  return plan.build ? [{ detector: DETECTOR, dir: plan.dir, reason: `service \`${name}\` runs the \`start\` script, which usually serves a build, so setup also runs \`build\``, setup: [plan.build] }] : [];
}

/** Names after the package directories; `apps/web` and `packages/web` become `apps-web` and `packages-web`. */
function nameWorkspaceServices(dirs: readonly string[]): string[] {
  const short = dirs.map((dir) => serviceName(baseName(dir)));
  const names = dirs.map((dir, index) => (short.filter((name) => name === short[index]).length > 1 ? serviceName(dir.replaceAll("/", "-")) : short[index]!));
  const used = new Set<string>();
  return names.map((name) => {
    let unique = name;
    for (let n = 2; used.has(unique); n += 1) unique = `${name}-${n}`;
    used.add(unique);
    return unique;
  });
}

function detectWorkspaces(files: FileView, dirs: readonly string[], manager: PackageManager, source: string): ServiceHint[] | undefined {
  const plans: ServicePlan[] = [];
  const idle: string[] = [];
  for (const dir of dirs) {
    const manifest = readJsonFile(files, joinRepoPath(dir, "package.json"));
    if (!manifest) continue;
    const result = planPackage(files, dir, manifest, manager);
    if (result.plan) plans.push(result.plan);
    else idle.push(dir);
  }
  if (plans.length === 0) return undefined;

  const names = nameWorkspaceServices(plans.map((plan) => plan.dir));
  const taken = new Map<number, string>();
  const hints: ServiceHint[] = [];
  for (const [index, plan] of plans.entries()) {
    const name = names[index]!;
    let port = plan.port;
    while (taken.has(port) && port < 65535) port += 1;
    const move = port === plan.port ? undefined : { port, takenBy: taken.get(plan.port)! };
    taken.set(port, name);
    hints.push(serviceHint(plan, name, move), ...buildHint(plan, name));
  }
  if (idle.length > 0) {
    hints.push({ detector: DETECTOR, dir: ".", reason: `no service for ${idle.join(", ")}: no \`dev\` or \`start\` script that serves (workspaces from ${source})` });
  }
  return hints;
}

export function detectNode(files: FileView): ServiceHint[] {
  const manifest = readJsonFile(files, "package.json");
  if (!manifest) return [];
  const manager = choosePackageManager(files, asString(manifest.packageManager));
  const declaration = workspaceDeclaration(files, manifest);
  const memberDirs = declaration ? expandWorkspacePatterns(files, declaration.patterns).filter((dir) => dir !== "") : [];

  const setup: ServiceHint = {
    detector: DETECTOR,
    dir: ".",
    reason: memberDirs.length > 0
      ? `setup installs every workspace package once at the root with ${manager.name} (${memberDirs.length} packages from ${declaration!.source}): ${manager.reason}`
      : `setup installs with ${manager.name}: ${manager.reason}`,
    setup: [...(manager.provision ? [manager.provision] : []), manager.install],
  };
  if (manager.provision) setup.reason += `; ${manager.name} is installed first when the image lacks it`;

  if (memberDirs.length > 0) {
    const hints = detectWorkspaces(files, memberDirs, manager, declaration!.source);
    if (hints) return [setup, ...hints];
  }

  const root = planPackage(files, ".", manifest, manager);
  const hints: ServiceHint[] = [setup];
  if (declaration) {
    hints.push({ detector: DETECTOR, dir: ".", reason: `${declaration.source} selects ${memberDirs.length === 0 ? "no packages" : "no package that serves"}, so the root package.json is used` });
  }
  if (root.plan) hints.push(serviceHint(root.plan, "web"), ...buildHint(root.plan, "web"));
  else hints.push({ detector: DETECTOR, dir: ".", reason: `no service: ${root.why}` });
  return hints;
}

export const nodeDetector = defineDetector({
  name: DETECTOR,
  apiVersion: PLUGIN_API_VERSION,
  description: "package.json: package manager from the lockfile, dev server, port, npm/yarn/pnpm workspaces",
  detect: detectNode,
});
