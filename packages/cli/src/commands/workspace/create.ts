// `nexus workspace create <owner/repo | URL | path>`: resolve the repository (fork when
// needed), optionally clone it locally, load or generate its config, create the
// workspace, and follow its phases until it runs or fails.
import { randomUUID } from "node:crypto";
import { join, resolve } from "node:path";
import {
  NexusError,
  WorkspaceNameSchema,
  isNexusError,
  type CreateWorkspaceBody,
  type CreateWorkspaceResponse,
  type WorkspaceDetail,
} from "@nexus/core";
import { ExitStatus, SIGINT_STATUS } from "../../exit.js";
import type { CommandContext } from "../../io.js";
import { createPhaseProgress, type PhaseProgress } from "../../progress.js";
import { serverSession } from "../../session.js";
import { withInterrupt, workspaceFailure } from "./common.js";
import { ensureLocalCheckout, resolveGithubRepo } from "./github-repo.js";
import { projectConfigFor, type CreateConfig } from "./project-config.js";
import { classifyRepoInput, resolveLocalRepo } from "./source.js";
import { renderSummary } from "./view.js";
import { watchWorkspace } from "./watch.js";

export interface CreateWorkspaceInput {
  /** `OWNER/REPO`, a GitHub URL, or a local directory. */
  repo: string;
  name?: string | undefined;
  branch?: string | undefined;
  provider?: string | undefined;
  /** Where to clone a GitHub repository (default `./<repo>`). */
  cloneDir?: string | undefined;
  /** False: no local clone (--no-clone). */
  clone?: boolean;
  /** False: return once the server accepted the create (--no-wait). */
  wait?: boolean;
  signal?: AbortSignal | undefined;
}

export type CreateWorkspaceResult =
  | { waited: true; workspace: WorkspaceDetail }
  | { waited: false; workspace: CreateWorkspaceResponse };

interface PreparedCreate {
  body: CreateWorkspaceBody;
  local: boolean;
}

export async function createWorkspace(ctx: CommandContext, input: CreateWorkspaceInput): Promise<CreateWorkspaceResult> {
  if (input.name !== undefined && !WorkspaceNameSchema.safeParse(input.name).success) {
    throw new NexusError("invalid_request", `workspace name ${JSON.stringify(input.name)} is invalid: use 1-63 lower-case letters, digits or '-', starting with a letter or digit`, {
      details: { name: input.name },
    });
  }
  const session = serverSession(ctx);
  const progress = createPhaseProgress(ctx);
  return withInterrupt(input.signal, async (signal) => {
    try {
      const prepared = await prepare(ctx, input, progress, signal);
      const started = Date.now();
      let created: CreateWorkspaceResponse;
      try {
        created = await session.client.createWorkspace(prepared.body, { idempotencyKey: randomUUID(), signal });
      } catch (error) {
        throw prepared.local ? explainLocalRejection(error, session.url) : error;
      }
      if (input.wait === false) {
        ctx.say(`workspace ${created.workspace_name} accepted (${created.status}); follow it with \`nexus workspace status ${created.workspace_name} --watch\``);
        ctx.result(created);
        return { waited: false, workspace: created };
      }
      ctx.say(ctx.colors.dim(`creating workspace ${created.workspace_name} (${created.workspace_id}) on ${session.url}`));
      const outcome = await watchWorkspace(session.client, created.workspace_id, {
        signal,
        onUpdate: (detail) => progress.update(detail),
        done: (detail) => detail.status === "running" || detail.status === "error",
      });
      if (outcome.kind === "interrupted") {
        progress.stop();
        ctx.warn(`stopped following; workspace ${created.workspace_name} is still being created. Check it with \`nexus workspace status ${created.workspace_name}\`.`);
        throw new ExitStatus(SIGINT_STATUS);
      }
      if (outcome.kind === "gone") {
        throw new NexusError("workspace_not_found", `workspace ${created.workspace_name} was deleted while it was being created`, {
          details: { workspace: created.workspace_name },
        });
      }
      const detail = outcome.detail;
      if (detail.status === "error") {
        const failure = workspaceFailure(detail);
        progress.stop(failure.message);
        throw failure;
      }
      progress.stop();
      ctx.say(renderSummary(ctx, detail, Date.now() - started));
      ctx.result(detail);
      return { waited: true, workspace: detail };
    } catch (error) {
      progress.stop();
      if (signal.aborted && !(error instanceof ExitStatus)) {
        ctx.warn("interrupted. If the server had accepted the request, the workspace is still being created: see `nexus workspace list`.");
        throw new ExitStatus(SIGINT_STATUS);
      }
      throw error;
    }
  });
}

