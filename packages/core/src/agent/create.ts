// The create pipeline (SPEC §3, §6): container → SSH → repository → setup → services,
// each a timed phase. The repository is fetched into the node's mirror and bundled
// while the container is being provisioned, so the two slowest steps overlap.
import type { Op } from "../contracts/common.js";
import { REPO_LABELS, type Handle, type WorkspaceSpec } from "../contracts/provider.js";
import { NexusError } from "../errors.js";
import { CONFIG_FILE, CONFIG_FILE_ALT, parseProjectConfig } from "../config/parse.js";
import { projectConfigSchema, type ProjectConfig } from "../config/schema.js";
import { assertServiceGraph } from "../graph.js";
import type { CreatePhase } from "../state.js";
import { checkRepositoryUrl } from "../wire/repo-url.js";
import { workspaceSpecFromCreateCommand, type CreateCommandSchema } from "../wire/nodes.js";
import { zodIssuesToDetails } from "../zod-issues.js";
import type { z } from "zod";
import { copyBundle, installAndClone, readHostKey, supervisor, workspaceFile } from "./container.js";
import { AGENT_LABELS, type AgentContext } from "./context.js";
import type { RepositoryBundle } from "./mirror.js";
import { PhaseReporter, phaseError } from "./phases.js";
import { waitForSshBanner } from "./ssh-ready.js";
import type { SupervisorResult } from "./supervisor/types.js";
import { withDeadline } from "./timing.js";

type CreateCommand = z.output<typeof CreateCommandSchema>;

export interface CreateOutcome {
  handle: Handle;
  host_key: string;
}

const LIMITS = {
  provision: 5 * 60_000,
  ssh: 60_000,
  clone: 15 * 60_000,
  setup: 31 * 60_000,
  servicesStart: 60_000,
  servicesHealthy: 35 * 60_000,
};

/** Labels that carry the checked-out repository state in the create result's handle. */

