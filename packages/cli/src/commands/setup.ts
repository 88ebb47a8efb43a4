// `nexus workspace setup-from-repo <repo> --server URL [--editor NAME|none]`: install.sh's
// entry, and the journey `nexus up` ends with. GitHub login → SSH key → workspace →
// connect, one numbered step at a time, each skipped (and said so) when it is already
// done, so running it again just connects. Every step is an existing command's function.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { Option, type Command } from "commander";
import { NexusError, isNexusError, sshPublicKeyFingerprint, type NexusClient, type WorkspaceDetail } from "@nexus/core";
import { builtinEditors, canonicalEditorName } from "@nexus/editors";
import type { LocalSshKey } from "@nexus/github";
import { ExitStatus, SIGINT_STATUS } from "../exit.js";
import { nexusHome, readUserConfig, updateUserConfig, writeFileAtomic } from "../home.js";
import type { CliIO, CommandContext } from "../io.js";
import { action } from "../program.js";
import { formatDuration } from "../render.js";
import { readLocalServerToken, serverSession } from "../session.js";
import { githubSession } from "./auth.js";
import { connectWorkspace, type ConnectResult } from "./connect.js";
import { sshSetup } from "./ssh.js";
import { changeWorkspace, createWorkspace, watchWorkspace, workspaceCommand } from "./workspace.js";
import { withInterrupt, workspaceFailure } from "./workspace/common.js";
import { classifyRepoInput, resolveLocalRepo } from "./workspace/source.js";

export type StepStatus = "done" | "skipped";

export interface JourneyStep {
  step: number;
  name: string;
  title: string;
  status: StepStatus;
  detail: string;
  duration_ms: number;
}

export interface StepOutcome<T> {
  status: StepStatus;
  /** One line: what was done, or why nothing had to be. */
  detail: string;
  value: T;
}

export interface StepTitle {
  name: string;
  title: string;
}

/** Numbered steps with a header each (`[2/4] SSH key`), a closing line, and their timings. */
export class Journey {
  readonly steps: JourneyStep[] = [];
  readonly startedAt = Date.now();

  constructor(
    private readonly ctx: CommandContext,
    private readonly titles: readonly StepTitle[],
  ) {}

  async run<T>(name: string, body: () => Promise<StepOutcome<T>>): Promise<T> {
    const index = this.titles.findIndex((t) => t.name === name);
    const title = this.titles[index]?.title ?? name;
    const { bold, dim, green } = this.ctx.colors;
    this.ctx.say(bold(`[${index + 1}/${this.titles.length}] ${title}`));
    const started = Date.now();
    const outcome = await body();
    const duration = Date.now() - started;
    this.steps.push({ step: index + 1, name, title, status: outcome.status, detail: outcome.detail, duration_ms: duration });
    this.ctx.say(outcome.status === "skipped" ? dim(`  ↷ ${outcome.detail} — skipped`) : `  ${green("✓")} ${outcome.detail} ${dim(`(${formatDuration(duration)})`)}`);
    return outcome.value;
  }

  elapsedMs(): number {
    return Date.now() - this.startedAt;
  }
}

/** The context the steps' commands run with: their human lines show, their --json documents do not (the journey prints one). */
export function stepContext(ctx: CommandContext): CommandContext {
  return { ...ctx, result: () => {} };
}

export const REPO_STEPS: readonly StepTitle[] = [
  { name: "github_login", title: "GitHub login" },
  { name: "ssh_key", title: "SSH key" },
  { name: "workspace", title: "Workspace" },
  { name: "connect", title: "Connect" },
];

