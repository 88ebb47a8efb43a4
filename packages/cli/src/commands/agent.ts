// `nexus agent start`: runs the node agent (`nexus-agent`) as a child process, attached
// to this terminal (the CLI never imports @nexus/agent). `nexus node list` and
// `nexus node token create`: the admin node routes.
import { spawn } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { isSea } from "node:sea";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { NexusError, createClient, type CreateNodeTokenResponse, type NodeInfo } from "@nexus/core";
import { ExitStatus } from "../exit.js";
import { nexusHome } from "../home.js";
import type { CliIO, CommandContext } from "../io.js";
import { action } from "../program.js";
import { table } from "../render.js";
import { serverSession } from "../session.js";
import { DAEMON_NODE_OPTIONS } from "../daemon-node-options.js";

export interface AgentStartOptions {
  server?: string;
  joinToken?: string;
  provider?: string;
  name?: string;
  sshHost?: string;
  sshPorts?: string;
  data?: string;
  allowLocalRepos?: boolean;
}

/** How to run the agent program: this standalone binary as the agent, the installed package's bin, or nexus-agent on PATH. */
export function agentProgram(env: CliIO["env"]): { command: string; args: string[]; env: Record<string, string> } {
  if (isSea()) return { command: process.execPath, args: [], env: { NEXUS_SEA_ENTRY: "agent" } };
  try {
    const main = join(dirname(fileURLToPath(import.meta.resolve("@nexus/agent/package.json"))), "dist", "main.js");
    if (existsSync(main)) return { command: process.execPath, args: [...DAEMON_NODE_OPTIONS, main], env: {} };
  } catch {
    // not installed next to the CLI: look on PATH
  }
  for (const dir of (env.PATH ?? "").split(delimiter).filter(Boolean)) {
    const candidate = join(dir, "nexus-agent");
    try {
      accessSync(candidate, constants.X_OK);
      return { command: candidate, args: [], env: {} };
    } catch {
      // keep looking
    }
  }
  throw new NexusError("internal_error", "the nexus agent program was not found (@nexus/agent's dist/main.js or nexus-agent on PATH)", {
    hint: "Install it with `npm install -g @nexus/agent`, or build it with `npm run build -w @nexus/agent`.",
  });
}

/** The flags for nexus-agent. The join token travels in the environment, not in argv (where `ps` shows it). */
export function agentArgs(ctx: CommandContext, options: AgentStartOptions): { args: string[]; env: Record<string, string> } {
  const server = options.server ?? ctx.server;
  if (!server) throw new NexusError("invalid_request", "--server is required", { hint: "Pass the coordination server's URL: `nexus agent start --server https://nexus.example.com --join-token …`." });
  const joinToken = options.joinToken ?? ctx.io.env.NEXUS_JOIN_TOKEN;
  const data = resolve(ctx.io.cwd, options.data ?? join(nexusHome(ctx.io.env), "agent"));
  return {
    args: [
      "--server", server,
      "--provider", options.provider ?? "lxc",
      "--ssh-ports", options.sshPorts ?? "2222-2299",
      "--data", data,
      ...(options.name ? ["--name", options.name] : []),
      ...(options.sshHost ? ["--ssh-host", options.sshHost] : []),
      ...(options.allowLocalRepos ? ["--allow-local-repos"] : []),
    ],
    env: joinToken ? { NEXUS_JOIN_TOKEN: joinToken } : {},
  };
}

