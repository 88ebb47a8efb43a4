// What a package.json script starts, and the port it listens on by default.
import type { FileView } from "@nexus/core";
import { parsePort, type PortEvidence } from "../../util/ports.js";

export interface Framework {
  label: string;
  defaultPort: number;
  /** Web frameworks answer `GET /`; API servers often 404 there, so they get a TCP check. */
  health: "http" | "tcp";
  /** Arguments that move its dev server to another port; absent when only `PORT` does. */
  portArgs?: (port: number) => string[];
  /** Config files that may set the dev server's port, and how to find it there. */
  config?: { files: readonly string[]; port: RegExp };
}

const portFlag = (port: number): string[] => ["--port", String(port)];
const VITE_CONFIG = {
  files: ["vite.config.ts", "vite.config.js", "vite.config.mts", "vite.config.mjs", "vite.config.cjs"],
  port: /\bserver\s*:\s*\{[^}]*?\bport\s*:\s*(\d{1,5})/s,
};

export const FRAMEWORKS = {
  next: { label: "Next.js", defaultPort: 3000, health: "http", portArgs: portFlag },
  nuxt: {
    label: "Nuxt", defaultPort: 3000, health: "http", portArgs: portFlag,
    config: { files: ["nuxt.config.ts", "nuxt.config.js", "nuxt.config.mjs"], port: /\bdevServer\s*:\s*\{[^}]*?\bport\s*:\s*(\d{1,5})/s },
  },
  astro: {
    label: "Astro", defaultPort: 4321, health: "http", portArgs: portFlag,
    config: { files: ["astro.config.mjs", "astro.config.ts", "astro.config.js", "astro.config.mts"], port: /\bserver\s*:\s*\{[^}]*?\bport\s*:\s*(\d{1,5})/s },
  },
  // Remix's classic compiler (`remix dev`) serves on 3000; since Remix 2.2 the Vite plugin
  // (`remix vite:dev`, or plain `vite dev` with @remix-run/dev) serves on Vite's 5173.
  remix: { label: "Remix (classic compiler)", defaultPort: 3000, health: "http" },
  "remix-vite": { label: "Remix (Vite)", defaultPort: 5173, health: "http", portArgs: portFlag, config: VITE_CONFIG },
  "react-router": { label: "React Router", defaultPort: 5173, health: "http", portArgs: portFlag, config: VITE_CONFIG },
  sveltekit: { label: "SvelteKit", defaultPort: 5173, health: "http", portArgs: portFlag, config: VITE_CONFIG },
  angular: { label: "Angular", defaultPort: 4200, health: "http", portArgs: portFlag },
  vite: { label: "Vite", defaultPort: 5173, health: "http", portArgs: portFlag, config: VITE_CONFIG },
  cra: { label: "Create React App", defaultPort: 3000, health: "http" },
  gatsby: { label: "Gatsby", defaultPort: 8000, health: "http", portArgs: portFlag },
  docusaurus: { label: "Docusaurus", defaultPort: 3000, health: "http", portArgs: portFlag },
  "webpack-dev-server": { label: "webpack-dev-server", defaultPort: 8080, health: "http", portArgs: portFlag },
  parcel: { label: "Parcel", defaultPort: 1234, health: "http", portArgs: portFlag },
  "vue-cli": { label: "Vue CLI", defaultPort: 8080, health: "http", portArgs: portFlag },
  nest: { label: "NestJS", defaultPort: 3000, health: "tcp" },
  express: { label: "Express", defaultPort: 3000, health: "tcp" },
  fastify: { label: "Fastify", defaultPort: 3000, health: "tcp" },
  koa: { label: "Koa", defaultPort: 3000, health: "tcp" },
  hapi: { label: "hapi", defaultPort: 3000, health: "tcp" },
  hono: { label: "Hono", defaultPort: 3000, health: "tcp" },
  node: { label: "a Node.js server", defaultPort: 3000, health: "tcp" },
} as const satisfies Record<string, Framework>;

export type FrameworkId = keyof typeof FRAMEWORKS;

/** Dependencies that identify a framework, most specific first (meta-frameworks before the Vite they build on). */
const FRAMEWORK_DEPENDENCIES: readonly [string, FrameworkId][] = [
  ["next", "next"], ["nuxt", "nuxt"], ["astro", "astro"], ["@remix-run/dev", "remix"], ["@react-router/dev", "react-router"],
  ["@sveltejs/kit", "sveltekit"], ["@angular/core", "angular"], ["gatsby", "gatsby"], ["@docusaurus/core", "docusaurus"],
  ["react-scripts", "cra"], ["@vue/cli-service", "vue-cli"], ["@nestjs/core", "nest"], ["vite", "vite"], ["parcel", "parcel"],
  ["express", "express"], ["fastify", "fastify"], ["koa", "koa"], ["@hapi/hapi", "hapi"], ["hono", "hono"],
];

/** HTTP server libraries: what a `node server.js` script is probably running. */
const SERVER_DEPENDENCIES: readonly [string, FrameworkId][] = [
  ["@nestjs/core", "nest"], ["express", "express"], ["fastify", "fastify"], ["koa", "koa"], ["@hapi/hapi", "hapi"], ["hono", "hono"],
];

/** Runtimes that run a script file: the file decides whether it is a server. */
const RUNTIMES: ReadonlySet<string> = new Set(["node", "nodemon", "tsx", "ts-node", "ts-node-dev", "bun", "node-dev", "esno", "vite-node"]);
/** Tools that build, test or lint but never serve. */
const NOT_SERVERS: ReadonlySet<string> = new Set(["tsc", "tsup", "rollup", "esbuild", "babel", "jest", "vitest", "eslint", "prettier", "unbuild", "swc", "microbundle", "tsdown"]);

