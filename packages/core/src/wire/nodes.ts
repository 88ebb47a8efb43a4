// The agent plane (SPEC §5, §6): a node registers with a join token, heartbeats,
// long-polls commands, posts each command's result, and streams events (phases,
// service status, workspace status, observed state). Plus the admin node endpoints.
import { z } from "zod";
import type { Handle, WorkspaceSpec } from "../contracts/provider.js";
import {
  BranchNameSchema,
  CommandIdSchema,
  CreatePhaseSchema,
  EnvNameSchema,
  ErrorCodeSchema,
  GithubOwnerSchema,
  HostnameSchema,
  ImageRefSchema,
  NodeIdSchema,
  NodeNameSchema,
  NodeStatusSchema,
  PortSchema,
  ProviderNameSchema,
  RepoNameSchema,
  RepositoryUrlSchema,
  ResourcesSchema,
  SecretStringSchema,
  ServiceNameSchema,
  SshPublicKeySchema,
  TimestampSchema,
  WorkspaceErrorSchema,
  WorkspaceIdSchema,
  WorkspaceNameSchema,
  WorkspaceStateSchema,
  queryInt,
} from "./common.js";
import { PhaseEventSchema, ServiceEventSchema } from "./events.js";
import { ProjectConfigWireSchema } from "./workspaces.js";

export const NodeParamsSchema = z.object({ id: NodeIdSchema });
export const CommandParamsSchema = z.object({ id: NodeIdSchema, cid: CommandIdSchema });

export const VersionStringSchema = z.string().regex(/^[0-9A-Za-z.+-]{1,64}$/, "must be a version such as 1.2.3");

export const PortRangeSchema = z
  .strictObject({ start: PortSchema, end: PortSchema })
  .refine((range) => range.start <= range.end, { message: "start must not be greater than end", path: ["end"] });
export type PortRange = z.infer<typeof PortRangeSchema>;

export const NodeCapacitySchema = z.strictObject({
  max_workspaces: z.int().min(1).max(10_000),
  cpu: z.number().positive().optional(),
  memory_bytes: z.int().positive().optional(),
  disk_bytes: z.int().positive().optional(),
});

/** Sent with the join token as the bearer. */
export const RegisterNodeBodySchema = z.strictObject({
  name: NodeNameSchema,
  providers: z.array(ProviderNameSchema).min(1).max(16),
  /** The address users' SSH connects to; written into their SSH config. */
  ssh_host: HostnameSchema,
  ssh_port_range: PortRangeSchema,
  capacity: NodeCapacitySchema,
  version: VersionStringSchema,
});
export type RegisterNodeBody = z.input<typeof RegisterNodeBodySchema>;

export const RegisterNodeResponseSchema = z.object({
  node_id: NodeIdSchema,
  /** `nxn_…`: the bearer for every later agent call. */
  node_token: z.string().startsWith("nxn_"),
  heartbeat_interval_seconds: z.int().positive(),
});
export type RegisterNodeResponse = z.output<typeof RegisterNodeResponseSchema>;

export const ProviderHealthWireSchema = z.strictObject({
  name: ProviderNameSchema,
  ok: z.boolean(),
  version: z.string().max(128).optional(),
  reason: z.string().max(2000).optional(),
  warnings: z.array(z.string().max(2000)).max(20).optional(),
});

/** Every 10 s; three missed heartbeats mark the node offline. */
export const HeartbeatBodySchema = z.strictObject({
  version: VersionStringSchema,
  providers: z.array(ProviderHealthWireSchema).max(16),
  /** Workspaces whose containers the node currently holds. */
  workspaces: z.int().nonnegative(),
});
export type HeartbeatBody = z.input<typeof HeartbeatBodySchema>;

export const HeartbeatResponseSchema = z.object({
  status: NodeStatusSchema,
  server_time: TimestampSchema,
});
export type HeartbeatResponse = z.output<typeof HeartbeatResponseSchema>;