async function prepare(ctx: CommandContext, input: CreateWorkspaceInput, progress: PhaseProgress, signal: AbortSignal): Promise<PreparedCreate> {
  const { env, cwd } = ctx.io;
  const source = classifyRepoInput(input.repo, cwd, env);
  const common = {
    ...(input.name ? { workspace_name: input.name } : {}),
    ...(input.provider ? { provider: input.provider } : {}),
  };
  if (source.kind === "local") {
    const repo = await resolveLocalRepo(source.dir, input.branch, env);
    if (repo.dirty) ctx.warn(ctx.colors.yellow(`warning: ${repo.dir} has uncommitted changes; the workspace gets the committed state of ${repo.branch ?? "HEAD"}`));
    const config = await projectConfigFor(repo.dir, repo.name);
    explainConfig(ctx, config);
    return {
      local: true,
      body: { ...common, repo: { owner: repo.owner, name: repo.name, url: repo.url, ...(repo.branch ? { branch: repo.branch } : {}) }, config: config.config },
    };
  }

  progress.step(`looking up ${source.ref} on GitHub`);
  const github = await resolveGithubRepo(ctx, { ref: source.ref, branch: input.branch, signal });
  const { resolved } = github;
  const full = `${resolved.owner}/${resolved.name}`;
  if (resolved.forked) progress.done(`forked ${resolved.upstream?.owner}/${resolved.upstream?.name} to ${full}`);
  else progress.done(resolved.is_fork && resolved.upstream ? `using your fork ${full}` : `using ${full}`);
  if (!ctx.interactive && resolved.forked) ctx.say(`forked ${resolved.upstream?.owner}/${resolved.upstream?.name} to ${full}`);

  let config: CreateConfig | undefined;
  if (input.clone !== false) {
    const dir = input.cloneDir ? resolve(cwd, input.cloneDir) : join(cwd, resolved.name);
    progress.step(`cloning ${full} into ${dir}`);
    const checkout = await ensureLocalCheckout({ dir, resolved, token: github.token, webUrl: github.client.endpoints.webUrl, env, signal });
    progress.done(checkout.cloned ? `cloned ${full} into ${dir}` : `using the existing checkout in ${dir}`);
    if (!ctx.interactive) ctx.say(checkout.cloned ? `cloned ${full} into ${dir}` : `using the existing checkout in ${dir}`);
    config = await projectConfigFor(dir, resolved.name);
    explainConfig(ctx, config);
  } else {
    ctx.warn("no local clone (--no-clone): no project config is sent, so the workspace starts without services");
  }
  return {
    local: false,
    body: {
      ...common,
      repo: {
        owner: resolved.owner,
        name: resolved.name,
        branch: resolved.branch,
        url: resolved.clone_url,
        is_fork: resolved.is_fork,
        ...(resolved.upstream ? { upstream: { owner: resolved.upstream.owner, name: resolved.upstream.name, url: resolved.upstream.clone_url } } : {}),
      },
      ...(config ? { config: config.config } : {}),
      clone_token: github.token.reveal(),
    },
  };
}

function explainConfig(ctx: CommandContext, config: CreateConfig): void {
  const { dim, yellow } = ctx.colors;
  for (const warning of config.warnings) ctx.warn(`${yellow("warning")} ${warning.text}`);
  for (const problem of config.problems) ctx.warn(`${yellow("warning")} ${problem.detector}: ${problem.message}`);
  const services = config.services.length ? `services: ${config.services.join(" → ")}` : "no services";
  if (config.source === "file") {
    ctx.say(dim(`using ${config.file} (${services})`));
    return;
  }
  ctx.say(`no .nexus/config.yaml: generated one from what the repository contains (${services})`);
  for (const guess of config.guesses) ctx.say(`  ${dim(`${guess.detector}${guess.dir !== "." ? ` (${guess.dir})` : ""}:`)} ${guess.reason}`);
  ctx.say(dim("  save and edit it with `nexus config init`"));
}

/** The server refuses local repositories unless it runs in single-machine mode: say so plainly. */
function explainLocalRejection(error: unknown, server: string): unknown {
  if (!isNexusError(error) || error.code !== "invalid_request" || !/single-machine|local repositor/i.test(error.message)) return error;
  return new NexusError("invalid_request", `the server at ${server} does not accept local directories: ${error.message}`, {
    details: error.details,
    hint: "Local directories work only with a single-machine server (`nexus up`, or `nexus server start --with-agent`). For this server, push the code to GitHub and run `nexus workspace create OWNER/REPO`.",
    cause: error,
  });
}
