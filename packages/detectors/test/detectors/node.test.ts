import t from "tap";
import { memoryFileView, nodeDetector } from "../../src/index.js";
import { detectNode } from "../../src/detectors/node/index.js";
import { json, reasons, services, setups } from "../helpers.js";

/** The install command, after the guard that installs pnpm/yarn/bun when the image lacks it. */
const install = (hints: ReturnType<typeof detectNode>) => setups(hints).filter((command) => !command.startsWith("if ! command -v"));

const pkg = (manifest: Record<string, unknown>, extra: Record<string, string> = {}) =>
  detectNode(memoryFileView({ "package.json": json(manifest), ...extra }));

t.test("no package.json: nothing", async (t) => {
  t.same(detectNode(memoryFileView({ "index.html": "<p>" })), []);
});

t.test("the descriptor is a branded detector whose instance detects", async (t) => {
  t.equal(nodeDetector.kind, "detector");
  t.equal(nodeDetector.name, "node");
  const instance = await nodeDetector.create({} as never, undefined);
  t.equal(services(instance.detect(memoryFileView({ "package.json": json({ scripts: { dev: "vite" } }) })))[0]?.port, 5173);
});

t.test("package manager from the lockfile", async (t) => {
  const cases: [Record<string, string>, string, RegExp][] = [
    [{ "package-lock.json": "{}" }, "npm ci", /package-lock\.json found/],
    [{ "npm-shrinkwrap.json": "{}" }, "npm ci", /npm-shrinkwrap\.json found/],
    [{ "pnpm-lock.yaml": "lockfileVersion: '9.0'" }, "pnpm install --frozen-lockfile", /pnpm-lock\.yaml found/],
    [{ "yarn.lock": "# yarn lockfile v1\n" }, "yarn install --frozen-lockfile", /yarn\.lock found/],
    [{ "yarn.lock": "__metadata:\n  version: 8\n" }, "yarn install --immutable", /yarn\.lock found/],
    [{ "yarn.lock": "# yarn lockfile v1\n", ".yarnrc.yml": "nodeLinker: node-modules\n" }, "yarn install --immutable", /yarn\.lock found/],
    [{ "bun.lockb": "\u0000binary" }, "bun install", /bun\.lockb found/],
    [{ "bun.lock": "{}" }, "bun install", /bun\.lock found/],
    [{}, "npm install", /no lockfile/],
  ];
  for (const [lockfiles, install, reason] of cases) {
    const hints = pkg({ name: "x" }, lockfiles);
    t.same(setups(hints).slice(-1), [install], `${Object.keys(lockfiles).join(", ") || "no lockfile"} → ${install}`);
    t.match(hints[0]!.reason, reason);
  }
});

t.test("pnpm, yarn and bun are installed first when the image lacks them; npm is in every image", async (t) => {
  t.same(setups(pkg({}, { "pnpm-lock.yaml": "" })), ["if ! command -v pnpm >/dev/null 2>&1; then sudo npm install -g corepack && sudo corepack enable pnpm; fi", "pnpm install --frozen-lockfile"]);
  t.same(setups(pkg({}, { "yarn.lock": "" })), ["if ! command -v yarn >/dev/null 2>&1; then sudo npm install -g corepack && sudo corepack enable yarn; fi", "yarn install --frozen-lockfile"]);
  t.same(setups(pkg({}, { "bun.lock": "" })), ["if ! command -v bun >/dev/null 2>&1; then sudo npm install -g bun; fi", "bun install"]);
  t.same(setups(pkg({}, { "package-lock.json": "{}" })), ["npm ci"]);
  t.match(pkg({}, { "pnpm-lock.yaml": "" })[0]!.reason, /pnpm is installed first when the image lacks it/);
});

t.test("packageManager without a lockfile picks the manager", async (t) => {
  const hints = pkg({ packageManager: "pnpm@9.12.0+sha512.abc" });
  t.same(install(hints), ["pnpm install"]);
  t.match(hints[0]!.reason, /`packageManager` names pnpm/);
  t.same(install(pkg({ packageManager: "yarn@4.5.0" })), ["yarn install"]);
});

t.test("a lockfile outranks a disagreeing packageManager, and the reason says so", async (t) => {
  const hints = pkg({ packageManager: "pnpm@9.0.0" }, { "package-lock.json": "{}" });
  t.same(setups(hints), ["npm ci"]);
  t.match(hints[0]!.reason, /`packageManager` names pnpm, but the lockfile decides/);
});