// ---- commands (server → agent), delivered at least once: the agent de-duplicates by id.

/** A provider handle (core's Handle contract, field names as in TypeScript), echoed back to the agent. */
export const HandleSchema = z.object({
  provider: z.string().min(1),
  id: z.string().min(1).max(256),
  workspaceId: WorkspaceIdSchema,
  labels: z.record(z.string(), z.string()),
  hostKey: z.string().optional(),
  sshPort: PortSchema.optional(),
}) satisfies z.ZodType<Handle>;

const LabelKeySchema = z.string().regex(/^[a-z0-9.-]{1,128}$/, "label keys are lower-case letters, digits, '.' and '-'");
const NoControlCharsSchema = z.string().regex(/^[^\x00-\x1f\x7f]*$/, "cannot contain control characters");
const AbsolutePathSchema = z.string().max(4096).regex(/^\/[^\x00-\x1f\x7f]*$/, "must be an absolute path");

export const CreateCommandPayloadSchema = z.strictObject({
  provider: ProviderNameSchema,
  name: WorkspaceNameSchema,
  image: ImageRefSchema.optional(),
  ssh_port: PortSchema,
  ssh_bind_address: z.union([z.ipv4(), z.ipv6()]).optional(),
  /** The owner's registered public keys, for /home/dev/.ssh/authorized_keys. */
  authorized_keys: z.array(SshPublicKeySchema).max(100),
  resources: ResourcesSchema.optional(),
  labels: z.record(LabelKeySchema, NoControlCharsSchema.max(256)).optional(),
  repo: z.strictObject({
    owner: GithubOwnerSchema,
    /** The checkout goes to /home/dev/<name>. */
    name: RepoNameSchema,
    /** Default: the remote's HEAD. */
    branch: BranchNameSchema.optional(),
    /** `origin`; checked against the node's policy (checkRepositoryUrl) before any fetch. */
    url: RepositoryUrlSchema,
    /** `upstream`, for forks. */
    upstream_url: RepositoryUrlSchema.optional(),
  }),
  /** Held in memory only: never written to disk, the database or logs. */
  clone_token: SecretStringSchema.optional(),
  config: ProjectConfigWireSchema.optional(),
});
export type CreateCommandPayload = z.output<typeof CreateCommandPayloadSchema>;

const HandlePayloadSchema = z.strictObject({
  /** Absent when the server has none yet: the agent finds the container by its labels. */
  handle: HandleSchema.optional(),
});

export const StopCommandPayloadSchema = HandlePayloadSchema.extend({ force: z.boolean().optional() });
export const ExecCommandPayloadSchema = HandlePayloadSchema.extend({
  argv: z.array(z.string().max(65_536).regex(/^[^\x00]*$/, "cannot contain NUL")).min(1).max(1024),
  user: z.union([z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/), z.int().nonnegative()]).optional(),
  cwd: AbsolutePathSchema.optional(),
  env: z.record(EnvNameSchema, z.string().max(65_536).regex(/^[^\x00]*$/)).optional(),
  stdin: z.string().max(1024 * 1024).optional(),
  timeout_seconds: z.int().positive().max(3600).optional(),
});
export const LogsCommandPayloadSchema = HandlePayloadSchema.extend({
  service: ServiceNameSchema.optional(),
  tail: z.int().min(0).max(100_000).default(200),
});
export const ReconcileCommandPayloadSchema = z.strictObject({
  /** The workspaces the server believes live on this node. */
  workspace_ids: z.array(WorkspaceIdSchema),
});

function command<T extends string, P extends z.ZodType, W extends z.ZodType>(type: T, payload: P, workspaceId: W) {
  return z.object({ id: CommandIdSchema, type: z.literal(type), workspace_id: workspaceId, payload, created_at: TimestampSchema });
}

