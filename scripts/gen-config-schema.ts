// Writes docs/config.schema.json from the zod schema in @nexus/core.
// Run: node --conditions=nexus-source --import=tsx scripts/gen-config-schema.ts
// packages/core/test/config/json-schema.test.ts fails when the committed file is not current.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { projectConfigJsonSchemaText } from "@nexus/core";

const target = fileURLToPath(new URL("../docs/config.schema.json", import.meta.url));
writeFileSync(target, projectConfigJsonSchemaText());
console.log(`wrote ${target}`);
