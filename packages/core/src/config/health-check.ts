// Service health checks: the current `health_check` mapping, the old `health_check: "http://…"`
// string and the old `healthcheck: { url, … }` block all become one HealthCheck.
import { z } from "zod";
import { commandSchema, durationSchema, portSchema, show } from "./fields.js";

export const HEALTH_CHECK_TYPES = ["http", "tcp", "exec", "process"] as const;
export type HealthCheckType = (typeof HEALTH_CHECK_TYPES)[number];

/** When and how often a check runs. All durations in milliseconds. */
export interface HealthCheckTiming {
  /** Time between checks. */
  interval: number;
  /** How long one check may take. */
  timeout: number;
  /** Failed checks in a row before the service is unhealthy (after start, before it is given up on). */
  retries: number;
  /** Grace period after start during which failures do not count. */
  start_period: number;
}

export type HealthCheck =
  /** GET http://localhost:<port><path>; 2xx and 3xx are healthy. */
  | ({ type: "http"; port: number; path: string } & HealthCheckTiming)
  /** A TCP connection to localhost:<port> succeeds. */
  | ({ type: "tcp"; port: number } & HealthCheckTiming)
  /** `sh -c <command>` exits 0. */
  | ({ type: "exec"; command: string } & HealthCheckTiming)
  /** The service's process is alive (the default for services without a port). */
  | ({ type: "process" } & HealthCheckTiming);

export const HEALTH_CHECK_DEFAULTS: HealthCheckTiming = { interval: 2000, timeout: 5000, retries: 30, start_period: 0 };

/** Any health check form after its own validation, before service-level defaults apply. */
export interface HealthCheckDraft extends Partial<HealthCheckTiming> {
  type?: HealthCheckType | undefined;
  path?: string | undefined;
  command?: string | undefined;
  port?: number | undefined;
}

const retriesSchema = z
  .number({ error: (issue) => `retries must be a whole number of at least 1, got ${show(issue.input)}` })
  .int({ error: (issue) => `retries must be a whole number of at least 1, got ${show(issue.input)}` })
  .min(1, { error: (issue) => `retries must be a whole number of at least 1, got ${show(issue.input)}` });

const positiveDuration = (field: string) =>
  durationSchema.refine((ms) => ms > 0, { error: `${field} must be longer than 0` });

const timingShape = {
  interval: positiveDuration("interval").optional().describe("Time between checks. Default 2s."),
  timeout: positiveDuration("timeout").optional().describe("How long one check may take. Default 5s."),
  retries: retriesSchema.optional().describe("Failed checks in a row before the service counts as unhealthy. Default 30."),
  start_period: durationSchema.optional().describe("Grace period after start during which failures do not count. Default 0s."),
};

/** `http://localhost:3000/health` → path "/health", port 3000 (no port: the service's port). */
function httpUrlToDraft(url: string, ctx: z.RefinementCtx): HealthCheckDraft {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    ctx.addIssue({ code: "custom", message: `${show(url)} is not a URL; write an http:// URL or use { type: http, path: /health }`, input: url });
    return z.NEVER;
  }
  if (parsed.protocol !== "http:") {
    ctx.addIssue({ code: "custom", message: `${show(url)} is not an http:// URL; health checks speak plain HTTP to the service`, input: url });
    return z.NEVER;
  }
  return { type: "http", path: `${parsed.pathname}${parsed.search}`, ...(parsed.port ? { port: Number(parsed.port) } : {}) };
}

const legacyUrlSchema = z
  .string({ error: (issue) => `url must be an http:// URL, got ${show(issue.input)}` })
  .describe("Deprecated: an http:// URL; its path (and port, if given) become an http check.");

