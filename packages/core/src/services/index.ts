// The coordination server's logic, independent of HTTP (ARCHITECTURE.md "Thin shells"):
// the server's route handlers call these services, which work over the Store contract
// and a clock.
import { createHash } from "node:crypto";
import { silentLogger, type Logger } from "../logger.js";
import type { Store } from "../contracts/store.js";
import { WORKSPACE_STATES, type WorkspaceState } from "../state.js";
import type { HealthResponse } from "../wire/health.js";
import { AuthService } from "./auth.js";
import { systemClock, type Clock } from "./clock.js";
import { CommandQueue } from "./command-queue.js";
import { WorkspaceEvents } from "./events.js";
import { GithubVerifier } from "./github.js";
import { WorkspaceLifecycle } from "./lifecycle.js";
import { NodeService } from "./nodes.js";
import { resolveServicesOptions, type ResolvedServicesOptions, type ServicesOptions } from "./options.js";
import { PhaseBook } from "./phases.js";
import { Scheduler } from "./scheduler.js";
import { UserService } from "./users.js";
import { WorkspaceService } from "./workspaces.js";

export { systemClock, msSince, type Clock } from "./clock.js";
export { WorkspaceEvents, type StreamedEvent, type WorkspaceSubscriber } from "./events.js";
export { AuthService, type AuthContext, type Principal } from "./auth.js";
export { GithubVerifier, type GithubIdentity } from "./github.js";
export { UserService, LOCAL_USERNAME, type RegisterGithubInput } from "./users.js";
export { WorkspaceService, type CreateFromRepoInput, type LogsInput } from "./workspaces.js";
export { NodeService, toAgentCommand, type HeartbeatInput, type RegisterNodeInput } from "./nodes.js";
export { Scheduler } from "./scheduler.js";
export { CommandQueue } from "./command-queue.js";
export { WorkspaceLifecycle } from "./lifecycle.js";
export { PhaseBook } from "./phases.js";
export { newLogLines, splitLogLines } from "./log-follow.js";
export { toWorkspaceName, workspaceNameCandidates } from "./naming.js";
export { TOKEN_PREFIXES, newToken, sameSecret, type IssuedTokenKind } from "./tokens.js";
export { serviceUrl, wireError, workspaceDetail, workspaceHealth } from "./present.js";
export { parseWorkspaceConfig } from "./project-config.js";
export {
  DEFAULT_GITHUB_API_URL,
  githubHostFromApiUrl,
  resolveServicesOptions,
  type ResolvedServicesOptions,
  type ServicesOptions,
} from "./options.js";

/** Gauges for `/metrics`, read from the Store at scrape time. */
export interface ServicesSnapshot {
  workspacesByStatus: Record<WorkspaceState, number>;
  nodesOnline: number;
  nodesOffline: number;
  commandsQueued: number;
  commandsDelivered: number;
  sseSubscribers: number;
}

export interface NexusServices {
  readonly options: ResolvedServicesOptions;
  readonly store: Store;
  readonly clock: Clock;
  readonly log: Logger;
  readonly events: WorkspaceEvents;
  readonly auth: AuthService;
  readonly users: UserService;
  readonly workspaces: WorkspaceService;
  readonly nodes: NodeService;
  readonly scheduler: Scheduler;
  readonly commands: CommandQueue;
  /** The periodic work: place, time out and dispatch workspaces; mark silent nodes offline. */
  tick(): Promise<void>;
  /** Shutdown: long-polls answer at once, event streams end. */
  interrupt(): void;
  health(): Promise<HealthResponse>;
  snapshot(): Promise<ServicesSnapshot>;
}

export function createServices(input: ServicesOptions): NexusServices {
  const options = resolveServicesOptions(input);
  const { store } = input;
  const clock = input.clock ?? systemClock;
  const log = input.log ?? silentLogger;
  const started = clock.now().getTime();
  const events = new WorkspaceEvents(clock.now());
  const phases = new PhaseBook(store);
  const commands = new CommandQueue(store, options.redeliverAfterMs);
  const lifecycle = new WorkspaceLifecycle(store, clock, events, phases, log);
  const github = new GithubVerifier({ apiUrl: options.githubApiUrl, clock, ttlMs: options.githubCacheTtlMs, timeoutMs: options.githubTimeoutMs });
  const auth = new AuthService(store, github, options.adminToken);
  const users = new UserService(store);
  const scheduler = new Scheduler({ store, clock, queue: commands, lifecycle, phases, events, options, log });
  const workspaces = new WorkspaceService({ store, queue: commands, lifecycle, phases, scheduler, users, options, localKeys: input.localKeys, log });
  const nodes = new NodeService({ store, clock, queue: commands, lifecycle, phases, events, scheduler, options, log });

  return {
    options,
    store,
    clock,
    log,
    events,
    auth,
    users,
    workspaces,
    nodes,
    scheduler,
    commands,
    async tick() {
      await nodes.sweepOffline();
      await scheduler.pass();
    },
    interrupt() {
      commands.interrupt();
      events.endAll();
    },
    async health() {
      return {
        status: "ok",
        version: options.version,
        uptime_seconds: Math.max(0, Math.floor((clock.now().getTime() - started) / 1000)),
        nodes: await nodes.health(),
      };
    },
    async snapshot() {
      const workspacesByStatus = Object.fromEntries(WORKSPACE_STATES.map((state) => [state, 0])) as Record<WorkspaceState, number>;
      for (const workspace of await store.workspaces.listAll()) workspacesByStatus[workspace.status]++;
      let nodesOnline = 0;
      let nodesOffline = 0;
      let commandsQueued = 0;
      let commandsDelivered = 0;
      for (const node of await store.nodes.list()) {
        if (node.status === "online") nodesOnline++;
        else nodesOffline++;
        for (const command of await store.commands.listPending(node.node_id)) {
          if (command.status === "queued") commandsQueued++;
          else commandsDelivered++;
        }
      }
      return { workspacesByStatus, nodesOnline, nodesOffline, commandsQueued, commandsDelivered, sseSubscribers: events.subscriberCount() };
    },
  };
}

/** A stable, non-reversible label for a bearer token (rate-limit keys, log fields). */
export function tokenFingerprint(token: string): string {
  return createHash("sha256").update(token).digest("base64url").slice(0, 16);
}
