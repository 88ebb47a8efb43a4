// Project configuration (.nexus/config.yaml, SPEC §4): schema, parser with file:line:column
// messages, loader, units and the JSON Schema.
export {
  MAX_DURATION_MS,
  formatDuration,
  formatSize,
  parseDuration,
  parseSize,
} from "./units.js";
export { CONFIG_NAME_PATTERN, CONFIG_NAME_RULE } from "./fields.js";
export {
  HEALTH_CHECK_DEFAULTS,
  HEALTH_CHECK_TYPES,
  type HealthCheck,
  type HealthCheckTiming,
  type HealthCheckType,
} from "./health-check.js";
export {
  RESTART_POLICIES,
  pluginSpecListSchema,
  pluginSpecSchema,
  projectConfigSchema,
  type ProjectConfig,
  type ProjectConfigInput,
  type RestartPolicy,
  type ServiceConfig,
} from "./schema.js";
export {
  CONFIG_FILE,
  CONFIG_FILE_ALT,
  configError,
  formatConfigIssue,
  parseProjectConfig,
  type ConfigIssue,
  type ConfigWarning,
  type ConfigWarningCode,
  type ParseProjectConfigOptions,
  type ParsedProjectConfig,
} from "./parse.js";
export { loadProjectConfig, type LoadedProjectConfig } from "./load.js";
export { projectConfigJsonSchema, projectConfigJsonSchemaText } from "./json-schema.js";
