import { readFileSync } from "node:fs";
import t from "tap";
import { projectConfigJsonSchema, projectConfigJsonSchemaText } from "../../src/config/index.js";

const committed = new URL("../../../../docs/config.schema.json", import.meta.url);

t.test("docs/config.schema.json is current", async (t) => {
  t.equal(
    readFileSync(committed, "utf8"),
    projectConfigJsonSchemaText(),
    "regenerate with: node --conditions=nexus-source --import=tsx scripts/gen-config-schema.ts",
  );
});

type JsonObject = { [key: string]: unknown };
const at = (schema: unknown, ...keys: string[]): JsonObject => keys.reduce((node, key) => (node as JsonObject)[key], schema) as JsonObject;

t.test("the JSON Schema describes what users write, old forms marked deprecated", async (t) => {
  const schema = projectConfigJsonSchema();
  t.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
  const properties = at(schema, "properties");
  t.same(Object.keys(properties), ["version", "name", "provider", "image", "resources", "env", "lifecycle", "services", "plugins", "environment", "providers", "editors", "detectors"]);
  t.equal(at(properties, "environment").deprecated, true);
  t.equal(at(properties, "providers", "anyOf", "1").deprecated, true, "the old providers mapping is deprecated, the plugin list is not");

  const service = at(properties, "services", "anyOf", "0", "additionalProperties");
  t.same(at(service, "required"), ["command"]);
  t.same(at(service, "properties", "restart").enum, ["on-failure", "always", "never"]);
  t.equal(at(service, "properties", "expose").default, true);
  t.equal(at(service, "properties", "healthcheck").deprecated, true);
  // Durations are written as numbers (seconds) or strings with units, not milliseconds.
  const healthCheck = at(service, "properties", "health_check", "anyOf");
  const mapping = at(healthCheck, "0");
  t.equal(mapping.additionalProperties, false, "unknown keys in health_check are errors");
  t.same(at(mapping, "properties", "type").enum, ["http", "tcp", "exec", "process"]);
  t.same((at(mapping, "properties", "timeout").anyOf as JsonObject[]).map((branch) => branch.type), ["number", "string"]);
  t.match(at(healthCheck, "1"), { type: "string", deprecated: true });
});
