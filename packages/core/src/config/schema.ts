// The `.nexus/config.yaml` v1 schema (SPEC §4). Input is what users write, old forms included;
// output is the normalised ProjectConfig (durations in ms, sizes in bytes, defaults applied).
// Which old forms were used is reported by lint.ts, with positions, as deprecation warnings.
import { z } from "zod";
import { PLUGIN_NAME_PATTERN } from "../define.js";
import { describeServiceGraphProblem, serviceGraphProblems, type ServiceGraphNode } from "../graph.js";
import type { PluginSpec } from "../registry.js";
import { commandSchema, durationSchema, envSchema, nameSchema, portSchema, scriptSchema, show, sizeSchema } from "./fields.js";
import {
  finishHealthCheck,
  healthCheckSchema,
  legacyHealthcheckSchema,
  resolveHealthCheckType,
  type HealthCheck,
  type HealthCheckDraft,
} from "./health-check.js";

export const RESTART_POLICIES = ["on-failure", "always", "never"] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

/** The container's own sshd listens here, so no service may. */
const SSH_PORT = 22;

export interface ServiceConfig {
  /** The key under `services:`. */
  name: string;
  /** Shell command line, run with `sh -c` as `dev` in the repo directory. */
  command: string;
  port?: number;
  /** Forward the port to the user's machine. Default true. */
  expose: boolean;
  /** Services that must be healthy before this one starts; de-duplicated, in file order. */
  depends_on: string[];
  /** This service's own variables; when it runs they are added to ProjectConfig.env and win on conflicts. */
  env: Record<string, string>;
  health_check: HealthCheck;
  restart: RestartPolicy;
}

export interface ProjectConfig {
  version: 1;
  name?: string;
  /** Provider plugin name: lxc, docker or a third-party name. */
  provider?: string;
  /** Provider-specific image reference; absent means the provider's base image. */
  image?: string;
  /** cpu in cores; memory and disk in bytes. */
  resources: { cpu?: number; memory?: number; disk?: number };
  env: Record<string, string>;
  /** Shell scripts run as `dev` in the repo directory. Absent when empty. */
  lifecycle: { setup?: string; pre_start?: string; post_start?: string; pre_stop?: string };
  /** In file order. */
  services: Record<string, ServiceConfig>;
  plugins: { providers: PluginSpec[]; editors: PluginSpec[]; detectors: PluginSpec[] };
}

const restartSchema = z.enum(RESTART_POLICIES, {
  error: (issue) => `restart must be on-failure, always or never, got ${show(issue.input)}`,
});

