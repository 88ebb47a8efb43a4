import t from "tap";
import { NexusError, defineDetector, type FileView, type ServiceHint } from "@nexus/core";
import { createFileView, detectorConformanceCases, runConformanceCases, runDetectorConformance, type DetectorConformanceSetup } from "../src/index.js";

/** A small, correct detector: a package.json with a `dev` script becomes a `web` service. */
function nodeHints(files: FileView): ServiceHint[] {
  const text = files.read("package.json");
  if (text === undefined) return [];
  const pkg = JSON.parse(text) as { scripts?: Record<string, string> };
  if (!pkg.scripts?.dev) return [];
  const port = /--port[= ](\d+)/.exec(pkg.scripts.dev)?.[1];
  return [{
    detector: "node-sample",
    dir: ".",
    reason: "package.json has a `dev` script",
    setup: [files.exists("pnpm-lock.yaml") ? "pnpm install" : "npm ci"],
    service: { name: "web", command: "npm run dev", port: port ? Number(port) : 5173, health_check: { type: "http", path: "/" } },
  }];
}

const fixtures: DetectorConformanceSetup["fixtures"] = [
  { name: "vite app", files: { "package.json": JSON.stringify({ scripts: { dev: "vite --port 4000" } }), "src/main.ts": "" } },
  { name: "library without dev script", files: { "package.json": JSON.stringify({ scripts: { test: "tap" } }) }, expectHints: false },
];

const good = defineDetector({ name: "node-sample", apiVersion: 1, detect: nodeHints });

t.test("a correct detector passes through the tap binding", async (t) => {
  await runDetectorConformance(t, { descriptor: good, fixtures });
});

const mapHints = (change: (hint: ServiceHint) => ServiceHint) => (files: FileView) => nodeHints(files).map(change);

const broken: Array<{ name: string; detect: (files: FileView) => ServiceHint[]; fails: string[]; message: RegExp; fixtures?: DetectorConformanceSetup["fixtures"] }> = [
  { name: "a hint without a reason", detect: mapHints((h) => ({ ...h, reason: " " })), fails: ["hints:vite app"], message: /no reason/ },
  { name: "a port out of range", detect: mapHints((h) => ({ ...h, service: { ...h.service!, port: 70_000 } })), fails: ["hints:vite app"], message: /port 70000/ },
  { name: "an invalid service name", detect: mapHints((h) => ({ ...h, service: { ...h.service!, name: "Web App" } })), fails: ["hints:vite app"], message: /service name/ },
  { name: "an absolute dir", detect: mapHints((h) => ({ ...h, dir: "/srv/app" })), fails: ["hints:vite app"], message: /relative POSIX path/ },
  { name: "a dir escaping the repo", detect: mapHints((h) => ({ ...h, dir: "packages/../../etc" })), fails: ["hints:vite app"], message: /relative POSIX path/ },
  { name: "another detector's name", detect: mapHints((h) => ({ ...h, detector: "node" })), fails: ["hints:vite app"], message: /hint.detector/ },
  { name: "detecting nothing", detect: () => [], fails: ["hints:vite app"], message: /found nothing/ },
  { name: "guessing services everywhere", detect: (files) => [...nodeHints(files), { detector: "node-sample", dir: ".", reason: "always" }], fails: ["empty-repository", "hints:library without dev script"], message: /guessed services/ },
  { name: "throwing on an empty repository", detect: (files) => nodeHints({ ...files, read: (p) => files.read(p) ?? "" }), fails: ["empty-repository"], message: /detect\(\) threw/ },
  {
    name: "state kept between calls",
    detect: (() => {
      let calls = 0;
      return (files: FileView) => nodeHints(files).map((h) => ({ ...h, reason: `${h.reason} (call ${++calls})` }));
    })(),
    fails: ["pure:vite app"],
    message: /second detect\(\)/,
  },
  {
    name: "returning a shared, mutated result",
    detect: (() => {
      const shared: ServiceHint[] = [];
      return (files: FileView) => {
        shared.push(...nodeHints(files));
        return shared;
      };
    })(),
    // The leaked state also shows up in the next fixture.
    fails: ["pure:vite app", "hints:library without dev script"],
    message: /second detect\(\)|guessed services/,
  },
  {
    name: "patching the file view",
    detect: (files) => {
      (files as { read: FileView["read"] }).read = () => undefined;
      return [];
    },
    // Every call throws on the frozen view, so every case that runs detect() fails.
    fails: ["empty-repository", "pure:vite app", "hints:vite app", "pure:library without dev script", "hints:library without dev script"],
    message: /threw/,
  },
];

for (const variant of broken) {
  t.test(`the detector suite catches: ${variant.name}`, async (t) => {
    const descriptor = defineDetector({ name: "node-sample", apiVersion: 1, detect: variant.detect });
    const results = await runConformanceCases(detectorConformanceCases({ descriptor, fixtures: variant.fixtures ?? fixtures }));
    const failed = results.filter((r) => r.status === "failed");
    t.same(failed.map((r) => r.id).sort(), [...variant.fails].sort());
    for (const result of failed) t.match((result.error as Error).message, variant.message);
  });
}

t.test("options and fixtures are checked too", async (t) => {
  const { z } = await import("zod");
  const withOptions = defineDetector({
    name: "node-sample",
    apiVersion: 1,
    options: z.strictObject({ defaultPort: z.number().int() }),
    create: () => ({ detect: nodeHints }),
  });
  const results = await runConformanceCases(detectorConformanceCases({ descriptor: withOptions, options: { defaultPort: "x" }, fixtures: [] }));
  t.match(results.find((r) => r.id === "descriptor")?.error, { message: /options schema rejects/ });
  t.equal(results.find((r) => r.id === "fixtures-given")?.status, "failed", "a suite without fixtures exercises nothing and says so");
});

t.test("createFileView: read, exists and list over an inline tree", async (t) => {
  const view = createFileView({ "package.json": "{}", "apps/web/package.json": "{}", "./apps/web/index.html": "<p>", "README.md": "" });
  t.equal(view.read("apps/web/index.html"), "<p>");
  t.equal(view.read("./package.json"), "{}");
  t.equal(view.read("missing"), undefined);
  t.ok(view.exists("apps/web") && view.exists("apps/") && view.exists("README.md"));
  t.notOk(view.exists("apps/api"));
  t.same(view.list("."), ["README.md", "apps/", "package.json"]);
  t.same(view.list("apps"), ["web/"]);
  t.same(view.list("apps/web/"), ["index.html", "package.json"]);
  t.same(view.list("nope"), []);
  t.throws(() => {
    (view as { read: unknown }).read = null;
  }, TypeError);
  t.throws(() => defineDetector({ name: "Bad Name", apiVersion: 1, detect: () => [] }), NexusError);
});
