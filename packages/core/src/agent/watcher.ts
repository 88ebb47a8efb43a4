// Keeps the server's view of running workspaces current: reads each one's supervisor
// status every few seconds and reports services whose state or health changed (and,
// every LAST_CHECK_REFRESH_MS of checks, unchanged ones, so last_check stays current),
// and notices containers that stopped or vanished behind nexus's back.
import type { Handle, ProviderInstance } from "../contracts/provider.js";
import type { Logger } from "../logger.js";
import { readSupervisorStatus } from "./container.js";
import type { OutgoingEvent } from "./outbox.js";
import type { SupervisorStatus } from "./supervisor/types.js";
import { sleep } from "./timing.js";

/** The supervisor rewrites its status every 5 s; this much silence means it died. */
const STALE_STATUS_MS = 30_000;
/**
 * An unchanged service is reported again once its last check is this much newer than
 * the one last reported, so the server's `last_check` shows the checks keep running
 * without an event per check.
 */
export const LAST_CHECK_REFRESH_MS = 30_000;
const STEP_TIMEOUT_MS = 15_000;

interface Reported {
  key: string;
  lastCheck: string | null;
}

interface Watched {
  handle: Handle;
  /** Last reported `status/health/last_error` and last_check per service. */
  reported: Map<string, Reported>;
}

export class ServiceWatcher {
  readonly #watched = new Map<string, Watched>();

  constructor(
    private readonly provider: ProviderInstance,
    private readonly emit: (event: OutgoingEvent) => void,
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {}

  get size(): number {
    return this.#watched.size;
  }

  /** Starts watching (again); a status at hand is reported at once. */
  watch(workspaceId: string, handle: Handle, status?: SupervisorStatus | null): void {
    const watched = this.#watched.get(workspaceId) ?? { handle, reported: new Map() };
    watched.handle = handle;
    this.#watched.set(workspaceId, watched);
    if (status) this.report(workspaceId, status);
  }

  unwatch(workspaceId: string): void {
    this.#watched.delete(workspaceId);
  }

  /** Service events for what changed since the last report of this workspace. */
  report(workspaceId: string, status: SupervisorStatus): void {
    const watched = this.#watched.get(workspaceId);
    const reported = watched?.reported ?? new Map<string, Reported>();
    const at = new Date().toISOString();
    const stale = status.state === "running" && Date.now() - Date.parse(status.updated_at) > STALE_STATUS_MS;
    for (const [name, service] of Object.entries(status.services)) {
      const current = stale
        ? { status: "error" as const, health: "unhealthy" as const, last_error: "the service supervisor stopped answering" }
        : { status: service.status, health: service.health, last_error: service.last_error };
      const key = `${current.status}/${current.health}/${current.last_error ?? ""}`;
      const previous = reported.get(name);
      if (previous?.key === key && !checkedSince(previous.lastCheck, service.last_check)) continue;
      reported.set(name, { key, lastCheck: service.last_check });
      this.emit({ type: "service", workspace_id: workspaceId, name, ...current, last_check: service.last_check, at });
    }
  }

  /** Polls every watched workspace until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (await sleep(this.intervalMs, signal)) {
      for (const [workspaceId, watched] of [...this.#watched]) {
        if (signal.aborted) return;
        await this.#check(workspaceId, watched, signal);
      }
    }
  }

  async #check(workspaceId: string, watched: Watched, signal: AbortSignal): Promise<void> {
    const op = { signal: AbortSignal.any([signal, AbortSignal.timeout(STEP_TIMEOUT_MS)]), log: this.log };
    try {
      const status = await readSupervisorStatus(this.provider, watched.handle, op);
      if (status && this.#watched.get(workspaceId) === watched) this.report(workspaceId, status);
    } catch (error) {
      if (signal.aborted || this.#watched.get(workspaceId) !== watched) return;
      const observed = await this.provider.inspect(watched.handle, op).catch(() => undefined);
      if (!observed || observed.state === "running" || this.#watched.get(workspaceId) !== watched) {
        this.log.debug({ err: error, workspace_id: workspaceId }, "reading service status failed");
        return;
      }
      this.unwatch(workspaceId);
      const at = new Date().toISOString();
      this.log.warn({ workspace_id: workspaceId, state: observed.state }, "a running workspace's container is no longer running");
      this.emit(
        observed.state === "stopped"
          ? { type: "workspace_status", workspace_id: workspaceId, status: "stopped", at }
          : {
              type: "workspace_status", workspace_id: workspaceId, status: "error", at,
              error: { code: "provision_failed", message: observed.state === "absent" ? "the workspace's container disappeared" : `the workspace's container is in state ${observed.state}${observed.reason ? `: ${observed.reason}` : ""}` },
            },
      );
    }
  }
}

/** A check at least LAST_CHECK_REFRESH_MS newer than the one last reported. */
function checkedSince(reported: string | null, latest: string | null): boolean {
  if (latest === null) return false;
  if (reported === null) return true;
  return Date.parse(latest) - Date.parse(reported) >= LAST_CHECK_REFRESH_MS;
}
