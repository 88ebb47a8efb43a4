// The `config` of a create request: the project configuration (SPEC §4) as a JSON
// object, validated with the same schema as `.nexus/config.yaml`. The workspace keeps
// the object as given (the agent parses it again, durations and sizes in their
// written form); the server reads services and resources from the parsed form.
import { NexusError } from "../errors.js";
import type { JsonObject } from "../contracts/store.js";
import { projectConfigSchema, type ProjectConfig } from "../config/schema.js";
import { zodIssuesToDetails } from "../zod-issues.js";
import type { Resources } from "../wire/common.js";

export function parseWorkspaceConfig(raw: JsonObject): ProjectConfig {
  const parsed = projectConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const errors = zodIssuesToDetails(parsed.error.issues).map((issue) => ({ ...issue, path: issue.path === "(root)" ? "config" : `config.${issue.path}` }));
  throw new NexusError("invalid_config", errors.map((issue) => `${issue.path}: ${issue.message}`).join("\n"), {
    details: { errors },
    hint: "Fix the configuration (`nexus config validate` checks .nexus/config.yaml), then create again.",
  });
}

/** Resource limits for the create command, from a config that has already been validated. */
export function resourcesOf(raw: JsonObject): Resources | undefined {
  const parsed = projectConfigSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  const { cpu, memory, disk } = parsed.data.resources;
  const resources: Resources = {
    ...(cpu === undefined ? {} : { cpu }),
    ...(memory === undefined ? {} : { memory_bytes: memory }),
    ...(disk === undefined ? {} : { disk_bytes: disk }),
  };
  return Object.keys(resources).length === 0 ? undefined : resources;
}
