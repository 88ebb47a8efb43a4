import t from "tap";
import { parse } from "yaml";
import { PLUGIN_API_VERSION, defineDetector, type ServiceHint } from "@nexus/core";
import { z } from "zod";
import { builtinDetectors, detectProject, memoryFileView, renderConfigYaml } from "../src/index.js";
import { json } from "./helpers.js";

const hintDetector = (name: string, hints: Omit<ServiceHint, "detector">[]) => ({ name, detect: () => hints.map((hint) => ({ detector: name, ...hint })) });

t.test("builtinDetectors: every first-party detector, in precedence order", async (t) => {
  t.same(builtinDetectors.map((d) => d.name), ["node", "python", "ruby", "go", "compose", "devcontainer", "static"]);
  for (const detector of builtinDetectors) {
    t.equal(detector.kind, "detector");
    t.equal(detector.apiVersion, PLUGIN_API_VERSION);
    t.ok(Object.isFrozen(detector));
  }
});

t.test("an empty repository gives a valid, service-less config that says so", async (t) => {
  const result = await detectProject(memoryFileView({ "README.md": "# hi" }));
  t.same(result.config, { version: 1, name: "project" });
  t.same(result.guesses, []);
  t.match(result.yaml, /No service was detected/);
});

t.test("name: given (the repo directory), else the manifest's, sanitised", async (t) => {
  const files = memoryFileView({ "package.json": json({ name: "@acme/Shop_Front" }) });
  t.equal((await detectProject(files)).config.name, "shop-front");
  t.equal((await detectProject(files, { name: "My Repo.git" })).config.name, "my-repo-git");
  t.equal((await detectProject(memoryFileView({ "pyproject.toml": "[project]\nname = 'ml_tools'\n" }))).config.name, "ml-tools");
  t.equal((await detectProject(memoryFileView({ "go.mod": "module github.com/acme/billing/v3\n" }))).config.name, "billing");
  t.equal((await detectProject(memoryFileView({ "package.json": "{ broken" }))).config.name, "project");
});

t.test("lifecycle: commands joined so the first failure stops the script; package dirs run in a subshell", async (t) => {
  const result = await detectProject(memoryFileView({}), {
    detectors: [
      hintDetector("a", [{ dir: ".", reason: "r1", setup: ["npm ci"] }, { dir: "apps/web", reason: "r2", setup: ["npm run build", "npm ci"] }]),
      hintDetector("b", [{ dir: ".", reason: "r3", setup: ["npm ci"], post_start: ["echo started"] }]),
    ],
  });
  t.equal(result.config.lifecycle?.setup, "npm ci &&\n(cd apps/web && npm run build) &&\n(cd apps/web && npm ci)", "duplicates are dropped");
  t.equal(result.config.lifecycle?.post_start, "echo started");
});

t.test("commands that would break out of an && chain are grouped", async (t) => {
  const result = await detectProject(memoryFileView({}), {
    detectors: [hintDetector("x", [{ dir: ".", reason: "r", setup: [
      "make deps",
      "test -f .env || cp .env.example .env",
      "npm ci; npm run build",
      "npm run watch &",
      "npm ci # install",
      "if ! command -v pnpm >/dev/null 2>&1; then npm i -g pnpm; fi",
      "npm test 2>&1 | tee log",
    ] }])],
  });
  t.equal(result.config.lifecycle?.setup, [
    "make deps",
    "{ test -f .env || cp .env.example .env; }",
    "{ npm ci; npm run build; }",
    "{ npm run watch &\n}",
    "{ npm ci # install\n}",
    "if ! command -v pnpm >/dev/null 2>&1; then npm i -g pnpm; fi",
    "npm test 2>&1 | tee log",
  ].join(" &&\n"));
  const single = await detectProject(memoryFileView({}), { detectors: [hintDetector("x", [{ dir: ".", reason: "r", setup: ["a || b"] }])] });
  t.equal(single.config.lifecycle?.setup, "a || b", "a lone command is left as written");
});

t.test("setup steps that already ran in the same directory are not repeated", async (t) => {
  const result = await detectProject(memoryFileView({}), {
    detectors: [
      hintDetector("node", [{ dir: ".", reason: "r", setup: ["npm ci"] }, { dir: "web", reason: "r", setup: ["pnpm install --frozen-lockfile"] }]),
      hintDetector("devcontainer", [
        { dir: ".", reason: "r", setup: ["npm install && npx playwright install"] },
        { dir: ".", reason: "r", setup: ["npm i"] },
        { dir: ".", reason: "r", setup: ["pnpm install"] },
        { dir: ".", reason: "r", setup: ["bash -c 'npm ci && echo done'"] },
      ]),
    ],
  });
  t.equal(result.config.lifecycle?.setup, "npm ci &&\n(cd web && pnpm install --frozen-lockfile) &&\nnpx playwright install &&\npnpm install &&\nbash -c 'npm ci && echo done'");
  const reasons = result.guesses.map((g) => g.reason).join("\n");
  t.match(reasons, /setup already runs `npm install` \(as `npm ci`\), so only the rest of this command is added/);
  t.match(reasons, /setup already runs `npm i` \(as `npm ci`\), so this command is not repeated/);
});