/** The project configuration sent with the command (the form users write; the server validated it). */
export function resolveWireConfig(raw: Record<string, unknown> | undefined): ProjectConfig {
  const parsed = projectConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issues = zodIssuesToDetails(parsed.error.issues);
    throw new NexusError("invalid_config", `the workspace configuration is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, {
      details: { issues },
    });
  }
  assertServiceGraph(parsed.data.services);
  return parsed.data;
}

/** Where to knock for the SSH banner: the bound address, or loopback when the port listens everywhere. */
export function sshProbeHost(bindAddress: string | undefined): string {
  return bindAddress === undefined || bindAddress === "0.0.0.0" || bindAddress === "::" ? "127.0.0.1" : bindAddress;
}

/** A failed supervisor step as the catalog error of its phase. */
export function supervisorFailure(result: SupervisorResult, phase: CreatePhase): NexusError {
  const output = result.output?.trim();
  const message = `${result.message ?? "the supervisor failed"}${output ? `\n${output.split("\n").slice(-10).join("\n")}` : ""}`;
  const code = result.reason === "timeout" ? "timeout" : "service_failed";
  return new NexusError(code, message, {
    details: { phase, ...(result.stage ? { stage: result.stage } : {}), ...(result.service ? { service: result.service } : {}), ...(result.exit_code === undefined ? {} : { exit_code: result.exit_code }) },
  });
}

/** Without a configuration in the command, the repository's own `.nexus/config.yaml` (if any) applies. */
async function configFromRepository(ctx: AgentContext, bundle: RepositoryBundle, signal: AbortSignal): Promise<ProjectConfig> {
  for (const file of [CONFIG_FILE, CONFIG_FILE_ALT]) {
    const text = await ctx.mirrors.show(bundle.mirror, bundle.commit, file, signal);
    if (text === undefined) continue;
    const { config } = parseProjectConfig(text, { file });
    assertServiceGraph(config.services);
    return config;
  }
  return resolveWireConfig(undefined);
}

export async function createWorkspace(ctx: AgentContext, command: CreateCommand, op: Op): Promise<CreateOutcome> {
  const { payload } = command;
  const workspaceId = command.workspace_id;
  const phases = new PhaseReporter(workspaceId, (event) => ctx.emit(event), (phase) => ctx.journal.update(command.id, { phase }));

  // Checked before anything runs; each failure is reported in the phase it belongs to.
  let given: ProjectConfig | undefined;
  try {
    given = payload.config === undefined ? undefined : resolveWireConfig(payload.config);
  } catch (error) {
    throw phaseError("setup_done", error);
  }
  let repo;
  try {
    repo = checkRepositoryUrl(payload.repo.url, {
      githubHost: ctx.options.githubHost,
      ...(ctx.options.allowedRepoHosts ? { allowedHosts: ctx.options.allowedRepoHosts } : {}),
      allowLocal: ctx.options.allowLocalRepos ?? false,
      allowHttp: ctx.options.allowHttpRepos ?? false,
    });
  } catch (error) {
    throw phaseError("repo_cloned", error);
  }

  const spec: WorkspaceSpec = {
    ...workspaceSpecFromCreateCommand(command),
    labels: { ...ctx.options.labels, ...payload.labels, [AGENT_LABELS.node]: ctx.options.name, [AGENT_LABELS.createdAt]: new Date().toISOString() },
    ...(ctx.options.caBundle ? { caBundle: ctx.options.caBundle } : {}),
  };

  // Mirror fetch and bundle run while the container is provisioned.
  const bundling = (async () => {
    const dir = await ctx.mirrors.update(repo, payload.clone_token, op.signal);
    return ctx.mirrors.bundle(dir, payload.repo.branch, op.signal);
  })();
  bundling.catch(() => undefined);

  const provisioned = await phases.run("container_created", () =>
    withDeadline(op, LIMITS.provision, "creating the container", (o) => ctx.provider.provision(spec, o), "container_created"),
  );
  ctx.handles.set(workspaceId, provisioned);

  // The bundle is copied in while SSH is being checked.
  const copying = bundling.then(async (bundle) => ({ bundle, path: await copyBundle(ctx.provider, provisioned, bundle.data, op) }));
  copying.catch(() => undefined);

  await phases.run("ssh_ready", () =>
    withDeadline(op, LIMITS.ssh, "waiting for the SSH server", (o) => waitForSshBanner(sshProbeHost(payload.ssh_bind_address), payload.ssh_port, o.signal), "ssh_ready"),
  );

  let config = given ?? resolveWireConfig(undefined);
  let workspace = workspaceFile(config, payload.repo.name);
  const cloned = await phases.run("repo_cloned", () =>
    withDeadline(op, LIMITS.clone, "copying the repository", async (o) => {
      const { bundle, path } = await copying;
      if (given === undefined) {
        config = await configFromRepository(ctx, bundle, o.signal);
        workspace = workspaceFile(config, payload.repo.name);
      }
      const commit = await installAndClone(ctx.provider, provisioned, {
        repoName: payload.repo.name,
        branch: bundle.branch,
        bundlePath: path,
        originUrl: payload.repo.url,
        ...(payload.repo.upstream_url === undefined ? {} : { upstreamUrl: payload.repo.upstream_url }),
        workspace,
      }, o);
      return { branch: bundle.branch, commit };
    }, "repo_cloned"),
  );

  await phases.run("setup_done", async () => {
    if (!config.lifecycle.setup && !config.lifecycle.pre_start) return;
    const result = await withDeadline(op, LIMITS.setup, "the setup script", (o) => supervisor(ctx.provider, provisioned, ["prepare"], o), "setup_done");
    if (!result.ok) throw supervisorFailure(result, "setup_done");
  });

  const hasServices = workspace.services.length > 0;
  await phases.run("services_started", async () => {
    if (!hasServices) return;
    const result = await withDeadline(op, LIMITS.servicesStart, "starting the services", (o) => supervisor(ctx.provider, provisioned, ["start"], o), "services_started");
    if (result.status) ctx.watcher.watch(workspaceId, provisioned, result.status);
    if (!result.ok) throw supervisorFailure(result, "services_started");
  });

  await phases.run("services_healthy", async () => {
    if (!hasServices && !config.lifecycle.post_start) return;
    const args = hasServices ? ["wait", "", "--post-start"] : ["hook", "post_start"];
    const result = await withDeadline(op, LIMITS.servicesHealthy, "waiting for the services", (o) => supervisor(ctx.provider, provisioned, args, o), "services_healthy");
    if (result.status) ctx.watcher.watch(workspaceId, provisioned, result.status);
    if (!result.ok) throw supervisorFailure(result, "services_healthy");
  });

  const hostKey = provisioned.hostKey ?? (await readHostKey(ctx.provider, provisioned, op));
  if (hasServices) ctx.watcher.watch(workspaceId, provisioned);
  const handle: Handle = { ...provisioned, labels: { ...provisioned.labels, [REPO_LABELS.branch]: cloned.branch, [REPO_LABELS.commit]: cloned.commit } };
  ctx.handles.set(workspaceId, handle);
  return { handle, host_key: hostKey };
}
