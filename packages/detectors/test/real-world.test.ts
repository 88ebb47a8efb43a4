import t from "tap";
import { parse } from "yaml";
import { parseProjectConfig } from "@nexus/core";
import { detectProject, memoryFileView } from "../src/index.js";
import { REAL_WORLD_FIXTURES } from "./fixtures/real-world.js";

t.ok(REAL_WORLD_FIXTURES.length >= 15, "at least 15 real-world fixtures");

for (const fixture of REAL_WORLD_FIXTURES) {
  t.test(fixture.name, async (t) => {
    const result = await detectProject(memoryFileView(fixture.tree));
    t.same(result.problems, [], "no detector failed");

    const services = Object.fromEntries(
      Object.entries(result.config.services ?? {}).map(([name, service]) => [name, {
        command: service.command,
        ...(service.port !== undefined ? { port: service.port } : {}),
        ...(service.health_check ? { health: service.health_check.type } : {}),
        ...(service.depends_on ? { depends_on: service.depends_on } : {}),
      }]),
    );
    t.same(services, fixture.services, "services");
    t.equal(result.config.lifecycle?.setup, fixture.setup, "setup");
    t.equal(result.config.lifecycle?.post_start, fixture.post_start, "post_start");
    t.ok(result.guesses.length > 0 && result.guesses.every((guess) => guess.reason.length > 0), "every guess has a reason");

    t.same(parse(result.yaml), result.config, "the YAML is the config");
    const parsed = parseProjectConfig(result.yaml, { file: ".nexus/config.yaml" });
    t.same(parsed.warnings, [], "the generated config validates against core's schema without warnings");
  });
}