const healthCheckObjectSchema = z
  .strictObject({
    type: z
      .enum(HEALTH_CHECK_TYPES, { error: (issue) => `health_check.type must be http, tcp, exec or process, got ${show(issue.input)}` })
      .optional()
      .describe("http: GET path on the port (2xx/3xx = healthy); tcp: connect to the port; exec: command exits 0; process: the process is alive. Default: tcp when the service has a port, else process."),
    path: z
      .string({ error: (issue) => `path must be a string, got ${show(issue.input)}` })
      .regex(/^\/\S*$/, { error: (issue) => `path must start with "/" and contain no spaces, got ${show(issue.input)}` })
      .optional()
      .describe("http checks: the path to GET. Default /."),
    command: commandSchema.optional().describe("exec checks: the command that must exit 0."),
    port: portSchema.optional().describe("http and tcp checks: the port to check. Default: the service's port."),
    url: legacyUrlSchema.optional().meta({ deprecated: true }),
    ...timingShape,
  })
  .superRefine((check, ctx) => {
    const type = check.type ?? inferredType(check);
    if (check.url !== undefined && check.path !== undefined) {
      ctx.addIssue({ code: "custom", path: ["url"], message: "set either path or the deprecated url, not both" });
    }
    if (check.type === undefined && (check.path ?? check.url) !== undefined && check.command !== undefined) {
      ctx.addIssue({ code: "custom", path: ["command"], message: "path (an http check) and command (an exec check) cannot be combined; set type" });
      return;
    }
    for (const field of ["path", "url"] as const) {
      if (check[field] !== undefined && type !== "http") {
        ctx.addIssue({ code: "custom", path: [field], message: `${field} only applies to http checks, but this check is ${type}` });
      }
    }
    if (check.command !== undefined && type !== "exec") {
      ctx.addIssue({ code: "custom", path: ["command"], message: `command only applies to exec checks, but this check is ${type}` });
    }
    if (type === "exec" && check.command === undefined) {
      ctx.addIssue({ code: "custom", path: ["type"], message: "an exec check needs a command" });
    }
    if (check.port !== undefined && type !== "http" && type !== "tcp") {
      ctx.addIssue({ code: "custom", path: ["port"], message: `port only applies to http and tcp checks, but this check is ${type}` });
    }
  })
  .transform((check, ctx): HealthCheckDraft => {
    const { url, ...rest } = check;
    if (url === undefined) return check.type === undefined ? { ...rest, type: inferredType(check) } : rest;
    const fromUrl = httpUrlToDraft(url, ctx);
    return { ...rest, ...fromUrl, port: rest.port ?? fromUrl.port };
  });

/** The type implied by the fields given; undefined means "the service's default". */
function inferredType(check: { path?: string | undefined; url?: string | undefined; command?: string | undefined }): HealthCheckType | undefined {
  if (check.path !== undefined || check.url !== undefined) return "http";
  if (check.command !== undefined) return "exec";
  return undefined;
}

/** `health_check:` — a mapping, or (deprecated) an http:// URL string. */
export const healthCheckSchema = z.union(
  [
    healthCheckObjectSchema,
    z
      .string()
      .meta({ deprecated: true, description: "Deprecated: an http:// URL. Write { type: http, path: /health } instead." })
      .transform(httpUrlToDraft),
  ],
  { error: (issue) => `health_check must be a mapping such as { type: http, path: /health }, got ${show(issue.input)}` },
);

/** Deprecated `healthcheck: { url, interval, timeout, retries }`; bare numbers are seconds. */
export const legacyHealthcheckSchema = z
  .strictObject({ url: legacyUrlSchema, ...timingShape })
  .meta({ deprecated: true, description: "Deprecated: write health_check: { type: http, path: /health, interval, timeout, retries }." })
  .transform(({ url, ...timing }, ctx): HealthCheckDraft => ({ ...timing, ...httpUrlToDraft(url, ctx) }));

/** The check's type once the service's port is known. */
export function resolveHealthCheckType(draft: HealthCheckDraft, servicePort: number | undefined): HealthCheckType {
  return draft.type ?? ((draft.port ?? servicePort) !== undefined ? "tcp" : "process");
}

/** Applies defaults; the caller has checked that http and tcp checks have a port. */
export function finishHealthCheck(draft: HealthCheckDraft, servicePort: number | undefined): HealthCheck {
  const timing: HealthCheckTiming = {
    interval: draft.interval ?? HEALTH_CHECK_DEFAULTS.interval,
    timeout: draft.timeout ?? HEALTH_CHECK_DEFAULTS.timeout,
    retries: draft.retries ?? HEALTH_CHECK_DEFAULTS.retries,
    start_period: draft.start_period ?? HEALTH_CHECK_DEFAULTS.start_period,
  };
  const type = resolveHealthCheckType(draft, servicePort);
  const port = draft.port ?? servicePort;
  switch (type) {
    case "http":
      return { type, port: port!, path: draft.path ?? "/", ...timing };
    case "tcp":
      return { type, port: port!, ...timing };
    case "exec":
      return { type, command: draft.command!, ...timing };
    case "process":
      return { type, ...timing };
  }
}
