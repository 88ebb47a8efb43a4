// JSON Schema for `.nexus/config.yaml`, describing what users write (the input side of the zod
// schema, old forms marked deprecated). docs/config.schema.json is generated from it by
// scripts/gen-config-schema.ts; a test keeps the committed file current.
import { z } from "zod";
import { projectConfigSchema } from "./schema.js";

export function projectConfigJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(projectConfigSchema, { io: "input", target: "draft-2020-12", unrepresentable: "any" });
  const { $schema, ...rest } = schema;
  return {
    $schema,
    description:
      "The project configuration nexus reads from .nexus/config.yaml: the workspace (provider, image, resources), lifecycle scripts and services. See docs/config.md.",
    ...rest,
  };
}

/** The committed file's exact text. */
export function projectConfigJsonSchemaText(): string {
  return `${JSON.stringify(projectConfigJsonSchema(), null, 2)}\n`;
}