export const CreateCommandSchema = command("create", CreateCommandPayloadSchema, WorkspaceIdSchema);
export const StartCommandSchema = command("start", HandlePayloadSchema, WorkspaceIdSchema);
export const StopCommandSchema = command("stop", StopCommandPayloadSchema, WorkspaceIdSchema);
export const DeleteCommandSchema = command("delete", HandlePayloadSchema, WorkspaceIdSchema);
export const ExecCommandSchema = command("exec", ExecCommandPayloadSchema, WorkspaceIdSchema);
export const LogsCommandSchema = command("logs", LogsCommandPayloadSchema, WorkspaceIdSchema);
/** Not about one workspace: workspace_id is null. */
export const ReconcileCommandSchema = command("reconcile", ReconcileCommandPayloadSchema, z.null());

export const AgentCommandSchema = z.discriminatedUnion("type", [
  CreateCommandSchema,
  StartCommandSchema,
  StopCommandSchema,
  DeleteCommandSchema,
  ExecCommandSchema,
  LogsCommandSchema,
  ReconcileCommandSchema,
]);
export type AgentCommand = z.output<typeof AgentCommandSchema>;
export type AgentCommandInput = z.input<typeof AgentCommandSchema>;
export const COMMAND_TYPES = ["create", "start", "stop", "delete", "exec", "logs", "reconcile"] as const satisfies readonly AgentCommand["type"][];
export type CommandType = (typeof COMMAND_TYPES)[number];
export const CommandTypeSchema = z.enum(COMMAND_TYPES);

export const PollCommandsQuerySchema = z.object({
  /** Seconds the server may hold the request open when nothing is queued. */
  wait: queryInt(0, 60).default(25),
});
export type PollCommandsQuery = z.input<typeof PollCommandsQuerySchema>;

export const PollCommandsResponseSchema = z.object({ commands: z.array(AgentCommandSchema) });
export type PollCommandsResponse = z.output<typeof PollCommandsResponseSchema>;

/** The workspace spec a provider receives, from a create command. */
export function workspaceSpecFromCreateCommand(command: z.output<typeof CreateCommandSchema>): WorkspaceSpec {
  const { payload } = command;
  const resources = payload.resources && {
    ...(payload.resources.cpu === undefined ? {} : { cpu: payload.resources.cpu }),
    ...(payload.resources.memory_bytes === undefined ? {} : { memoryBytes: payload.resources.memory_bytes }),
    ...(payload.resources.disk_bytes === undefined ? {} : { diskBytes: payload.resources.disk_bytes }),
  };
  return {
    workspaceId: command.workspace_id,
    name: payload.name,
    sshPort: payload.ssh_port,
    authorizedKeys: payload.authorized_keys,
    ...(payload.image === undefined ? {} : { image: payload.image }),
    ...(payload.ssh_bind_address === undefined ? {} : { sshBindAddress: payload.ssh_bind_address }),
    ...(resources === undefined ? {} : { resources }),
    ...(payload.labels === undefined ? {} : { labels: payload.labels }),
  };
}

// ---- results (agent → server)

export const OBSERVED_STATES = ["running", "stopped", "creating", "error", "absent"] as const;

/** What a provider reports for one nexus-labelled container. */
export const ObservedWorkspaceSchema = z.strictObject({
  workspace_id: WorkspaceIdSchema,
  state: z.enum(OBSERVED_STATES),
  handle: HandleSchema.optional(),
  /** When the container was created, so the server can spare young orphans. */
  created_at: TimestampSchema.optional(),
  reason: z.string().max(2000).optional(),
});
export type ObservedWorkspace = z.output<typeof ObservedWorkspaceSchema>;

function success<T extends CommandType, D extends z.ZodType>(type: T, data: D) {
  return z.strictObject({ ok: z.literal(true), type: z.literal(type), data });
}
const EmptyDataSchema = z.strictObject({});

