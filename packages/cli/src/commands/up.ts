// `nexus up [repo-or-path]` and `nexus down [ws]`: single-machine mode in one command.
// Without a reachable server, `up` picks the container engine (Incus if its socket
// answers, else Docker), makes sure the base image is there (building it as root), starts
// a background server with the in-process agent, then runs setup-from-repo's journey on
// it. A local directory needs no GitHub; one that is not the top of a git repository is
// snapshotted into NEXUS_HOME (the directory itself is never changed).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { InvalidArgumentError, Option, type Command } from "commander";
import { NexusError, isNexusError, type WorkspaceDetail } from "@nexus/core";
import { nexusHome, readUserConfig } from "../home.js";
import type { CliIO, CommandContext } from "../io.js";
import { action } from "../program.js";
import { readLocalServerToken, serverSession } from "../session.js";
import { probeDocker, probeIncus } from "./doctor.js";
import { buildNodeImage } from "./node-image.js";
import { DEFAULT_SERVER_PORT, startBackgroundServer, type BackgroundServer } from "./server.js";
import {
  Journey,
  REPO_STEPS,
  editorOption,
  findWorkspaceFor,
  isLocalServer,
  matchFileUrl,
  matchGithubRepo,
  runRepoJourney,
  sayReady,
  stepContext,
  type JourneyStep,
  type RepoJourneyResult,
  type RepoMatcher,
  type StepOutcome,
} from "./setup.js";
import { changeWorkspace } from "./workspace.js";
import { classifyRepoInput, git, sanitizeRepoName } from "./workspace/source.js";

export type EngineName = "lxc" | "docker";

const ENGINE_LABEL: Record<EngineName, string> = { lxc: "Incus", docker: "Docker" };

export interface EngineProbe {
  ok: boolean;
  detail: string;
}

/** What `up` does to the machine, replaceable in tests. */
export interface UpDeps {
  probeEngine(engine: EngineName, env: CliIO["env"]): Promise<EngineProbe>;
  /** Whether the base image for the current recipe is in the engine. */
  hasBaseImage(engine: EngineName, env: CliIO["env"]): Promise<boolean>;
  buildBaseImage(ctx: CommandContext, engine: EngineName): Promise<void>;
  startServer(ctx: CommandContext, options: { port: number; provider: EngineName }): Promise<BackgroundServer>;
  isRoot(): boolean;
}

export const defaultUpDeps: UpDeps = {
  probeEngine: (engine, env) => (engine === "lxc" ? probeIncus(env) : probeDocker(env)),
  async hasBaseImage(engine, env) {
    const lxc = await import("@nexus/provider-lxc");
    const { recipeHash } = await lxc.resolveBaseImageRecipe();
    if (engine === "lxc") {
      const socketPath = env.INCUS_SOCKET ?? (await lxc.detectSocket(lxc.DEFAULT_SOCKET_PATHS));
      return (await lxc.findIncusBaseImage({ recipeHash, ...(socketPath ? { socketPath } : {}) })) !== undefined;
    }
    const docker = await import("@nexus/provider-docker");
    return (await docker.findDockerBaseImage({ recipeHash })) !== undefined;
  },
  async buildBaseImage(ctx, engine) {
    await buildNodeImage(stepContext(ctx), { provider: engine });
  },
  startServer: (ctx, options) => startBackgroundServer(ctx.io, ctx, { withAgent: true, port: options.port, provider: options.provider }),
  isRoot: () => process.getuid?.() === 0,
};

const UP_STEPS = [
  { name: "engine", title: "Container engine" },
  { name: "base_image", title: "Base image" },
  { name: "server", title: "Local server" },
  ...REPO_STEPS,
] as const;