t.test("services: prefixed with cd for package dirs; names sanitised; name clashes renamed", async (t) => {
  const result = await detectProject(memoryFileView({}), {
    detectors: [
      hintDetector("a", [
        { dir: "apps/my web", reason: "r", service: { name: "Web App!", command: "npm run dev", port: 3000 } },
        { dir: ".", reason: "r", service: { name: "worker", command: "npm run worker" } },
      ]),
      hintDetector("b", [{ dir: ".", reason: "r", service: { name: "worker", command: "python worker.py" } }]),
    ],
  });
  t.same(result.config.services, {
    "web-app": { command: "cd 'apps/my web' && npm run dev", port: 3000 },
    worker: { command: "npm run worker" },
    "worker-2": { command: "python worker.py" },
  });
  t.match(result.guesses.map((g) => g.reason).join("\n"), /service name `worker` is taken by `worker` \(a\), so this one is `worker-2`/);
});

t.test("services on the same port: one service in the same dir (depends_on and env merged), a moved port in another dir", async (t) => {
  const result = await detectProject(memoryFileView({}), {
    detectors: [
      hintDetector("node", [{ dir: ".", reason: "r", service: { name: "web", command: "npm run dev", port: 3000, env: { A: "1" } } }]),
      hintDetector("compose", [
        { dir: ".", reason: "r", service: { name: "app", command: "npm start", port: 3000, depends_on: ["cache"], env: { A: "2", B: "3" } } },
        { dir: ".", reason: "r", service: { name: "cache", command: "redis-server", port: 6379 } },
        { dir: ".", reason: "r", service: { name: "front", command: "npm start", port: 9999, depends_on: ["app"] } },
        { dir: "other", reason: "r", service: { name: "other", command: "npm run dev", port: 3000 } },
      ]),
    ],
  });
  t.same(result.config.services, {
    web: { command: "npm run dev", port: 3000, env: { A: "1", B: "3" }, depends_on: ["cache"] },
    cache: { command: "redis-server", port: 6379 },
    front: { command: "npm start", port: 9999, depends_on: ["web"] },
    other: { command: "cd other && npm run dev", port: 3001, env: { PORT: "3001" } },
  });
  const reasons = result.guesses.map((g) => g.reason).join("\n");
  t.match(reasons, /`app` \(compose\) listens on port 3000 in \. like `web` \(node\), so they are one service: kept `web` and added its depends_on and env \(B\)/);
  t.match(reasons, /port 3000 is taken by `web`, so it moves to 3001 with PORT=3001/);
});

t.test("a service hint without a command is not generated, and that is said", async (t) => {
  const result = await detectProject(memoryFileView({}), {
    detectors: [hintDetector("x", [{ dir: ".", reason: "r", service: { name: "ghost", command: " ", port: 3000 } }])],
  });
  t.equal(result.config.services, undefined);
  t.match(result.guesses.map((g) => g.reason).join("\n"), /service `ghost` has no command, so it is not generated/);
});