export const CommandSuccessSchema = z.discriminatedUnion("type", [
  success("create", z.strictObject({ handle: HandleSchema, host_key: z.string().min(1) })),
  success("start", EmptyDataSchema),
  success("stop", EmptyDataSchema),
  success("delete", EmptyDataSchema),
  success("exec", z.strictObject({ exit_code: z.int(), stdout: z.string(), stderr: z.string() })),
  success("logs", z.strictObject({ text: z.string() })),
  success("reconcile", z.strictObject({ workspaces: z.array(ObservedWorkspaceSchema) })),
]);

export const CommandFailureSchema = z.strictObject({
  ok: z.literal(false),
  type: CommandTypeSchema,
  error: z.strictObject({
    code: ErrorCodeSchema,
    message: z.string().max(10_000),
    details: z.record(z.string(), z.unknown()).optional(),
    phase: CreatePhaseSchema.optional(),
  }),
});

export const CommandResultBodySchema = z.discriminatedUnion("ok", [CommandSuccessSchema, CommandFailureSchema]);
export type CommandResultBody = z.input<typeof CommandResultBodySchema>;

export const CommandResultResponseSchema = z.object({
  /** False when a result for this command was already recorded (a redelivered command). */
  accepted: z.boolean(),
});
export type CommandResultResponse = z.output<typeof CommandResultResponseSchema>;

// ---- events (agent → server)

/** The agent saw a workspace change state by itself (container died, reconcile, …). */
export const WorkspaceStatusNodeEventSchema = z.strictObject({
  type: z.literal("workspace_status"),
  workspace_id: WorkspaceIdSchema,
  status: WorkspaceStateSchema,
  error: WorkspaceErrorSchema.optional(),
  at: TimestampSchema,
});

/** Everything the node holds (complete: true) or a part of it; sent after an agent restart. */
export const ObservedNodeEventSchema = z.strictObject({
  type: z.literal("observed"),
  workspaces: z.array(ObservedWorkspaceSchema),
  complete: z.boolean(),
  at: TimestampSchema,
});

export const NodeEventSchema = z.discriminatedUnion("type", [
  PhaseEventSchema,
  ServiceEventSchema,
  WorkspaceStatusNodeEventSchema,
  ObservedNodeEventSchema,
]);
export type NodeEvent = z.output<typeof NodeEventSchema>;

export const NodeEventsBodySchema = z.strictObject({ events: z.array(NodeEventSchema).min(1).max(500) });
export type NodeEventsBody = z.input<typeof NodeEventsBodySchema>;

export const NodeEventsResponseSchema = z.object({ accepted: z.int().nonnegative() });
export type NodeEventsResponse = z.output<typeof NodeEventsResponseSchema>;

// ---- admin

export const NodeInfoSchema = z.object({
  node_id: NodeIdSchema,
  name: z.string(),
  status: NodeStatusSchema,
  providers: z.array(z.string()),
  ssh_host: z.string(),
  ssh_port_range: z.object({ start: PortSchema, end: PortSchema }),
  capacity: NodeCapacitySchema,
  version: z.string(),
  registered_at: TimestampSchema,
  last_heartbeat: TimestampSchema.nullable(),
  workspaces: z.int().nonnegative(),
});
export type NodeInfo = z.output<typeof NodeInfoSchema>;

export const ListNodesResponseSchema = z.object({ nodes: z.array(NodeInfoSchema) });
export type ListNodesResponse = z.output<typeof ListNodesResponseSchema>;

export const CreateNodeTokenBodySchema = z
  .strictObject({
    description: NoControlCharsSchema.max(200).optional(),
    ttl_seconds: z.int().min(60).max(30 * 86_400).default(86_400),
  })
  .prefault({});
export type CreateNodeTokenBody = z.input<typeof CreateNodeTokenBodySchema>;

export const CreateNodeTokenResponseSchema = z.object({
  /** `nxj_…`: pass to `nexus agent start --join-token`. */
  token: z.string().startsWith("nxj_"),
  expires_at: TimestampSchema,
  description: z.string().optional(),
});
export type CreateNodeTokenResponse = z.output<typeof CreateNodeTokenResponseSchema>;