/** npm package names, optionally scoped. */
const PACKAGE_NAME = /^(?:@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;
const pluginPackageSchema = z.string().regex(PACKAGE_NAME, { error: (issue) => `${show(issue.input)} is not an npm package name` });

/** A plugin declared by package name: `"pkg"` or `["pkg", { ...options }]` (the registry's PluginSpec). */
export const pluginSpecSchema = z.union([pluginPackageSchema, z.tuple([pluginPackageSchema, z.record(z.string(), z.unknown())])], {
  error: (issue) => `a plugin is "package-name" or ["package-name", { options }], got ${show(issue.input)}`,
});
export const pluginSpecListSchema = z.array(pluginSpecSchema, {
  error: (issue) => `expected a list of plugins ("package-name" or ["package-name", { options }]), got ${show(issue.input)}`,
});
const pluginListSchema = pluginSpecListSchema.nullish();

const serviceShape = {
  command: commandSchema.describe("Shell command line that runs the service (sh -c, as dev, in the repo directory)."),
  port: portSchema.optional().describe("TCP port the service listens on inside the workspace."),
  expose: z.boolean().default(true).describe("Forward the port to the user's machine. Default true."),
  depends_on: z
    .array(z.string({ error: (issue) => `depends_on lists service names, got ${show(issue.input)}` }), {
      error: (issue) => `depends_on must be a list of service names such as [db], got ${show(issue.input)}`,
    })
    .nullish()
    .describe("Services that must be healthy before this one starts."),
  env: envSchema.nullish(),
  health_check: healthCheckSchema.optional().describe("How to tell that the service is healthy. Default: tcp when port is set, else the process being alive."),
  restart: restartSchema.default("on-failure").describe("When to restart the service after it exits. Default on-failure."),
  environment: envSchema.nullish().meta({ deprecated: true, description: "Deprecated: the old name of env." }),
  healthcheck: legacyHealthcheckSchema.optional(),
  timeout: durationSchema.optional().meta({ deprecated: true, description: "Deprecated: the health check timeout; write health_check.timeout." }),
};

const serviceSchema = z
  .object(serviceShape, { error: (issue) => `a service must be a mapping with at least a command, got ${show(issue.input)}` })
  .superRefine((service, ctx) => {
    if (service.env != null && service.environment != null) {
      ctx.addIssue({ code: "custom", path: ["environment"], message: "both env and its old name environment are set; keep only env", params: { target: "key" } });
    }
    if (service.health_check !== undefined && service.healthcheck !== undefined) {
      ctx.addIssue({ code: "custom", path: ["healthcheck"], message: "both health_check and the old healthcheck are set; keep only health_check", params: { target: "key" } });
    }
    const draft: HealthCheckDraft = service.health_check ?? service.healthcheck ?? {};
    if (service.timeout !== undefined && draft.timeout !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["timeout"],
        message: "timeout is set both here (the old place) and in the health check; keep only health_check.timeout",
        params: { target: "key" },
      });
    }
    const type = resolveHealthCheckType(draft, service.port);
    if ((type === "http" || type === "tcp") && (draft.port ?? service.port) === undefined) {
      const at = service.health_check !== undefined ? ["health_check"] : ["healthcheck"];
      ctx.addIssue({ code: "custom", path: at, message: `${type === "http" ? "an" : "a"} ${type} health check needs a port: set the service's port (or health_check.port)` });
    }
  })
  .transform((service): Omit<ServiceConfig, "name"> => {
    const draft: HealthCheckDraft = { ...(service.health_check ?? service.healthcheck) };
    if (service.timeout !== undefined) draft.timeout = service.timeout;
    return {
      command: service.command,
      ...(service.port !== undefined ? { port: service.port } : {}),
      expose: service.expose,
      depends_on: [...new Set(service.depends_on ?? [])],
      env: { ...service.environment, ...service.env },
      health_check: finishHealthCheck(draft, service.port),
      restart: service.restart,
    };
  });

const providerNameSchema = z.string().regex(PLUGIN_NAME_PATTERN, {
  error: (issue) => `${show(issue.input)} is not a provider name: use lowercase letters, digits and '-' (lxc, docker, my-provider)`,
});

const legacyProvidersSchema = z
  .object({ default: providerNameSchema.optional() })
  .catchall(z.looseObject({ image: z.string().min(1).optional() }))
  .meta({ deprecated: true, description: "Deprecated: write provider: <name> and image: <reference> at the top level." });

const resourcesShape = {
  cpu: z
    .number({ error: (issue) => `cpu must be a number of cores, got ${show(issue.input)}` })
    .positive({ error: (issue) => `cpu must be more than 0, got ${show(issue.input)}` })
    .optional()
    .describe("CPU cores (may be fractional on providers that support it)."),
  memory: sizeSchema.refine((bytes) => bytes > 0, { error: "memory must be more than 0" }).optional().describe("Memory limit, e.g. 4GiB."),
  disk: sizeSchema.refine((bytes) => bytes > 0, { error: "disk must be more than 0" }).optional().describe("Root disk size, e.g. 20GiB."),
};
const lifecycleShape = {
  setup: scriptSchema.nullish().describe("Runs once, after the repository is cloned."),
  pre_start: scriptSchema.nullish().describe("Runs at every start, before services."),
  post_start: scriptSchema.nullish().describe("Runs at every start, after services are healthy."),
  pre_stop: scriptSchema.nullish().describe("Runs before the workspace stops."),
};
const pluginsShape = {
  providers: pluginListSchema.describe("Provider plugin packages."),
  editors: pluginListSchema.describe("Editor launcher plugin packages."),
  detectors: pluginListSchema.describe("Service detector plugin packages."),
};

