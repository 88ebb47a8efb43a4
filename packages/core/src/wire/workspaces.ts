// Workspaces (SPEC §5): create from a repository, list, inspect, services, logs, and
// the stop / start / delete actions.
import { z } from "zod";
import {
  BranchNameSchema,
  GithubOwnerSchema,
  HealthSchema,
  ImageRefSchema,
  PhaseSchema,
  PortSchema,
  ProviderNameSchema,
  RepoNameSchema,
  RepositoryUrlSchema,
  SecretStringSchema,
  ServiceNameSchema,
  ServiceStateSchema,
  TimestampSchema,
  WorkspaceErrorSchema,
  WorkspaceHealthSchema,
  WorkspaceIdSchema,
  WorkspaceNameSchema,
  WorkspaceRefSchema,
  WorkspaceStateSchema,
  queryBool,
  queryInt,
} from "./common.js";

export const WorkspaceParamsSchema = z.object({ id: WorkspaceRefSchema });
export type WorkspaceParams = z.infer<typeof WorkspaceParamsSchema>;

/** The original repository a fork was made from; becomes the `upstream` remote. */
export const UpstreamRefSchema = z.strictObject({
  owner: GithubOwnerSchema,
  name: RepoNameSchema,
  url: RepositoryUrlSchema.optional(),
});

export const RepoRefSchema = z.strictObject({
  owner: GithubOwnerSchema,
  name: RepoNameSchema,
  /** Default: the repository's default branch. */
  branch: BranchNameSchema.optional(),
  /** Default: the configured GitHub host's clone URL for owner/name. */
  url: RepositoryUrlSchema.optional(),
  is_fork: z.boolean().optional(),
  upstream: UpstreamRefSchema.optional(),
});
export type RepoRef = z.input<typeof RepoRefSchema>;

/**
 * The project configuration (SPEC §4) as a JSON object. Its schema belongs to the
 * project-config module; the server validates it there, so errors name the field.
 */
export const ProjectConfigWireSchema = z
  .record(z.string(), z.unknown())
  .meta({ description: "Project configuration (.nexus/config.yaml) as a JSON object" });

export const CreateWorkspaceBodySchema = z.strictObject({
  /** Default: the repository name, then `<repo>-<branch>`, then a numeric suffix. */
  workspace_name: WorkspaceNameSchema.optional(),
  repo: RepoRefSchema,
  provider: ProviderNameSchema.optional(),
  image: ImageRefSchema.optional(),
  config: ProjectConfigWireSchema.optional(),
  /** Used by the agent to fetch, held in memory only; decoded as a Secret. */
  clone_token: SecretStringSchema.optional(),
});
export type CreateWorkspaceBody = z.input<typeof CreateWorkspaceBodySchema>;

export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const CreateWorkspaceHeadersSchema = z.object({
  "idempotency-key": z.string().regex(IDEMPOTENCY_KEY_PATTERN, "must be 1-128 letters, digits or . _ : -").optional(),
});

export const CreateWorkspaceResponseSchema = z.object({
  workspace_id: WorkspaceIdSchema,
  workspace_name: z.string(),
  /** `pending` for a new workspace; a replayed Idempotency-Key reports the current state. */
  status: WorkspaceStateSchema,
  /** Allocated when a node is chosen; null while none is. */
  ssh_port: PortSchema.nullable(),
  polling_url: z.string(),
  estimated_time_seconds: z.number().nonnegative(),
  created_at: TimestampSchema,
});
export type CreateWorkspaceResponse = z.output<typeof CreateWorkspaceResponseSchema>;

export const ListWorkspacesQuerySchema = z.object({
  status: WorkspaceStateSchema.optional(),
  limit: queryInt(1, 200).default(50),
  offset: queryInt(0, 1_000_000).default(0),
});
export type ListWorkspacesQuery = z.input<typeof ListWorkspacesQuerySchema>;

export const WorkspaceSummarySchema = z.object({
  workspace_id: WorkspaceIdSchema,
  workspace_name: z.string(),
  status: WorkspaceStateSchema,
  provider: z.string(),
  node: z.string().nullable(),
  ssh_port: PortSchema.nullable(),
  created_at: TimestampSchema,
  services_count: z.int().nonnegative(),
});
export type WorkspaceSummary = z.output<typeof WorkspaceSummarySchema>;