export interface UpInput {
  /** OWNER/REPO, a GitHub URL or a directory (default: the current directory). */
  repo?: string | undefined;
  editor?: string | undefined;
  provider?: EngineName | undefined;
  /** Port of the local server when one is started (default 3001). */
  port?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface UpResult extends RepoJourneyResult {
  repo: string;
  mode: "single-machine" | "server";
  server: { url: string; started: boolean; pid?: number; log?: string };
  engine: EngineName | null;
  /** The directory's snapshot repository, when the directory is not the top of a git repository. */
  snapshot: string | null;
  steps: JourneyStep[];
  total_ms: number;
}

/** True when a nexus server answers /health at `url`. */
async function answers(ctx: CommandContext, url: string): Promise<boolean> {
  try {
    await serverSession({ ...ctx, server: url }).client.health({ timeoutMs: 3000 });
    return true;
  } catch {
    // Unreachable, or something that is not a nexus server answers.
    return false;
  }
}

async function engineStep(ctx: CommandContext, deps: UpDeps, forced: EngineName | undefined): Promise<StepOutcome<EngineName>> {
  const candidates: EngineName[] = forced ? [forced] : ["lxc", "docker"];
  const reasons: string[] = [];
  for (const engine of candidates) {
    const probe = await deps.probeEngine(engine, ctx.io.env);
    if (probe.ok) {
      const why = forced ? "--provider" : engine === "lxc" ? "its socket answers" : "Incus does not answer";
      return { status: "done", detail: `using ${ctx.colors.bold(ENGINE_LABEL[engine])} (provider ${engine}, ${why}): ${probe.detail.replace(/^\w+: /, "")}`, value: engine };
    }
    reasons.push(probe.detail);
  }
  throw new NexusError("provider_unavailable", `no container engine answers on this machine (${reasons.join("; ")})`, {
    details: { reasons },
    hint: forced
      ? `Start ${ENGINE_LABEL[forced]} (as root: \`bash scripts/engines/setup.sh\` in the nexus repository installs and starts both), or drop --provider.`
      : "Install and start Incus or Docker (as root: `bash scripts/engines/setup.sh` in the nexus repository does both), then run `nexus up` again; `nexus doctor` checks the sockets.",
  });
}

async function imageStep(ctx: CommandContext, deps: UpDeps, engine: EngineName): Promise<StepOutcome<null>> {
  const where = ENGINE_LABEL[engine];
  if (await deps.hasBaseImage(engine, ctx.io.env)) return { status: "skipped", detail: `nexus/debian-12 is already in ${where}`, value: null };
  const command = `sudo nexus node image build${engine === "docker" ? " --provider docker" : ""}`;
  if (!deps.isRoot()) {
    throw new NexusError("provision_failed", `the workspace base image nexus/debian-12 is not in ${where} yet, and building it needs root (debootstrap, chroot)`, {
      details: { provider: engine },
      hint: `Run \`${command}\` once (about a minute, from the Debian archive), then \`nexus up\` again.`,
    });
  }
  ctx.say(`building the base image (Debian 12, debootstrap) and importing it into ${where}; this takes about a minute the first time`);
  await deps.buildBaseImage(ctx, engine);
  return { status: "done", detail: `nexus/debian-12 built and imported into ${where}`, value: null };
}

/** The local server's token file appears, and its in-process agent is online. */
async function waitUntilReady(ctx: CommandContext, url: string, log: string | undefined, signal: AbortSignal | undefined): Promise<void> {
  const home = nexusHome(ctx.io.env);
  const deadline = Date.now() + 60_000;
  let last = "not answering";
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    if (isLocalServer(home, url)) {
      try {
        const health = await serverSession({ ...ctx, server: url }).client.health({ timeoutMs: 3000 });
        const nodes = Object.entries(health.nodes);
        if (nodes.some(([, node]) => node.status === "online")) return;
        last = nodes.length ? `agent ${nodes.map(([name, node]) => `${name} ${node.status}`).join(", ")}` : "no agent registered yet";
      } catch (error) {
        last = isNexusError(error) ? error.message : String(error);
      }
    } else last = "no local token file yet";
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new NexusError("timeout", `the local nexus server at ${url} did not get ready within 60 s (${last})`, {
    details: { url, ...(log ? { log } : {}) },
    hint: `${log ? `See ${log}; ` : ""}stop it with \`nexus server stop\` and run \`nexus up\` again.`,
  });
}

interface ServerChoice {
  url: string;
  /** A single-machine server of this user that answers already. */
  running: boolean;
  mode: UpResult["mode"];
}

/** The port of a plain-http URL on 127.0.0.1: where a local server the user pointed at can be started. */
function loopbackPort(url: string): number | undefined {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" || parsed.hostname !== "127.0.0.1" || (parsed.pathname !== "/" && parsed.pathname !== "")) return undefined;
    return Number(parsed.port || 80);
  } catch {
    return undefined;
  }
}