export interface RepoJourneyInput {
  /** OWNER/REPO, a GitHub URL, or a local directory (a single-machine server only). */
  repo: string;
  editor?: string | undefined;
  provider?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface JourneyWorkspace {
  workspace_id: string;
  workspace_name: string;
  status: WorkspaceDetail["status"];
  health: WorkspaceDetail["health"];
  /** What the workspace step did. */
  action: "reused" | "started" | "waited" | "created" | "recreated";
}

export interface RepoJourneyResult {
  workspace: JourneyWorkspace;
  connect: ConnectResult;
}

/** Which workspace belongs to the repository the user named. */
export type RepoMatcher = (repository: WorkspaceDetail["repository"]) => boolean;

const sameText = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();

export function matchFileUrl(url: string): RepoMatcher {
  const wanted = url.replace(/\/+$/, "");
  return (repository) => repository.url.replace(/\/+$/, "") === wanted;
}

/** Owner/name of the repository or of its upstream (the user's fork of it counts). */
export function matchGithubRepo(owner: string, name: string): RepoMatcher {
  return (repository) =>
    (sameText(repository.owner, owner) && sameText(repository.name, name)) ||
    (sameText(repository.upstream?.owner, owner) && sameText(repository.upstream?.name, name));
}

/** States in which a workspace is still the user's current one for its repository. */
const LIVE_STATES: ReadonlySet<WorkspaceDetail["status"]> = new Set(["pending", "creating", "running", "starting", "stopping", "stopped", "error"]);
const PREFERENCE: readonly WorkspaceDetail["status"][] = ["running", "starting", "creating", "pending", "stopping", "stopped", "error"];

/** The user's workspace for a repository, preferring one that runs. */
export async function findWorkspaceFor(client: NexusClient, matches: RepoMatcher): Promise<WorkspaceDetail | undefined> {
  const found: WorkspaceDetail[] = [];
  let offset = 0;
  for (;;) {
    const page = await client.listWorkspaces({ limit: 200, offset });
    for (const summary of page.workspaces) {
      if (!LIVE_STATES.has(summary.status)) continue;
      try {
        const detail = await client.getWorkspace(summary.workspace_id);
        if (matches(detail.repository)) found.push(detail);
      } catch (error) {
        // Deleted between the list and the read.
        if (!isNexusError(error) || error.code !== "workspace_not_found") throw error;
      }
    }
    offset += page.workspaces.length;
    if (page.workspaces.length === 0 || offset >= page.total) break;
  }
  return found.sort((a, b) => PREFERENCE.indexOf(a.status) - PREFERENCE.indexOf(b.status) || Date.parse(b.created_at) - Date.parse(a.created_at))[0];
}

type RepoSource = { kind: "local"; dir: string; matches: RepoMatcher } | { kind: "github"; ref: string; matches: RepoMatcher | undefined };

async function repoSource(ctx: CommandContext, repo: string): Promise<RepoSource> {
  const input = classifyRepoInput(repo, ctx.io.cwd, ctx.io.env);
  if (input.kind === "local") {
    const local = await resolveLocalRepo(input.dir, undefined, ctx.io.env);
    return { kind: "local", dir: local.dir, matches: matchFileUrl(local.url) };
  }
  const github = await import("@nexus/github");
  try {
    const ref = github.parseRepoRef(input.ref, { host: github.githubEndpoints({ env: ctx.io.env }).host });
    return { kind: "github", ref: input.ref, matches: matchGithubRepo(ref.owner, ref.name) };
  } catch {
    // Not a reference we can match: the create step reports what is wrong with it.
    return { kind: "github", ref: input.ref, matches: undefined };
  }
}

/** True when `url` is the single-machine server this user's NEXUS_HOME holds a token for. */
export function isLocalServer(home: string, url: string): boolean {
  const local = readLocalServerToken(home);
  return local !== undefined && local.url.replace(/\/+$/, "") === url.replace(/\/+$/, "");
}

function userHome(ctx: CommandContext): string {
  return ctx.io.env.HOME || homedir();
}

async function githubLoginStep(ctx: CommandContext, source: RepoSource, localServer: boolean): Promise<StepOutcome<null>> {
  if (source.kind === "local" && localServer) return { status: "skipped", detail: "not needed for a local directory on this machine's server", value: null };
  const session = await githubSession(ctx);
  const login = ctx.colors.bold(session.user.login);
  if (session.source === "device") return { status: "done", detail: `logged in to GitHub as ${login}`, value: null };
  return { status: "skipped", detail: `already logged in to GitHub as ${login} (token from ${session.origin})`, value: null };
}

/** NEXUS_HOME/server/authorized_keys: the keys the single-machine server gives its local user's workspaces. */
export function localKeysFile(home: string): string {
  return join(home, "server", "authorized_keys");
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, "utf8").split("\n").filter((line) => line.trim() !== "");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

function fingerprintOf(line: string): string | undefined {
  try {
    return sshPublicKeyFingerprint(line.trim());
  } catch {
    return undefined;
  }
}

/** Single-machine mode: the key is generated if needed and registered with the local server (not uploaded anywhere). */
export async function registerLocalKey(ctx: CommandContext): Promise<StepOutcome<LocalSshKey>> {
  const { findOrCreateSshKey } = await import("@nexus/github");
  const key = await findOrCreateSshKey({ home: userHome(ctx) });
  const file = localKeysFile(nexusHome(ctx.io.env));
  const lines = readLines(file);
  const where = `${key.publicKeyPath} ${ctx.colors.dim(`(${key.fingerprint})`)}`;
  if (lines.some((line) => fingerprintOf(line) === key.fingerprint)) {
    return { status: "skipped", detail: `${where} is already registered with the local server`, value: key };
  }
  writeFileAtomic(file, [...lines, key.publicKey, ""].join("\n"), 0o600);
  return { status: "done", detail: `${where}${key.generated ? " generated and" : ""} registered with the local server`, value: key };
}

async function keyRegistered(ctx: CommandContext, fingerprint: string): Promise<boolean> {
  const session = serverSession(ctx);
  if (session.tokenSource === "none") return false;
  try {
    return (await session.client.me()).keys.some((key) => key.fingerprint === fingerprint);
  } catch (error) {
    if (isNexusError(error) && (error.code === "auth_required" || error.code === "user_not_found" || error.code === "forbidden")) return false;
    throw error;
  }
}

async function sshKeyStep(ctx: CommandContext, source: RepoSource, localServer: boolean): Promise<StepOutcome<null>> {
  if (source.kind === "local" && localServer) {
    const outcome = await registerLocalKey(ctx);
    return { ...outcome, value: null };
  }
  const { findOrCreateSshKey } = await import("@nexus/github");
  const key = await findOrCreateSshKey({ home: userHome(ctx) });
  const url = serverSession(ctx).url;
  if (!key.generated && (await keyRegistered(ctx, key.fingerprint))) {
    return { status: "skipped", detail: `${key.publicKeyPath} ${ctx.colors.dim(`(${key.fingerprint})`)} is already registered with ${url}`, value: null };
  }
  const setup = await sshSetup(stepContext(ctx));
  return {
    status: "done",
    detail: `${setup.key.public_key_path} on GitHub (${setup.github.upload}) and registered with ${url} as ${setup.server?.github_username ?? setup.github.login}`,
    value: null,
  };
}

async function workspaceStep(ctx: CommandContext, source: RepoSource, input: RepoJourneyInput): Promise<StepOutcome<JourneyWorkspace>> {
  const { client } = serverSession(ctx);
  const inner = stepContext(ctx);
  const summary = (detail: WorkspaceDetail, action: JourneyWorkspace["action"]): JourneyWorkspace => ({
    workspace_id: detail.workspace_id,
    workspace_name: detail.workspace_name,
    status: detail.status,
    health: detail.health,
    action,
  });
  const existing = source.matches ? await findWorkspaceFor(client, source.matches) : undefined;
  let recreated = false;
  if (existing) {
    const name = existing.workspace_name;
    switch (existing.status) {
      case "running":
        return { status: "skipped", detail: `workspace ${ctx.colors.bold(name)} is already running: reusing it`, value: summary(existing, "reused") };
      case "stopped":
      case "stopping": {
        if (existing.status === "stopping") await waitFor(client, existing.workspace_id, (d) => d.status === "stopped" || d.status === "error", input.signal);
        const started = (await changeWorkspace(inner, "start", name, { signal: input.signal })) as WorkspaceDetail;
        return { status: "done", detail: `started the stopped workspace ${ctx.colors.bold(name)}`, value: summary(started, "started") };
      }
      case "pending":
      case "creating":
      case "starting": {
        ctx.say(`workspace ${name} is ${existing.status}: waiting for it`);
        const detail = await waitFor(client, existing.workspace_id, (d) => d.status === "running" || d.status === "error", input.signal);
        if (detail.status === "error") throw workspaceFailure(detail);
        return { status: "done", detail: `workspace ${ctx.colors.bold(name)} is running`, value: summary(detail, "waited") };
      }
      case "error":
        // A failed workspace holds nothing worth keeping; a new try starts clean, under the same name.
        ctx.say(`workspace ${name} failed earlier (${existing.error?.message ?? "unknown reason"}): deleting it and creating it again`);
        await changeWorkspace(inner, "delete", name, { force: true, signal: input.signal });
        recreated = true;
        break;
      default:
        break;
    }
  }
  const created = await createWorkspace(inner, { repo: source.kind === "local" ? source.dir : source.ref, provider: input.provider, signal: input.signal });
  if (!created.waited) throw new NexusError("internal_error", "the workspace create returned before it finished");
  const detail = created.workspace;
  return { status: "done", detail: `workspace ${ctx.colors.bold(detail.workspace_name)} created and running`, value: summary(detail, recreated ? "recreated" : "created") };
}

async function waitFor(client: NexusClient, id: string, done: (d: WorkspaceDetail) => boolean, signal: AbortSignal | undefined): Promise<WorkspaceDetail> {
  const outcome = await withInterrupt(signal, (inner) => watchWorkspace(client, id, { signal: inner, done }));
  if (outcome.kind === "done") return outcome.detail;
  if (outcome.kind === "gone") throw new NexusError("workspace_not_found", `workspace ${outcome.last?.workspace_name ?? id} was deleted meanwhile`, { details: { workspace: id } });
  throw new ExitStatus(SIGINT_STATUS);
}

/** GitHub login → SSH key → workspace → connect, on the server `ctx` names. */
export async function runRepoJourney(ctx: CommandContext, journey: Journey, input: RepoJourneyInput): Promise<RepoJourneyResult> {
  const home = nexusHome(ctx.io.env);
  const url = serverSession(ctx).url;
  const localServer = isLocalServer(home, url);
  const source = await repoSource(ctx, input.repo);
  if (source.kind === "local" && !localServer) {
    throw new NexusError("invalid_request", `${source.dir} is a local directory, and ${url} is not this machine's single-machine server`, {
      details: { repo: input.repo, server: url },
      hint: "Local directories work with `nexus up` (a server on this machine). For this server, push the code to GitHub and pass OWNER/REPO.",
    });
  }
  await journey.run("github_login", () => githubLoginStep(ctx, source, localServer));
  await journey.run("ssh_key", () => sshKeyStep(ctx, source, localServer));
  const workspace = await journey.run("workspace", () => workspaceStep(ctx, source, input));
  const connect = await journey.run("connect", async () => {
    const result = await connectWorkspace(stepContext(ctx), workspace.workspace_name, input.editor === undefined ? {} : { editor: input.editor });
    const how = result.editor.launched ? `${result.editor.name} opened` : `connect with ${result.ssh.command.join(" ")}`;
    return { status: "done" as const, detail: `SSH to ${result.ssh.host} checked; ${how}`, value: result };
  });
  return { workspace: { ...workspace, status: connect.status, health: connect.health }, connect };
}

/** The last line: how long the whole journey took and the way in. */
export function sayReady(ctx: CommandContext, journey: Journey, result: RepoJourneyResult): void {
  const { bold, green } = ctx.colors;
  const how = result.connect.editor.launched ? `${result.connect.editor.name} is open on it` : `connect with: ${result.connect.ssh.command.join(" ")}`;
  ctx.say("");
  ctx.say(`${green("✔")} ${bold(`ready in ${formatDuration(journey.elapsedMs())}`)}: workspace ${bold(result.workspace.workspace_name)} is ${result.workspace.status}; ${how}`);
}

export interface SetupFromRepoInput {
  repo: string;
  editor?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface SetupFromRepoResult extends RepoJourneyResult {
  repo: string;
  server: string;
  steps: JourneyStep[];
  total_ms: number;
}

/** `nexus workspace setup-from-repo`. */
export async function setupFromRepo(ctx: CommandContext, input: SetupFromRepoInput): Promise<SetupFromRepoResult> {
  const home = nexusHome(ctx.io.env);
  const configured = readUserConfig(home).server;
  const server = (ctx.server ?? configured)?.replace(/\/+$/, "");
  if (server === undefined) {
    throw new NexusError("invalid_request", "setup-from-repo needs the coordination server: --server URL", {
      hint: "Pass --server https://nexus.example.com, or run `nexus up` to use a server on this machine.",
    });
  }
  const journeyCtx: CommandContext = { ...ctx, server };
  // Before any login: a wrong or unreachable server is the first thing to know.
  await serverSession(journeyCtx).client.health({ timeoutMs: 10_000 });
  if (configured === undefined) {
    updateUserConfig(home, { server });
    ctx.say(ctx.colors.dim(`remembered ${server} as your server in ${join(home, "config.yaml")}`));
  }
  const journey = new Journey(journeyCtx, REPO_STEPS);
  const result = await runRepoJourney(journeyCtx, journey, { repo: input.repo, editor: input.editor, signal: input.signal });
  sayReady(ctx, journey, result);
  const document: SetupFromRepoResult = { repo: input.repo, server, steps: journey.steps, ...result, total_ms: journey.elapsedMs() };
  ctx.result(document);
  return document;
}

export function editorOption(): Option {
  return new Option("--editor <name>", `${builtinEditors.map((d) => d.name).join(", ")} or none (env NEXUS_EDITOR); remembered for next time`).argParser(canonicalEditorName);
}

export function registerSetupCommand(program: Command, io: CliIO): void {
  action(
    workspaceCommand(program)
      .command("setup-from-repo")
      .argument("<repo>", "OWNER/REPO or a GitHub URL")
      .description("the whole way in: GitHub login → SSH key → workspace → connect; steps already done are skipped")
      .addOption(editorOption())
      .addHelpText(
        "after",
        "\nThe server comes from the global --server (or NEXUS_SERVER, or `server:` in ~/.nexus/config.yaml).\n\nExamples:\n  $ nexus workspace setup-from-repo my-org/my-app --server https://nexus.example.com\n  $ nexus workspace setup-from-repo my-org/my-app --server https://nexus.example.com --editor none --json",
      ),
    io,
    async (ctx, repo: string, options: { editor?: string }) => {
      await setupFromRepo(ctx, { repo, editor: options.editor });
    },
  );
}