export const ListWorkspacesResponseSchema = z.object({
  workspaces: z.array(WorkspaceSummarySchema),
  total: z.int().nonnegative(),
  limit: z.int().positive(),
  offset: z.int().nonnegative(),
});
export type ListWorkspacesResponse = z.output<typeof ListWorkspacesResponseSchema>;

export const ServiceStatusSchema = z.object({
  name: z.string(),
  status: ServiceStateSchema,
  health: HealthSchema,
  port: PortSchema.nullable(),
  /** The port on the user's machine (`LocalForward`), stable for the workspace's life. */
  local_port: PortSchema.nullable(),
  url: z.string().nullable(),
  last_check: TimestampSchema.nullable(),
  last_error: z.string().nullable(),
});
export type ServiceStatus = z.output<typeof ServiceStatusSchema>;

export const SshInfoSchema = z.object({
  /** Null until a node is chosen. */
  host: z.string().nullable(),
  port: PortSchema.nullable(),
  user: z.literal("dev"),
  /** The container's host key as the agent reported it (pinned in known_hosts); null until known. */
  host_key: z.string().nullable(),
  /** The repository checkout, `/home/dev/<repo>`. */
  path: z.string(),
});

export const RepositoryInfoSchema = z.object({
  owner: z.string(),
  name: z.string(),
  branch: z.string(),
  /** Null until cloned. */
  commit: z.string().nullable(),
  url: z.string(),
  upstream: z.object({ owner: z.string(), name: z.string(), url: z.string() }).optional(),
});

export const WorkspaceDetailSchema = z.object({
  workspace_id: WorkspaceIdSchema,
  workspace_name: z.string(),
  status: WorkspaceStateSchema,
  health: WorkspaceHealthSchema,
  provider: z.string(),
  node: z.string().nullable(),
  created_at: TimestampSchema,
  updated_at: TimestampSchema,
  error: WorkspaceErrorSchema.optional(),
  phases: z.array(PhaseSchema),
  ssh: SshInfoSchema,
  services: z.record(z.string(), ServiceStatusSchema),
  repository: RepositoryInfoSchema,
});
export type WorkspaceDetail = z.output<typeof WorkspaceDetailSchema>;

export const ServiceListItemSchema = ServiceStatusSchema.extend({ depends_on: z.array(z.string()) });
export type ServiceListItem = z.output<typeof ServiceListItemSchema>;

export const ListServicesResponseSchema = z.object({ services: z.array(ServiceListItemSchema) });
export type ListServicesResponse = z.output<typeof ListServicesResponseSchema>;

export const LogsQuerySchema = z.object({
  /** Default: every service, interleaved. */
  service: ServiceNameSchema.optional(),
  tail: queryInt(0, 100_000).default(200),
  follow: queryBool().default(false),
});
export type LogsQuery = z.input<typeof LogsQuerySchema>;

export const StopWorkspaceBodySchema = z.strictObject({ force: z.boolean().optional() }).optional();
export type StopWorkspaceBody = z.input<typeof StopWorkspaceBodySchema>;

export const StartWorkspaceBodySchema = z.strictObject({}).optional();

export const DeleteWorkspaceQuerySchema = z.object({
  /** Required to delete a running workspace. */
  force: queryBool().default(false),
});
export type DeleteWorkspaceQuery = z.input<typeof DeleteWorkspaceQuerySchema>;

function actionResponse<S extends "stopping" | "starting" | "deleting">(status: S) {
  return z.object({ workspace_id: WorkspaceIdSchema, status: z.literal(status) });
}
export const StopWorkspaceResponseSchema = actionResponse("stopping");
export const StartWorkspaceResponseSchema = actionResponse("starting");
export const DeleteWorkspaceResponseSchema = actionResponse("deleting");
export type WorkspaceActionResponse = z.output<typeof StopWorkspaceResponseSchema | typeof StartWorkspaceResponseSchema | typeof DeleteWorkspaceResponseSchema>;