/** The configured server when it answers, else this user's local server (running or to be started). */
async function chooseServer(ctx: CommandContext, port: number | undefined): Promise<ServerChoice> {
  const home = nexusHome(ctx.io.env);
  const configured = (ctx.server ?? readUserConfig(home).server)?.replace(/\/+$/, "");
  let configuredPort: number | undefined;
  if (configured !== undefined) {
    if (await answers(ctx, configured)) {
      const local = isLocalServer(home, configured);
      return { url: configured, running: true, mode: local ? "single-machine" : "server" };
    }
    configuredPort = loopbackPort(configured);
    ctx.warn(
      configuredPort === undefined
        ? `${ctx.colors.yellow("note")} the configured server ${configured} does not answer: using a server on this machine instead`
        : `${ctx.colors.yellow("note")} nothing answers at the configured ${configured}: starting a local server there`,
    );
  }
  const local = readLocalServerToken(home);
  const chosenPort = port ?? configuredPort;
  const url = chosenPort === undefined && local ? local.url.replace(/\/+$/, "") : `http://127.0.0.1:${chosenPort ?? DEFAULT_SERVER_PORT}`;
  if (await answers(ctx, url)) {
    if (!isLocalServer(home, url)) {
      throw new NexusError("invalid_request", `a nexus server already answers at ${url}, but it is not yours (no token for it in ${home}/server/local-token)`, {
        details: { url },
        hint: "Pass --server with its URL to use it, or start your own on another port with `nexus up --port 3011`.",
      });
    }
    return { url, running: true, mode: "single-machine" };
  }
  return { url, running: false, mode: "single-machine" };
}