const projectShape = {
  version: z
    .literal(1, { error: (issue) => `unsupported config version ${show(issue.input)}: this nexus reads version 1` })
    .optional()
    .describe("Config format version. Default 1."),
  name: nameSchema("project name").optional().describe("Project name; default: the repository name."),
  provider: providerNameSchema.optional().describe("Provider plugin: lxc, docker or a third-party provider's name."),
  image: z
    .string()
    .regex(/^\S{1,512}$/, { error: (issue) => `${show(issue.input)} is not an image reference: it must be non-empty, without spaces` })
    .optional()
    .describe("Provider-specific image reference; default: the provider's base image."),
  resources: z.object(resourcesShape).nullish().describe("Limits for the workspace container."),
  env: envSchema.nullish().describe("Environment for lifecycle scripts and every service."),
  lifecycle: z.object(lifecycleShape).nullish().describe("Shell scripts run as dev in the repository directory."),
  services: z
    .record(nameSchema("service name"), serviceSchema, { error: (issue) => `services must be a mapping of service names to services, got ${show(issue.input)}` })
    .nullish()
    .describe("The project's long-running processes, keyed by name."),
  plugins: z.object(pluginsShape).nullish().describe('Plugin packages: "package-name" or ["package-name", { options }].'),
  environment: envSchema.nullish().meta({ deprecated: true, description: "Deprecated: the old name of env." }),
  providers: z
    .union([pluginSpecListSchema.describe("Shorthand for plugins.providers."), legacyProvidersSchema], {
      error: (issue) => `providers must be a list of provider plugins, got ${show(issue.input)}`,
    })
    .optional(),
  editors: pluginSpecListSchema.optional().describe("Shorthand for plugins.editors."),
  detectors: pluginSpecListSchema.optional().describe("Shorthand for plugins.detectors."),
};

/** Known keys per mapping, old forms included (used by lint.ts). */
export const CONFIG_KEYS = {
  project: Object.keys(projectShape),
  resources: Object.keys(resourcesShape),
  lifecycle: Object.keys(lifecycleShape),
  plugins: Object.keys(pluginsShape),
  service: Object.keys(serviceShape),
} as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Where a custom issue points, passed in zod's issue params: a more precise path, or the key. */
export interface IssueLocation {
  locate?: (string | number)[];
  target?: "key" | "value";
}

/** A problem that spans fields or services. */
export interface CrossFieldIssue extends IssueLocation {
  path: (string | number)[];
  message: string;
}

/**
 * Checks across fields and services: old/new spellings given together, depends_on targets and
 * cycles, duplicate ports. Reads the value defensively so it can also run on raw data, which
 * parseProjectConfig does when other errors kept zod from getting this far.
 */