t.test("bad hints are cleaned: invalid and reserved ports, env names, unknown and cyclic depends_on, bad health checks", async (t) => {
  const result = await detectProject(memoryFileView({}), {
    detectors: [
      hintDetector("x", [
        { dir: ".", reason: "r", env: { GOOD: "1", "not valid": "2" } },
        { dir: ".", reason: "r", env: { GOOD: "other" } },
        { dir: ".", reason: "r", service: { name: "a", command: "a", port: 70000, depends_on: ["b", "ghost", "a"], health_check: { type: "http", path: "health" } } },
        { dir: ".", reason: "r", service: { name: "b", command: "b", port: 22, depends_on: ["a"], health_check: { type: "exec", command: " " } } },
      ]),
    ],
  });
  t.same(result.config.env, { GOOD: "1" });
  t.same(result.config.services, {
    a: { command: "a", depends_on: ["b"], health_check: { type: "http", path: "/health" } },
    b: { command: "b" },
  });
  const reasons = result.guesses.map((g) => g.reason).join("\n");
  t.match(reasons, /70000 is not a port/);
  t.match(reasons, /22 belongs to the workspace's SSH server/);
  t.match(reasons, /env GOOD is already set to "1"; "other" was not used/);
  t.match(reasons, /depended on `ghost`, which was not generated/);
  t.match(reasons, /`b` depending on `a` would close a cycle/);
});

t.test("a failing detector is a problem naming the file; the other detectors still run", async (t) => {
  const result = await detectProject(memoryFileView({ "package.json": "{\n  \"name\": \"x\",,\n}", "requirements.txt": "flask\n", "app.py": "app = Flask(__name__)" }));
  t.equal(result.problems.length, 1);
  t.equal(result.problems[0]!.detector, "node");
  t.equal(result.problems[0]!.error.code, "invalid_config");
  t.match(result.problems[0]!.error.message, /^package\.json:2:15: invalid JSON/);
  t.ok(result.config.services?.web, "the Flask service is still generated");
  t.match(result.yaml, /What could not be read \(fix it and generate again\):\n# {3}- \[node\] package\.json:2:15: invalid JSON/);

  const crashing = await detectProject(memoryFileView({}), { detectors: [{ name: "buggy", detect: () => { throw new TypeError("boom"); } }] });
  t.equal(crashing.problems[0]?.error.code, "internal_error");
  t.match(crashing.problems[0]?.error.message, /detector:buggy: boom/);

  const escaping = await detectProject(memoryFileView({}), { detectors: [hintDetector("sneaky", [{ dir: "../outside", reason: "r" }])] });
  t.match(escaping.problems[0]?.error.message, /outside the repository/);
});

t.test("detectors given as descriptors, descriptors with options, or instances", async (t) => {
  const plain = defineDetector({ name: "plain", apiVersion: PLUGIN_API_VERSION, detect: () => [{ detector: "plain", dir: ".", reason: "p", setup: ["make"] }] });
  const withOptions = defineDetector<{ port: number }>({
    name: "configured",
    apiVersion: PLUGIN_API_VERSION,
    options: z.object({ port: z.number().default(7000) }),
    create: (_ctx, options) => ({ detect: () => [{ detector: "configured", dir: ".", reason: "c", service: { name: "svc", command: "serve", port: options.port } }] }),
  });
  const result = await detectProject(memoryFileView({}), { detectors: [plain, [withOptions, { port: 7100 }], hintDetector("inst", [{ dir: ".", reason: "i", setup: ["make more"] }])] });
  t.equal(result.config.lifecycle?.setup, "make &&\nmake more");
  t.equal(result.config.services?.svc?.port, 7100);
  const defaults = await detectProject(memoryFileView({}), { detectors: [withOptions] });
  t.equal(defaults.config.services?.svc?.port, 7000);
  await t.rejects(detectProject(memoryFileView({}), { detectors: [[withOptions, { port: "x" }]] }));
});

t.test("nothing runnable at the root: each top-level directory is tried as a package", async (t) => {
  const result = await detectProject(memoryFileView({
    "README.md": "",
    "frontend/package.json": json({ scripts: { dev: "vite" }, devDependencies: { vite: "6" } }),
    "frontend/package-lock.json": "{}",
    "backend/requirements.txt": "fastapi\nuvicorn\n",
    "backend/main.py": "app = FastAPI()",
    "docs/index.html": "<h1>docs</h1>",
    ".github/workflows/ci.yml": "",
  }));
  t.same(result.config.services, {
    backend: { command: "cd backend && .venv/bin/uvicorn main:app --host 0.0.0.0 --port 8000 --reload", port: 8000, health_check: { type: "tcp" } },
    frontend: { command: "cd frontend && npm run dev", port: 5173, health_check: { type: "http", path: "/" } },
  });
  t.equal(result.config.lifecycle?.setup, "(cd backend && python3 -m venv .venv && .venv/bin/pip install -r requirements.txt) &&\n(cd frontend && npm ci)");
  t.match(result.guesses.map((g) => g.reason).join("\n"), /top-level directories were detected as packages: backend, frontend/);
  t.ok(result.guesses.some((g) => g.dir === "frontend"), "guesses carry the package dir");
});

t.test("renderConfigYaml: header, guesses as comments, then the config as YAML", async (t) => {
  const yaml = renderConfigYaml(
    { version: 1, name: "x", lifecycle: { setup: "a &&\nb" }, services: { web: { command: "npm run dev", port: 3000 } } },
    { guesses: [{ detector: "node", dir: "apps/web", reason: "multi\nline" }] },
  );
  t.match(yaml, /^# Generated by nexus from the files in this repository/);
  t.match(yaml, /# {3}- \[node apps\/web\] multi line\n/);
  t.same(parse(yaml), { version: 1, name: "x", lifecycle: { setup: "a &&\nb" }, services: { web: { command: "npm run dev", port: 3000 } } });
});