function realDir(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Where the snapshot repository of a directory lives: NEXUS_HOME/snapshots/<hash of its path>/<name>. */
export function snapshotDir(home: string, dir: string): string {
  const real = realDir(dir);
  return join(home, "snapshots", createHash("sha256").update(real).digest("hex").slice(0, 12), sanitizeRepoName(basename(real)));
}

async function isRepoTop(dir: string, env: CliIO["env"]): Promise<boolean> {
  const top = await git(["rev-parse", "--show-toplevel"], dir, env).catch(() => undefined);
  return top !== undefined && realDir(top) === realDir(dir);
}

const SNAPSHOT_EXCLUDES = "# nexus snapshots leave out what is rebuilt in the workspace\nnode_modules/\n.venv/\n__pycache__/\n";

/**
 * Commits the directory's files (honouring its .gitignore) into a repository of its own
 * under NEXUS_HOME, with the directory as git's work tree, then checks that commit out in
 * the snapshot: the workspace clones it like any local repository.
 */
export async function snapshotDirectory(home: string, dir: string, env: CliIO["env"]): Promise<{ dir: string; committed: boolean }> {
  const snapshot = snapshotDir(home, dir);
  const gitDir = join(snapshot, ".git");
  if (!existsSync(gitDir)) {
    mkdirSync(snapshot, { recursive: true, mode: 0o700 });
    await git(["init", "-q", "-b", "main", snapshot], snapshot, env);
    writeFileSync(join(gitDir, "info", "exclude"), SNAPSHOT_EXCLUDES);
  }
  const inTree = ["--git-dir", gitDir, "--work-tree", dir];
  await git([...inTree, "add", "-A"], dir, env);
  const hasHead = await git(["--git-dir", gitDir, "rev-parse", "--verify", "-q", "HEAD"], snapshot, env).then(() => true, () => false);
  const changed = !hasHead || (await git(["--git-dir", gitDir, "diff", "--cached", "--quiet"], snapshot, env).then(() => false, () => true));
  if (changed) {
    await git(["-c", "user.name=nexus", "-c", "user.email=nexus@localhost", "-c", "commit.gpgsign=false", ...inTree, "commit", "-q", "--no-verify", "-m", `snapshot of ${dir}`], dir, env);
  }
  await git(["reset", "-q", "--hard"], snapshot, env);
  await git(["clean", "-q", "-fd"], snapshot, env);
  return { dir: snapshot, committed: changed };
}

/** `nexus up`. */
export async function nexusUp(ctx: CommandContext, input: UpInput = {}, deps: UpDeps = defaultUpDeps): Promise<UpResult> {
  const home = nexusHome(ctx.io.env);
  const repo = input.repo ?? ".";
  const journey = new Journey(ctx, UP_STEPS);
  const choice = await chooseServer(ctx, input.port);
  const journeyCtx: CommandContext = { ...ctx, server: choice.url };
  let engine: EngineName | null = null;
  let started: BackgroundServer | undefined;

  if (choice.mode === "server") {
    await journey.run("engine", async () => ({ status: "skipped", detail: `the server at ${choice.url} runs the workspaces on its own nodes`, value: null }));
    await journey.run("base_image", async () => ({ status: "skipped", detail: "the server's nodes have their own", value: null }));
    await journey.run("server", async () => ({ status: "skipped", detail: `using the configured server ${choice.url}`, value: null }));
  } else {
    engine = await journey.run("engine", () => engineStep(ctx, deps, input.provider));
    const chosen = engine;
    await journey.run("base_image", () => imageStep(ctx, deps, chosen));
    started = await journey.run("server", async () => {
      if (choice.running) return { status: "skipped" as const, detail: `your local server at ${choice.url} is already running`, value: undefined };
      const port = Number(new URL(choice.url).port || DEFAULT_SERVER_PORT);
      const server = await deps.startServer({ ...ctx, io: { ...ctx.io, env: { ...ctx.io.env, NEXUS_HOME: home } } }, { port, provider: chosen });
      await waitUntilReady(ctx, server.url, server.log, input.signal);
      return {
        status: "done" as const,
        detail: `started a local nexus server at ${server.url} (pid ${server.pid}) with its agent on ${ENGINE_LABEL[chosen]}; log: ${server.log}`,
        value: server,
      };
    });
  }

  let source = repo;
  let snapshot: string | null = null;
  const classified = classifyRepoInput(repo, ctx.io.cwd, ctx.io.env);
  if (classified.kind === "local" && choice.mode === "single-machine" && existsSync(classified.dir) && !(await isRepoTop(classified.dir, ctx.io.env))) {
    const snap = await snapshotDirectory(home, classified.dir, ctx.io.env);
    snapshot = snap.dir;
    source = snap.dir;
    ctx.say(ctx.colors.dim(`${classified.dir} is not the top of a git repository: its files are ${snap.committed ? "snapshotted" : "unchanged since the last snapshot"} in ${snap.dir} (your directory is not changed)`));
  }

  const result = await runRepoJourney(journeyCtx, journey, { repo: source, editor: input.editor, provider: input.provider, signal: input.signal });
  sayReady(ctx, journey, result);
  if (choice.mode === "single-machine") ctx.say(ctx.colors.dim("stop it with `nexus down`; the local server keeps running until `nexus server stop`"));
  const document: UpResult = {
    repo,
    mode: choice.mode,
    server: { url: choice.url, started: started !== undefined, ...(started ? { pid: started.pid, log: started.log } : {}) },
    engine,
    snapshot,
    steps: journey.steps,
    ...result,
    total_ms: journey.elapsedMs(),
  };
  ctx.result(document);
  return document;
}

/** Which workspaces belong to the current directory: its repository, its snapshot, or its GitHub origin. */
async function matcherForDirectory(ctx: CommandContext): Promise<RepoMatcher> {
  const { cwd, env } = ctx.io;
  const matchers: RepoMatcher[] = [matchFileUrl(pathToFileURL(snapshotDir(nexusHome(env), cwd)).href)];
  const top = await git(["rev-parse", "--show-toplevel"], cwd, env).catch(() => undefined);
  if (top !== undefined) {
    matchers.push(matchFileUrl(pathToFileURL(top).href));
    const origin = await git(["remote", "get-url", "origin"], top, env).catch(() => undefined);
    if (origin !== undefined) {
      const github = await import("@nexus/github");
      try {
        const ref = github.parseRepoRef(origin, { host: github.githubEndpoints({ env }).host });
        matchers.push(matchGithubRepo(ref.owner, ref.name));
      } catch {
        // origin is not on the GitHub nexus talks to
      }
    }
  }
  return (repository) => matchers.some((matches) => matches(repository));
}

/** `nexus down [ws]`: stops the workspace (default: the one for the current directory). */
export async function nexusDown(ctx: CommandContext, ws?: string, options: { signal?: AbortSignal } = {}): Promise<unknown> {
  let name = ws;
  if (name === undefined) {
    const found = await findWorkspaceFor(serverSession(ctx).client, await matcherForDirectory(ctx));
    if (!found) {
      throw new NexusError("workspace_not_found", `no workspace for ${ctx.io.cwd}`, {
        details: { dir: ctx.io.cwd },
        hint: "Name it: `nexus down <workspace>` (see `nexus workspace list`).",
      });
    }
    if (found.status === "stopped") {
      ctx.say(`workspace ${found.workspace_name} is already stopped`);
      ctx.result(found);
      return found;
    }
    name = found.workspace_name;
  }
  const stopped = (await changeWorkspace(ctx, "stop", name, { signal: options.signal })) as WorkspaceDetail;
  if (isLocalServer(nexusHome(ctx.io.env), serverSession(ctx).url)) ctx.say(ctx.colors.dim(`start it again with \`nexus up\`; \`nexus server stop\` stops the local server`));
  return stopped;
}

function portNumber(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) throw new InvalidArgumentError("must be a port number");
  return Number(value);
}