export function crossFieldIssues(project: unknown): CrossFieldIssue[] {
  const issues: CrossFieldIssue[] = [];
  if (!isRecord(project)) return issues;
  if (project.env != null && project.environment != null) {
    issues.push({ path: ["environment"], message: "both env and its old name environment are set; keep only env", target: "key" });
  }
  if (project.provider !== undefined && isRecord(project.providers)) {
    issues.push({ path: ["providers"], message: "both provider and the old providers block are set; keep only provider (and image)", target: "key" });
  }
  if (!isRecord(project.services)) return issues;
  const services = Object.entries(project.services).filter((entry): entry is [string, Record<string, unknown>] => isRecord(entry[1]));
  const dependsOn = (service: Record<string, unknown>): string[] =>
    Array.isArray(service.depends_on) ? service.depends_on.filter((name): name is string => typeof name === "string") : [];

  const graph: Record<string, ServiceGraphNode> = Object.fromEntries(services.map(([name, service]) => [name, { depends_on: dependsOn(service) }]));
  for (const problem of serviceGraphProblems(graph)) {
    const [service, index] =
      problem.kind === "cycle"
        ? [problem.cycle[0]!, dependsOn(project.services[problem.cycle[0]!] as Record<string, unknown>).indexOf(problem.cycle[1]!)]
        : [problem.service, problem.index];
    issues.push({ path: ["services", service, "depends_on"], message: describeServiceGraphProblem(problem), locate: ["services", service, "depends_on", index] });
  }

  const portOwner = new Map<number, string>();
  for (const [name, service] of services) {
    const port = service.port;
    if (typeof port !== "number" || !Number.isInteger(port)) continue;
    if (port === SSH_PORT) {
      issues.push({ path: ["services", name, "port"], message: `port ${SSH_PORT} belongs to the workspace's SSH server; choose another port for service "${name}"` });
      continue;
    }
    const owner = portOwner.get(port);
    if (owner === undefined) portOwner.set(port, name);
    else issues.push({ path: ["services", name, "port"], message: `services "${owner}" and "${name}" both use port ${port}` });
  }
  return issues;
}

/** Old top-level `providers: { default: lxc, lxc: { image } }` → provider and image. */
function fromLegacyProviders(providers: z.output<typeof legacyProvidersSchema> | PluginSpec[] | undefined): { provider?: string; image?: string } {
  if (providers === undefined || Array.isArray(providers)) return {};
  const { default: chosen, ...named } = providers;
  const names = Object.keys(named);
  const provider = chosen ?? (names.length === 1 ? names[0] : undefined);
  const image = provider === undefined ? undefined : named[provider]?.image;
  return { ...(provider !== undefined ? { provider } : {}), ...(typeof image === "string" ? { image } : {}) };
}

function definedOnly<T extends Record<string, unknown>>(value: T): { [K in keyof T]?: Exclude<T[K], undefined | null> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as { [K in keyof T]?: Exclude<T[K], undefined | null> };
}

/** Input: the YAML document as plain data. Output: ProjectConfig. */
export const projectConfigSchema = z
  .object(projectShape, { error: (issue) => `the config must be a mapping (version, name, services, ...), got ${show(issue.input)}` })
  .superRefine((project, ctx) => {
    for (const { path, message, ...params } of crossFieldIssues(project)) ctx.addIssue({ code: "custom", path, message, params });
  }, { when: () => true })
  .transform((project): ProjectConfig => {
    const legacy = fromLegacyProviders(project.providers);
    const provider = project.provider ?? legacy.provider;
    const image = project.image ?? legacy.image;
    return {
      version: 1,
      ...(project.name !== undefined ? { name: project.name } : {}),
      ...(provider !== undefined ? { provider } : {}),
      ...(image !== undefined ? { image } : {}),
      resources: definedOnly({ ...project.resources }),
      env: { ...project.environment, ...project.env },
      lifecycle: definedOnly({ ...project.lifecycle }),
      services: Object.fromEntries(Object.entries(project.services ?? {}).map(([name, service]) => [name, { name, ...service }])),
      plugins: {
        providers: [...(project.plugins?.providers ?? []), ...(Array.isArray(project.providers) ? project.providers : [])],
        editors: [...(project.plugins?.editors ?? []), ...(project.editors ?? [])],
        detectors: [...(project.plugins?.detectors ?? []), ...(project.detectors ?? [])],
      },
    };
  })
  .meta({ title: "nexus project configuration (.nexus/config.yaml), version 1" });

/** What users write (old forms included). */
export type ProjectConfigInput = z.input<typeof projectConfigSchema>;
