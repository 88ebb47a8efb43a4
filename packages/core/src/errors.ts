// One error type for the whole system. The catalog maps each code to its HTTP
// status, CLI exit code, whether a retry can help, and a default hint; docs/errors.md
// has one anchored section per code (kept in sync by a test).

const BRAND = Symbol.for("nexus.error");

export interface CatalogEntry {
  readonly http: number;
  readonly exit: number;
  readonly retryable: boolean;
  readonly title: string;
  readonly hint?: string;
}

export const ERROR_CATALOG = {
  invalid_request: { http: 400, exit: 2, retryable: false, title: "The request is malformed or a value is invalid" },
  invalid_config: { http: 400, exit: 2, retryable: false, title: "A configuration file or plugin option is invalid", hint: "Fix the file at the position shown, then run `nexus config validate`." },
  auth_required: { http: 401, exit: 3, retryable: false, title: "No valid credentials were presented", hint: "Run `nexus auth github`." },
  forbidden: { http: 403, exit: 3, retryable: false, title: "The credentials do not allow this action" },
  workspace_not_found: { http: 404, exit: 4, retryable: false, title: "No such workspace", hint: "Run `nexus workspace list` to see your workspaces." },
  repo_not_found: { http: 404, exit: 4, retryable: false, title: "No such repository, or no access to it", hint: "Check the owner/name and that your GitHub token can read it." },
  user_not_found: { http: 404, exit: 4, retryable: false, title: "No such user", hint: "Run `nexus ssh setup` to register with the server." },
  not_found: { http: 404, exit: 4, retryable: false, title: "No such resource" },
  workspace_exists: { http: 409, exit: 5, retryable: false, title: "A workspace with this name already exists", hint: "Choose another name with `--name`, or delete the old one with `nexus workspace delete <name>`." },
  invalid_transition: { http: 409, exit: 5, retryable: false, title: "The workspace cannot make this change from its current state", hint: "Run `nexus workspace status <name>` to see its state." },
  user_exists: { http: 409, exit: 5, retryable: false, title: "The user already exists" },
  rate_limited: { http: 429, exit: 6, retryable: true, title: "Too many requests", hint: "Wait for the time given in Retry-After, then try again." },
  provider_unavailable: { http: 503, exit: 8, retryable: true, title: "The container engine cannot be reached", hint: "Run `nexus doctor` to check the engine (Incus or Docker)." },
  no_node_available: { http: 503, exit: 8, retryable: true, title: "No node can take this workspace now", hint: "Start an agent (`nexus agent start`) or check `nexus node list`." },
  port_pool_exhausted: { http: 503, exit: 8, retryable: true, title: "Every SSH port of the node is in use", hint: "Delete unused workspaces or widen the agent's `--ssh-ports` range." },
  server_unreachable: { http: 503, exit: 7, retryable: true, title: "The coordination server cannot be reached", hint: "Start it with `nexus server start` (or `nexus up`), or check --server / NEXUS_SERVER." },
  timeout: { http: 504, exit: 9, retryable: true, title: "An operation took too long", hint: "Run `nexus workspace status <name>` to see which phase stalled." },
  provision_failed: { http: 502, exit: 10, retryable: true, title: "The container could not be created", hint: "Run `nexus doctor`; `nexus node image build` rebuilds a missing base image." },
  clone_failed: { http: 502, exit: 10, retryable: true, title: "The repository could not be cloned into the workspace", hint: "Check the repository URL, branch and access token." },
  service_failed: { http: 502, exit: 10, retryable: true, title: "A service did not start or never became healthy", hint: "Run `nexus workspace logs <name> <service>`." },
  internal_error: { http: 500, exit: 1, retryable: false, title: "An unexpected error", hint: "Run again with `--verbose` and report the request id." },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOG;
export const ERROR_CODES = Object.keys(ERROR_CATALOG) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CATALOG, value);
}

export interface NexusErrorInit {
  details?: Record<string, unknown>;
  hint?: string;
  cause?: unknown;
}

export class NexusError extends Error {
  readonly [BRAND] = true;
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, init: NexusErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "NexusError";
    this.code = code;
    this.details = init.details ?? {};
    this.hint = init.hint ?? (ERROR_CATALOG[code] as CatalogEntry).hint;
  }

  get http(): number { return ERROR_CATALOG[this.code].http; }
  get exitCode(): number { return ERROR_CATALOG[this.code].exit; }
  get retryable(): boolean { return ERROR_CATALOG[this.code].retryable; }

  /** The wire form (SPEC §5), minus request_id which the server adds. */
  toJSON(): { error: ErrorCode; message: string; details: Record<string, unknown>; hint?: string } {
    return { error: this.code, message: this.message, details: this.details, ...(this.hint ? { hint: this.hint } : {}) };
  }
}

/** Brand check: works across duplicated copies of @nexus/core, unlike instanceof. */
export function isNexusError(value: unknown): value is NexusError {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** Wraps anything thrown into a NexusError; unknown errors become internal_error. */
export function toNexusError(value: unknown, context: { plugin?: string } = {}): NexusError {
  if (isNexusError(value)) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new NexusError("internal_error", context.plugin ? `${context.plugin}: ${message}` : message, {
    cause: value,
    details: context.plugin ? { plugin: context.plugin } : {},
  });
}