/** Runs the agent attached to this terminal until it exits; Ctrl-C and SIGTERM reach it. */
export async function startAgent(ctx: CommandContext, options: AgentStartOptions): Promise<void> {
  const program = agentProgram(ctx.io.env);
  const { args, env } = agentArgs(ctx, options);
  const child = spawn(program.command, [...program.args, ...args], {
    cwd: ctx.io.cwd,
    env: { ...ctx.io.env, ...program.env, ...env },
    stdio: "inherit",
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  try {
    const status = await new Promise<number>((resolvePromise, reject) => {
      child.once("error", (error) => reject(new NexusError("internal_error", `cannot start the nexus agent: ${error.message}`, { cause: error })));
      child.once("exit", (code, signal) => resolvePromise(code ?? (signal === "SIGINT" ? 130 : 128 + 15)));
    });
    if (status !== 0) throw new ExitStatus(status);
  } finally {
    process.off("SIGINT", forward);
    process.off("SIGTERM", forward);
  }
}

/** The admin token: --admin-token, NEXUS_ADMIN_TOKEN, else the local server's own file. */
export function adminToken(ctx: CommandContext, flag: string | undefined): string {
  const token = flag ?? ctx.io.env.NEXUS_ADMIN_TOKEN;
  if (token) return token;
  try {
    return readFileSync(join(nexusHome(ctx.io.env), "server", "admin-token"), "utf8").trim();
  } catch {
    throw new NexusError("auth_required", "node commands need the server's admin token", {
      hint: "Pass --admin-token or set NEXUS_ADMIN_TOKEN (a local server keeps it in NEXUS_HOME/server/admin-token).",
    });
  }
}

function adminClient(ctx: CommandContext, flag: string | undefined) {
  return createClient({ server: serverSession(ctx).url, token: adminToken(ctx, flag) });
}

export async function listNodes(ctx: CommandContext, options: { adminToken?: string }): Promise<NodeInfo[]> {
  const { nodes } = await adminClient(ctx, options.adminToken).listNodes();
  ctx.result({ nodes });
  if (nodes.length === 0) ctx.say("No nodes. Start one with `nexus agent start --server URL --join-token TOKEN`.");
  else {
    ctx.say(table(ctx, ["name", "status", "providers", "ssh", "workspaces", "last heartbeat"], nodes.map((n) => [
      n.name, n.status, n.providers.join(","), `${n.ssh_host}:${n.ssh_port_range.start}-${n.ssh_port_range.end}`, `${n.workspaces}/${n.capacity.max_workspaces}`, n.last_heartbeat,
    ])));
  }
  return nodes;
}

export async function createJoinToken(ctx: CommandContext, options: { adminToken?: string; ttl?: string; description?: string }): Promise<CreateNodeTokenResponse> {
  const ttl = options.ttl === undefined ? undefined : Number(options.ttl);
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 60)) throw new NexusError("invalid_request", "--ttl is a number of seconds, at least 60");
  const created = await adminClient(ctx, options.adminToken).createNodeToken({
    ...(ttl === undefined ? {} : { ttl_seconds: ttl }),
    ...(options.description ? { description: options.description } : {}),
  });
  ctx.result(created);
  if (!ctx.json) {
    // The token is the output: printed even with --quiet, so `$(nexus node token create -q)` works.
    ctx.io.stdout.write(`${created.token}\n`);
    ctx.warn(`expires ${created.expires_at}; on the node: nexus agent start --server ${serverSession(ctx).url} --join-token <token>`);
  }
  return created;
}

export function registerAgentCommands(program: Command, io: CliIO): void {
  const agent = program.command("agent").description("run a node agent on this machine");
  action(
    agent
      .command("start")
      .description("register this machine as a node and run workspaces on it (foreground)")
      .option("--server <url>", "coordination server URL")
      .option("--join-token <token>", "join token from `nexus node token create` (env NEXUS_JOIN_TOKEN)")
      .option("--provider <name>", "lxc or docker", "lxc")
      .option("--name <name>", "node name (default: the host name)")
      .option("--ssh-host <host>", "address users' SSH connects to (default: the host name)")
      .option("--ssh-ports <start-end>", "node ports for workspace SSH", "2222-2299")
      .option("--data <dir>", "agent data directory (default: NEXUS_HOME/agent)")
      .option("--allow-local-repos", "accept file:// and local-path repositories (single machine only)")
      .addHelpText("after", "\nExamples:\n  $ nexus agent start --server https://nexus.example.com --join-token nxj_… --ssh-host node1.example.com\n  $ NEXUS_JOIN_TOKEN=nxj_… nexus agent start --server http://127.0.0.1:3001 --provider docker"),
    io,
    async (ctx, options: AgentStartOptions) => {
      await startAgent(ctx, options);
    },
  );

  const node = program.command("node").description("nodes that run workspaces");
  action(
    node.command("list").description("registered nodes (admin)").option("--admin-token <token>", "the server's admin token (env NEXUS_ADMIN_TOKEN)"),
    io,
    async (ctx, options: { adminToken?: string }) => {
      await listNodes(ctx, options);
    },
  );
  const token = node.command("token").description("join tokens for new nodes");
  action(
    token
      .command("create")
      .description("create a join token for `nexus agent start` (admin)")
      .option("--admin-token <token>", "the server's admin token (env NEXUS_ADMIN_TOKEN)")
      .option("--ttl <seconds>", "how long the token can be used (default 86400)")
      .option("--description <text>", "a note kept with the token"),
    io,
    async (ctx, options: { adminToken?: string; ttl?: string; description?: string }) => {
      await createJoinToken(ctx, options);
    },
  );
}
