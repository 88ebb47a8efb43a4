// Building blocks shared by the request and response schemas. The wire format is
// snake_case JSON; ids carry a prefix (`ws_`, `usr_`, `node_`, `cmd_`, `req_`) so an id
// can never be mistaken for a name (names have no `_`).
import { z } from "zod";
import { ERROR_CODES } from "../errors.js";
import { PLUGIN_NAME_PATTERN } from "../define.js";
import { Secret } from "../secret.js";
import { CREATE_PHASES, HEALTH_STATES, SERVICE_STATES, WORKSPACE_STATES } from "../state.js";
import { parseRepositoryUrl } from "./repo-url.js";
import {
  ENV_NAME_PATTERN,
  IMAGE_REF_PATTERN,
  NAME_PATTERN,
  SERVICE_NAME_PATTERN,
  branchNameProblem,
  isValidGithubOwner,
  isValidHostname,
  repoNameProblem,
  sshPublicKeyProblem,
} from "./validation.js";

function prefixedId(prefix: string, what: string) {
  return z.string().regex(new RegExp(`^${prefix}[A-Za-z0-9_-]{1,64}$`), `must be a ${what} id (${prefix}…)`);
}

export const WorkspaceIdSchema = prefixedId("ws_", "workspace");
export const UserIdSchema = prefixedId("usr_", "user");
export const NodeIdSchema = prefixedId("node_", "node");
export const CommandIdSchema = prefixedId("cmd_", "command");
export const RequestIdSchema = prefixedId("req_", "request");

export const NameSchema = z.string().regex(NAME_PATTERN, "must be 1-63 lower-case letters, digits or '-', starting with a letter or digit");
export const WorkspaceNameSchema = NameSchema;
export const NodeNameSchema = NameSchema;

/** `{id}` in workspace paths: the workspace id or its name (SPEC §5). */
export const WorkspaceRefSchema = z
  .string()
  .regex(new RegExp(`^(?:ws_[A-Za-z0-9_-]{1,64}|${NAME_PATTERN.source.slice(1, -1)})$`), "must be a workspace id (ws_…) or name");

export const GithubOwnerSchema = z
  .string()
  .refine(isValidGithubOwner, "must be a GitHub user or organisation name (1-39 letters, digits or single '-', not at either end)");

export const RepoNameSchema = z.string().superRefine((value, ctx) => {
  const problem = repoNameProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: `repository name ${problem}` });
});

export const BranchNameSchema = z.string().superRefine((value, ctx) => {
  const problem = branchNameProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: `branch name ${problem}` });
});

/** Syntax only; which hosts are allowed is decided where the clone happens (checkRepositoryUrl). */
export const RepositoryUrlSchema = z.string().superRefine((value, ctx) => {
  const parsed = parseRepositoryUrl(value);
  if (!parsed.ok) ctx.addIssue({ code: "custom", message: `repository URL ${parsed.reason}` });
});

export const SshPublicKeySchema = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    const problem = sshPublicKeyProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: `SSH public key ${problem}` });
  });

export const HostnameSchema = z.string().refine(isValidHostname, "must be a DNS host name or an IPv4 address");
export const PortSchema = z.int().min(1).max(65535);
export const ProviderNameSchema = z.string().regex(PLUGIN_NAME_PATTERN, "must be a kebab-case provider name");
export const ServiceNameSchema = z.string().regex(SERVICE_NAME_PATTERN, "must be a service name (letters, digits, '_', '.', '-')");
export const ImageRefSchema = z.string().regex(IMAGE_REF_PATTERN, "must be an image reference such as nexus/debian-12 or images:ubuntu/22.04");
export const EnvNameSchema = z.string().regex(ENV_NAME_PATTERN, "must be an environment variable name");

/** ISO 8601 with a zone (`2025-01-01T12:00:00.000Z`): what Date#toISOString produces. */
export const TimestampSchema = z.iso.datetime({ offset: true });

/**
 * A credential on the wire: a plain string in JSON, a Secret once decoded, so that
 * logging or re-serialising a parsed body prints [REDACTED]. Send it with
 * `z.encode(schema, value)`, which reveals it again. The metadata describes the decoded
 * side for JSON Schema generators that convert in "output" mode with
 * `unrepresentable: "any"` (fastify-type-provider-zod's response transform).
 */
export const SecretStringSchema = z.codec(
  z.string().min(1).max(8192),
  z.instanceof(Secret).meta({ type: "string", format: "password", description: "A credential: never logged or stored" }),
  {
    decode: (value) => new Secret(value),
    encode: (secret) => secret.reveal(),
  },
);

export const ErrorCodeSchema = z.enum(ERROR_CODES);
export const WorkspaceStateSchema = z.enum(WORKSPACE_STATES);
export const CreatePhaseSchema = z.enum(CREATE_PHASES);
export const ServiceStateSchema = z.enum(SERVICE_STATES);
export const HealthSchema = z.enum(HEALTH_STATES);

/** Workspace health: `degraded` = running with at least one unhealthy service (SPEC §3). */
export const WORKSPACE_HEALTH = ["healthy", "degraded", "unhealthy", "unknown"] as const;
export const WorkspaceHealthSchema = z.enum(WORKSPACE_HEALTH);

export const NODE_STATUSES = ["online", "offline"] as const;
export const NodeStatusSchema = z.enum(NODE_STATUSES);

/** Every error response (SPEC §5); the status comes from the catalog. */
export const ErrorBodySchema = z.object({
  error: ErrorCodeSchema,
  message: z.string(),
  details: z.record(z.string(), z.unknown()),
  hint: z.string().optional(),
  request_id: RequestIdSchema,
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** Why a workspace is in `error`, and in which create phase it failed. */
export const WorkspaceErrorSchema = z.object({
  code: ErrorCodeSchema,
  message: z.string(),
  phase: CreatePhaseSchema.optional(),
});
export type WorkspaceError = z.infer<typeof WorkspaceErrorSchema>;

export const PHASE_STATES = ["started", "completed", "failed"] as const;

/** One timed create phase, as listed in `phases[]`. `duration_ms` is null while it runs. */
export const PhaseSchema = z.object({
  name: CreatePhaseSchema,
  started_at: TimestampSchema,
  duration_ms: z.number().nonnegative().nullable(),
});
export type Phase = z.infer<typeof PhaseSchema>;

/** Resource limits on the wire (SPEC §4 sizes resolved to bytes). */
export const ResourcesSchema = z.strictObject({
  cpu: z.number().positive().max(1024).optional(),
  memory_bytes: z.int().positive().optional(),
  disk_bytes: z.int().positive().optional(),
});
export type Resources = z.infer<typeof ResourcesSchema>;

/**
 * Integer query parameter: a number from typed callers, digits from a query string.
 * (Not z.coerce: that would read `?limit=` as 0.)
 */
export function queryInt(min: number, max: number) {
  return z.codec(z.union([z.int(), z.string().regex(/^\d{1,15}$/, "must be a whole number")]), z.int().min(min).max(max), {
    decode: (value) => Number(value),
    encode: (value) => value,
  });
}

/** Boolean query parameter: a boolean from typed callers, `true`/`false`/`1`/`0` from a query string. */
export function queryBool() {
  return z.codec(z.union([z.boolean(), z.enum(["true", "false", "1", "0"])]), z.boolean(), {
    decode: (value) => value === true || value === "true" || value === "1",
    encode: (value) => value,
  });
}