t.test("conflicting lockfiles: packageManager decides, else the fixed precedence, and the reason says which", async (t) => {
  const both = { "package-lock.json": "{}", "yarn.lock": "# yarn lockfile v1\n", "pnpm-lock.yaml": "" };
  const declared = pkg({ packageManager: "yarn@1.22.22" }, both);
  t.same(install(declared), ["yarn install --frozen-lockfile"]);
  t.match(declared[0]!.reason, /several package managers \(pnpm-lock\.yaml, yarn\.lock, package-lock\.json\); package\.json's `packageManager` names yarn/);

  const precedence = pkg({}, both);
  t.same(install(precedence), ["pnpm install --frozen-lockfile"]);
  t.match(precedence[0]!.reason, /picked pnpm by the fixed precedence pnpm > yarn > bun > npm/);

  const npmAndBun = pkg({}, { "package-lock.json": "{}", "bun.lockb": "" });
  t.same(install(npmAndBun), ["bun install"]);

  const undeclaredManager = pkg({ packageManager: "npm@10.0.0" }, { "pnpm-lock.yaml": "", "yarn.lock": "" });
  t.same(install(undeclaredManager), ["pnpm install --frozen-lockfile"], "packageManager naming a manager with no lockfile does not decide");
});

t.test("the service runs the dev script with the package manager", async (t) => {
  const cases: [Record<string, string>, string][] = [
    [{ "package-lock.json": "{}" }, "npm run dev"],
    [{ "pnpm-lock.yaml": "" }, "pnpm run dev"],
    [{ "yarn.lock": "" }, "yarn run dev"],
    [{ "bun.lock": "" }, "bun run dev"],
  ];
  for (const [lockfiles, command] of cases) {
    const [service] = services(pkg({ scripts: { dev: "vite" }, devDependencies: { vite: "6" } }, lockfiles));
    t.equal(service?.command, command);
    t.equal(service?.name, "web");
  }
});

t.test("dev wins over start; start is used when there is no dev script", async (t) => {
  t.equal(services(pkg({ scripts: { dev: "next dev", start: "next start" }, dependencies: { next: "15" } }))[0]?.command, "npm run dev");
  const startOnly = pkg({ scripts: { start: "node server.js" }, dependencies: { express: "4" } }, { "server.js": "app.listen(8080)" });
  t.equal(services(startOnly)[0]?.command, "npm run start");
  t.equal(services(startOnly)[0]?.port, 8080);
});

t.test("a start script that serves a build adds the build script to setup", async (t) => {
  const hints = pkg({ scripts: { build: "tsc", start: "node dist/index.js" }, dependencies: { express: "4" } }, { "src/index.ts": "app.listen(3001)", "package-lock.json": "{}" });
  t.same(setups(hints), ["npm ci", "npm run build"]);
  t.equal(services(hints)[0]?.port, 3001, "the port is read from the source when the built file is not committed");
  t.match(reasons(hints), /usually serves a build/);
});

t.test("port from the script, in every form, before the framework default", async (t) => {
  const cases: [string, number][] = [
    ["next dev --port 4000", 4000],
    ["next dev --port=4001", 4001],
    ["next dev -p 4002", 4002],
    ["next dev -p=4003", 4003],
    ["PORT=4004 next dev", 4004],
    ["cross-env PORT=4005 next dev", 4005],
    ["next dev --turbopack -p 4006", 4006],
  ];
  for (const [dev, port] of cases) {
    const hints = pkg({ scripts: { dev }, dependencies: { next: "15" } });
    t.equal(services(hints)[0]?.port, port, dev);
    t.match(hints[1]!.reason, /in the `dev` script/);
  }
  t.equal(services(pkg({ scripts: { dev: "tsc -p tsconfig.json && next dev" }, dependencies: { next: "15" } }))[0]?.port, 3000, "-p followed by a file is not a port");
  t.equal(services(pkg({ scripts: { dev: "APP_PORT=9 next dev" }, dependencies: { next: "15" } }))[0]?.port, 3000, "only PORT itself counts");
});

t.test("a script that calls another script is analysed through it", async (t) => {
  const hints = pkg({ scripts: { dev: "npm run dev:web", "dev:web": "astro dev --port 4400" }, dependencies: { astro: "5" } });
  const [service] = services(hints);
  t.equal(service?.command, "npm run dev");
  t.equal(service?.port, 4400);
});

t.test("framework defaults and health checks", async (t) => {
  const cases: [string, Record<string, string>, number, "http" | "tcp", RegExp, Record<string, string>?][] = [
    ["next dev", { next: "15" }, 3000, "http", /Next\.js/],
    ["vite", { vite: "6" }, 5173, "http", /Vite/],
    ["nuxt dev", { nuxt: "3" }, 3000, "http", /Nuxt/],
    ["nuxi dev", { nuxt: "3" }, 3000, "http", /Nuxt/],
    ["astro dev", { astro: "5" }, 4321, "http", /Astro/],
    ["remix dev", { "@remix-run/dev": "2" }, 3000, "http", /Remix \(classic/],
    ["remix vite:dev", { "@remix-run/dev": "2" }, 5173, "http", /Remix \(Vite\)/],
    ["vite dev", { "@remix-run/dev": "2", vite: "5" }, 5173, "http", /Remix \(Vite\)/],
    ["react-router dev", { "@react-router/dev": "7" }, 5173, "http", /React Router/],
    ["vite dev", { "@sveltejs/kit": "2", vite: "6" }, 5173, "http", /SvelteKit/],
    ["ng serve", { "@angular/core": "19" }, 4200, "http", /Angular/],
    ["react-scripts start", { "react-scripts": "5" }, 3000, "http", /Create React App/],
    ["gatsby develop", { gatsby: "5" }, 8000, "http", /Gatsby/],
    ["nest start --watch", { "@nestjs/core": "10" }, 3000, "tcp", /NestJS/],
    ["nodemon index.js", { express: "4" }, 3000, "tcp", /Express/, { "index.js": "const app = express(); app.listen(process.env.PORT)" }],
    ["node server.js", { fastify: "5" }, 3000, "tcp", /Fastify/],
  ];
  for (const [dev, dependencies, port, health, label, extra] of cases) {
    const hints = pkg({ scripts: { dev }, dependencies }, extra);
    const [service] = services(hints);
    t.equal(service?.port, port, `${dev} → ${port}`);
    t.equal(service?.health_check?.type, health, `${dev} → ${health}`);
    if (health === "http") t.same(service?.health_check, { type: "http", path: "/" });
    t.match(reasons(hints), label);
  }
});

t.test("the port in a framework config file beats the default", async (t) => {
  const hints = pkg({ scripts: { dev: "vite" }, devDependencies: { vite: "6" } }, { "vite.config.ts": "export default defineConfig({\n  server: {\n    host: true,\n    port: 3100,\n  },\n})" });
  t.equal(services(hints)[0]?.port, 3100);
  t.match(reasons(hints), /vite\.config\.ts/);
  const script = pkg({ scripts: { dev: "vite --port 3200" }, devDependencies: { vite: "6" } }, { "vite.config.ts": "server: { port: 3100 }" });
  t.equal(services(script)[0]?.port, 3200, "the script's flag beats the config file");
});

t.test("server ports found in the code", async (t) => {
  const cases: [string, number][] = [
    ["const port = process.env.PORT || 4100;", 4100],
    ["app.listen(process.env.PORT ?? '4200')", 4200],
    ["server.listen(4300, () => {})", 4300],
    ["const PORT = 4400\napp.listen(PORT)", 4400],
  ];
  for (const [source, port] of cases) {
    t.equal(services(pkg({ scripts: { start: "node src/server.js" }, dependencies: { express: "4" } }, { "src/server.js": source }))[0]?.port, port, source);
  }
  const nest = pkg({ scripts: { "start:dev": "nest start --watch", start: "nest start" }, dependencies: { "@nestjs/core": "10" } }, { "src/main.ts": "await app.listen(process.env.PORT ?? 3333);" });
  t.equal(services(nest)[0]?.port, 3333, "nest's src/main.ts");
});

t.test("plain `node server.js` without a start script (what `npm start` runs)", async (t) => {
  const hints = pkg({ name: "tiny" }, { "server.js": "require('http').createServer(handler).listen(8081)" });
  t.same(services(hints)[0], { name: "web", command: "node server.js", port: 8081, health_check: { type: "tcp" } });
  const main = pkg({ main: "app.js" }, { "app.js": "http.createServer().listen(process.env.PORT || 5050)" });
  t.equal(services(main)[0]?.command, "node app.js");
  t.equal(services(main)[0]?.port, 5050);
});

t.test("no service when nothing serves, with the reason", async (t) => {
  const library = pkg({ main: "index.js", scripts: { build: "tsup", test: "vitest" } }, { "index.js": "module.exports = 1" });
  t.same(services(library), []);
  t.match(reasons(library), /no `dev` or `start` script/);

  const watcher = pkg({ scripts: { dev: "tsup --watch" } });
  t.same(services(watcher), []);
  t.match(reasons(watcher), /`dev` script runs `tsup`, which nexus does not recognise as a server/);

  const cli = pkg({ scripts: { start: "node cli.js" } }, { "cli.js": "console.log(process.argv)" });
  t.same(services(cli), []);
  t.match(reasons(cli), /nothing shows it starts a server/);

  const unknown = pkg({ scripts: { dev: "my-custom-tool watch" } });
  t.same(services(unknown), []);
  t.same(setups(unknown), ["npm install"], "setup is still generated");

  const noScripts = pkg({ name: "empty" });
  t.same(services(noScripts), []);
});

t.test("dev that is not a server falls through to start", async (t) => {
  const hints = pkg({ scripts: { dev: "tsc --watch", start: "node dist/server.js" }, dependencies: { koa: "2" } }, { "src/server.ts": "app.listen(7000)" });
  t.equal(services(hints)[0]?.command, "npm run start");
  t.equal(services(hints)[0]?.port, 7000);
});

t.test("an invalid package.json is an invalid_config error naming the file and position", async (t) => {
  t.throws(() => detectNode(memoryFileView({ "package.json": "{\n  \"name\": \"x\",\n  \"scripts\": {,}\n}" })), {
    code: "invalid_config",
    message: /^package\.json:3:\d+: invalid JSON/,
    details: { file: "package.json", line: 3 },
  });
  t.throws(() => detectNode(memoryFileView({ "package.json": "[1, 2]" })), { code: "invalid_config", message: /package\.json: expected a JSON object/ });
  t.throws(() => detectNode(memoryFileView({ "package.json": "{ // comment\n}" })), { code: "invalid_config", message: /package\.json:1:3/ }, "comments are not JSON");
  t.throws(
    () => detectNode(memoryFileView({ "package.json": json({ workspaces: ["apps/*"] }), "apps/web/package.json": "{ nope" })),
    { code: "invalid_config", message: /^apps\/web\/package\.json:1:3/ },
    "a workspace package's file is named with its path",
  );
});

t.test("workspaces: one service per runnable package, install once at the root", async (t) => {
  const hints = detectNode(memoryFileView({
    "package.json": json({ name: "mono", private: true, workspaces: ["apps/*", "packages/*"], scripts: { dev: "turbo dev" } }),
    "package-lock.json": "{}",
    "apps/web/package.json": json({ name: "@mono/web", scripts: { dev: "next dev" }, dependencies: { next: "15" } }),
    "apps/api/package.json": json({ name: "@mono/api", scripts: { dev: "tsx watch src/index.ts" }, dependencies: { express: "4" } }),
    "apps/api/src/index.ts": "app.listen(Number(process.env.PORT ?? 4000))",
    "packages/ui/package.json": json({ name: "@mono/ui", scripts: { dev: "tsup --watch" } }),
    "packages/config/README.md": "not a package",
  }));
  t.same(setups(hints), ["npm ci"], "one install, at the root");
  t.match(hints[0]!.reason, /once at the root with npm \(3 packages from package\.json `workspaces`\)/);
  t.same(services(hints).map((s) => [s.name, s.command, s.port]), [["api", "npm run dev", 4000], ["web", "npm run dev", 3000]]);
  t.same(hints.filter((h) => h.service).map((h) => h.dir), ["apps/api", "apps/web"], "commands are relative to the package dir");
  t.match(reasons(hints), /no service for packages\/ui/);
});

t.test("workspaces: yarn's object form, pnpm-workspace.yaml, negations and ** globs", async (t) => {
  const yarn = detectNode(memoryFileView({
    "package.json": json({ private: true, workspaces: { packages: ["services/*"], nohoist: ["**/react-native"] } }),
    "yarn.lock": "# yarn lockfile v1\n",
    "services/shop/package.json": json({ scripts: { dev: "vite" }, devDependencies: { vite: "6" } }),
  }));
  t.same(services(yarn).map((s) => [s.name, s.command]), [["shop", "yarn run dev"]]);

  const pnpm = detectNode(memoryFileView({
    "package.json": json({ name: "root", private: true }),
    "pnpm-lock.yaml": "",
    "pnpm-workspace.yaml": "packages:\n  - 'apps/**'\n  - '!**/fixtures/**'\n",
    "apps/site/package.json": json({ scripts: { dev: "astro dev" }, dependencies: { astro: "5" } }),
    "apps/group/admin/package.json": json({ scripts: { dev: "vite" }, devDependencies: { vite: "6" } }),
    "apps/site/fixtures/demo/package.json": json({ scripts: { dev: "vite" }, devDependencies: { vite: "6" } }),
  }));
  t.same(install(pnpm), ["pnpm install --frozen-lockfile"]);
  t.same(services(pnpm).map((s) => [s.name, s.port]), [["admin", 5173], ["site", 4321]]);
  t.match(pnpm[0]!.reason, /pnpm-workspace\.yaml/);
});

t.test("workspaces: equal default ports are shifted, with flag and PORT, and the reason says so", async (t) => {
  const hints = detectNode(memoryFileView({
    "package.json": json({ private: true, workspaces: ["apps/*"] }),
    "pnpm-lock.yaml": "",
    "apps/a/package.json": json({ scripts: { dev: "next dev" }, dependencies: { next: "15" } }),
    "apps/b/package.json": json({ scripts: { dev: "next dev" }, dependencies: { next: "15" } }),
    "apps/c/package.json": json({ scripts: { dev: "remix dev" }, devDependencies: { "@remix-run/dev": "2" } }),
    "apps/d/package.json": json({ scripts: { dev: "node server.js" }, dependencies: { express: "4" } }),
    "apps/d/server.js": "app.listen(process.env.PORT || 3000)",
  }));
  const byName = Object.fromEntries(services(hints).map((s) => [s.name, s]));
  t.same([byName.a?.port, byName.b?.port, byName.c?.port, byName.d?.port], [3000, 3001, 3002, 3003]);
  t.equal(byName.a?.env, undefined);
  t.equal(byName.b?.command, "pnpm run dev --port 3001", "pnpm passes script arguments without --");
  t.same(byName.b?.env, { PORT: "3001" });
  t.equal(byName.c?.command, "pnpm run dev", "classic remix takes no port flag: PORT only");
  t.same(byName.c?.env, { PORT: "3002" });
  t.match(reasons(hints), /3000 is already taken by `a`, so it moves to 3001 \(PORT=3001 and `--port 3001`\)/);
  t.match(reasons(hints), /moves to 3003 \(PORT=3003, assuming the server reads PORT\)/);

  const npm = detectNode(memoryFileView({
    "package.json": json({ workspaces: ["apps/*"] }),
    "package-lock.json": "{}",
    "apps/a/package.json": json({ scripts: { dev: "vite" }, devDependencies: { vite: "6" } }),
    "apps/b/package.json": json({ scripts: { dev: "vite" }, devDependencies: { vite: "6" } }),
  }));
  t.equal(services(npm)[1]?.command, "npm run dev -- --port 5174", "npm needs -- before script arguments");
});

t.test("workspaces: names from directories, made unique and valid", async (t) => {
  const hints = detectNode(memoryFileView({
    "package.json": json({ workspaces: ["apps/*", "packages/*"] }),
    "apps/Web_App/package.json": json({ scripts: { dev: "vite --port 6001" }, devDependencies: { vite: "6" } }),
    "apps/web/package.json": json({ scripts: { dev: "vite --port 6002" }, devDependencies: { vite: "6" } }),
    "packages/web/package.json": json({ scripts: { dev: "vite --port 6003" }, devDependencies: { vite: "6" } }),
  }));
  t.same(services(hints).map((s) => s.name), ["web_app", "apps-web", "packages-web"]);
});

t.test("workspaces that select no runnable package fall back to the root's scripts", async (t) => {
  const hints = detectNode(memoryFileView({
    "package.json": json({ workspaces: ["packages/*"], scripts: { dev: "vite" }, devDependencies: { vite: "6" } }),
    "packages/lib/package.json": json({ scripts: { build: "tsc" } }),
  }));
  t.same(services(hints).map((s) => [s.name, s.command]), [["web", "npm run dev"]]);
  t.match(reasons(hints), /selects no package that serves, so the root package\.json is used/);
});