export interface ScriptAnalysis {
  framework?: FrameworkId;
  /** How it was recognised, for the reason ("runs `next`", "depends on express"). */
  how: string;
  /** A script file the runtime runs (`node server.js` → server.js). */
  entry?: string;
  /** True when the script is known not to be a server (a build watcher, a test runner). */
  notServer?: boolean;
}

function binaryName(token: string): string {
  const unquoted = token.replace(/^['"]|['"]$/g, "");
  return unquoted.slice(unquoted.lastIndexOf("/") + 1);
}

function dependencyFramework(dependencies: ReadonlySet<string>, table: readonly [string, FrameworkId][]): FrameworkId | undefined {
  return table.find(([dependency]) => dependencies.has(dependency))?.[1];
}

/** Vite is the dev server of several meta-frameworks; the dependencies say which one. */
function refineVite(dependencies: ReadonlySet<string>): FrameworkId {
  if (dependencies.has("@sveltejs/kit")) return "sveltekit";
  if (dependencies.has("@remix-run/dev")) return "remix-vite";
  if (dependencies.has("@react-router/dev")) return "react-router";
  if (dependencies.has("astro")) return "astro";
  return "vite";
}

/** Recognises what a (fully expanded) script runs. */
export function analyzeScript(script: string, dependencies: ReadonlySet<string>): ScriptAnalysis {
  const tokens = script.split(/\s+/).filter(Boolean);
  // A build step before the server (`tsc -p . && node dist/server.js`) does not make the script a build.
  let builder: ScriptAnalysis | undefined;
  for (const [index, token] of tokens.entries()) {
    const name = binaryName(token);
    const next = binaryName(tokens[index + 1] ?? "");
    const runs = (framework: FrameworkId): ScriptAnalysis => ({ framework, how: `runs \`${name}\`` });
    switch (name) {
      case "next": case "nuxt": case "nuxi": case "astro": case "gatsby": case "docusaurus": case "parcel":
        if (next === "build" || next === "generate" || next === "lint") {
          builder ??= { notServer: true, how: `runs \`${name} ${next}\`` };
          break;
        }
        return runs(name === "nuxi" ? "nuxt" : (name as FrameworkId));
      case "remix":
        return runs(next === "vite:dev" ? "remix-vite" : "remix");
      case "react-router":
        return runs("react-router");
      case "svelte-kit":
        return runs("sveltekit");
      case "vite":
        if (next === "build") {
          builder ??= { notServer: true, how: "runs `vite build`" };
          break;
        }
        return { framework: refineVite(dependencies), how: "runs `vite`" };
      case "ng":
        return runs("angular");
      case "react-scripts":
        return runs("cra");
      case "webpack-dev-server":
        return runs("webpack-dev-server");
      case "webpack":
        if (next === "serve") return runs("webpack-dev-server");
        builder ??= { notServer: true, how: "runs `webpack`" };
        break;
      case "vue-cli-service":
        return runs("vue-cli");
      case "nest":
        return runs("nest");
      default:
        if (RUNTIMES.has(name)) {
          const entry = tokens.slice(index + 1).map((t) => t.replace(/^['"]|['"]$/g, "")).find((t) => /\.(?:[cm]?[jt]s|[jt]sx)$/.test(t) && !t.startsWith("-"));
          const server = dependencyFramework(dependencies, SERVER_DEPENDENCIES);
          return { framework: server ?? "node", how: `runs \`${name}\`${entry ? ` on ${entry}` : ""}`, ...(entry ? { entry } : {}) };
        }
        if (NOT_SERVERS.has(name)) builder ??= { notServer: true, how: `runs \`${name}\`` };
    }
  }
  if (builder) return builder;
  const guessed = dependencyFramework(dependencies, FRAMEWORK_DEPENDENCIES);
  return guessed
    ? { framework: guessed, how: `runs \`${tokens[0] ?? ""}\`; ${FRAMEWORKS[guessed].label} guessed from the dependencies` }
    : { how: `runs \`${tokens[0] ?? ""}\`` };
}

/** Ports written in server code: `process.env.PORT || 4000`, `.listen(4000)`, `const PORT = 4000`. */
const SOURCE_PORT_PATTERNS: readonly RegExp[] = [
  /process\.env\.PORT\s*(?:\|\||\?\?)\s*['"]?(\d{1,5})/,
  /\.listen\(\s*(\d{1,5})\b/,
  /\bport\s*[:=]\s*(\d{1,5})\b/i,
];

export function portFromSource(source: string): number | undefined {
  for (const pattern of SOURCE_PORT_PATTERNS) {
    const port = parsePort(pattern.exec(source)?.[1]);
    if (port !== undefined) return port;
  }
  return undefined;
}

/** Whether a script file starts a server at all (a CLI tool also has a `start` script). */
export function looksLikeServer(source: string): boolean {
  return /\.listen\(|createServer\(|Bun\.serve\(|\bserve\(\s*\{/.test(source);
}

/** The dev server's port from the framework's config file, e.g. `server: { port: 3001 }` in vite.config.ts. */
export function portFromFrameworkConfig(files: FileView, framework: Framework): PortEvidence | undefined {
  for (const file of framework.config?.files ?? []) {
    const text = files.read(file);
    const port = parsePort(text === undefined ? undefined : framework.config!.port.exec(text)?.[1]);
    if (port !== undefined) return { port, source: `${file} (\`port: ${port}\`)` };
  }
  return undefined;
}

