// The testkit's detector conformance suite over every first-party detector: each must
// recognise its own real-world fixtures and return [] on everyone else's.
import t from "tap";
import { runDetectorConformance } from "@nexus/testkit";
import { builtinDetectors } from "../src/index.js";
import { REAL_WORLD_FIXTURES } from "./fixtures/real-world.js";

const RECOGNISES: Record<string, readonly string[]> = {
  node: [
    "create-next-app", "vite react-ts with pnpm", "nuxt with yarn classic", "astro blog", "remix (vite)", "sveltekit", "express api", "nest new",
    "rails 7.2 with sqlite", "devcontainer with comments on a node app", "pnpm monorepo with web and api (turborepo)", "yarn berry workspaces with two vite apps",
  ],
  python: ["django with requirements.txt", "flask with poetry (application factory)", "fastapi with uv"],
  ruby: ["rails 7.2 with sqlite", "sinatra rack app"],
  go: ["go http service"],
  compose: ["compose with db and api"],
  devcontainer: ["devcontainer with comments on a node app"],
  static: ["static site"],
};

for (const descriptor of builtinDetectors) {
  t.test(`conformance: ${descriptor.name}`, async (t) => {
    const recognised = RECOGNISES[descriptor.name] ?? [];
    t.ok(recognised.length > 0, `${descriptor.name} has fixtures it recognises`);
    await runDetectorConformance(t, {
      descriptor,
      fixtures: REAL_WORLD_FIXTURES.map((fixture) => ({
        name: fixture.name,
        files: fixture.tree as Record<string, string>,
        expectHints: recognised.includes(fixture.name),
      })),
    });
  });
}