export function registerUpCommands(program: Command, io: CliIO): void {
  action(
    program
      .command("up")
      .argument("[repo-or-path]", "a directory (default: this one), OWNER/REPO or a GitHub URL")
      .description("single-machine mode: start a local server if none answers, build the base image if missing, then set up and connect a workspace")
      .addOption(editorOption())
      .addOption(new Option("--provider <name>", "container engine (default: lxc if Incus answers, else docker)").choices(["lxc", "docker"]))
      .option("--port <port>", `port of the local server when one is started (default ${DEFAULT_SERVER_PORT})`, portNumber)
      .addHelpText("after", "\nExamples:\n  $ nexus up                       this directory\n  $ nexus up ~/src/my-app --editor code\n  $ nexus up my-org/my-app --editor none\n  $ nexus down                     stop this directory's workspace"),
    io,
    async (ctx, repo: string | undefined, options: { editor?: string; provider?: EngineName; port?: number }) => {
      await nexusUp(ctx, { repo, editor: options.editor, provider: options.provider, port: options.port });
    },
  );
  action(
    program
      .command("down")
      .argument("[ws]", "workspace name or id (default: the one for this directory)")
      .description("stop a workspace (the local server keeps running: `nexus server stop`)"),
    io,
    async (ctx, ws: string | undefined) => {
      await nexusDown(ctx, ws);
    },
  );
}
