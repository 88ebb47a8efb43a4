// What the agent and the in-workspace supervisor exchange: the workspace file the agent
// writes into the container, and the status file and command results the supervisor
// writes back. Plain JSON both ways.
import type { HealthCheck } from "../../config/health-check.js";
import type { RestartPolicy } from "../../config/schema.js";
import type { Health, ServiceState } from "../../state.js";

/** Where the supervisor keeps its files (fixed in a container, temp dirs in tests). */
export interface SupervisorPaths {
  /** The agent-written description of the workspace (WorkspaceFile). */
  workspaceFile: string;
  /** status.json, supervisor.pid, supervisor.log, lifecycle.log, services.log (every service, line by line), the setup marker. */
  stateDir: string;
  /** One `<service>.log` per service. */
  logDir: string;
}

export interface SupervisedService {
  name: string;
  /** Run with `/bin/sh -c`. */
  command: string;
  port?: number;
  depends_on: string[];
  /** The service's own variables, over WorkspaceFile.env. */
  env: Record<string, string>;
  health_check: HealthCheck;
  restart: RestartPolicy;
}

export const LIFECYCLE_HOOKS = ["setup", "pre_start", "post_start", "pre_stop"] as const;
export type LifecycleHook = (typeof LIFECYCLE_HOOKS)[number];

export interface WorkspaceFile {
  version: 1;
  /** Services and hooks run here. */
  repo_dir: string;
  /** The account services and hooks run as; a supervisor started as root switches to it. */
  user: { name: string; uid: number; gid: number; home: string };
  /** Base environment plus the project's `env`. */
  env: Record<string, string>;
  lifecycle: Partial<Record<LifecycleHook, string>>;
  /** In configuration order; dependencies are already checked (no cycles, no unknown names). */
  services: SupervisedService[];
  /** SIGTERM, then SIGKILL after this long. */
  stop_timeout_ms: number;
  /** Restart delays: initial_ms, doubling per consecutive failure, capped at max_ms. */
  backoff: { initial_ms: number; max_ms: number };
  /** A service log is rotated (one old generation kept) when it grows past this. */
  log_max_bytes: number;
  /** Time limits of lifecycle hooks. */
  hook_timeout_ms: Partial<Record<LifecycleHook, number>>;
}

export interface ServiceStatusRecord {
  status: ServiceState;
  health: Health;
  pid: number | null;
  restarts: number;
  started_at: string | null;
  healthy_at: string | null;
  last_check: string | null;
  last_error: string | null;
  exit_code: number | null;
  /** The service cannot become healthy without help: it gave up, exited for good, or missed its deadline. */
  failed: boolean;
}

export type SupervisorState = "starting" | "running" | "stopping" | "stopped";

export interface SupervisorStatus {
  pid: number;
  state: SupervisorState;
  started_at: string;
  /** Rewritten at least every few seconds while the supervisor lives. */
  updated_at: string;
  services: Record<string, ServiceStatusRecord>;
}

/** What every supervisor command prints as its last stdout line. */
export interface SupervisorResult {
  ok: boolean;
  /** Which step failed: a hook name, `services` or `supervisor`. */
  stage?: LifecycleHook | "services" | "supervisor";
  /** For stage `services`: the service that failed, and why the wait ended. */
  service?: string;
  reason?: "service_failed" | "timeout" | "supervisor_exited";
  message?: string;
  exit_code?: number;
  /** The end of the hook's (or the supervisor's) output. */
  output?: string;
  status?: SupervisorStatus | null;
}
