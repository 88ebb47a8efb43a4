// `nexus workspace …`: create, list, status, services, logs, exec, ssh, stop, start,
// delete. Each subcommand parses its arguments, calls one function from ./workspace/,
// and that function renders (or prints the --json document).
import { Command, InvalidArgumentError, Option } from "commander";
import { WORKSPACE_STATES, type WorkspaceState } from "@nexus/core";
import type { CliIO } from "../io.js";
import { action } from "../program.js";
import { createWorkspace } from "./workspace/create.js";
import { changeWorkspace, listWorkspaces, workspaceLogs, workspaceServices, workspaceStatus } from "./workspace/manage.js";
import { sshIntoWorkspace } from "./workspace/ssh.js";

export { createWorkspace, type CreateWorkspaceInput, type CreateWorkspaceResult } from "./workspace/create.js";
export { changeWorkspace, listWorkspaces, workspaceLogs, workspaceServices, workspaceStatus } from "./workspace/manage.js";
export { prepareSsh, sshArgv, sshIntoWorkspace, runSsh, sshIdentity, remoteCommand, chooseIdentity } from "./workspace/ssh.js";
export { watchWorkspace, type WatchOutcome } from "./workspace/watch.js";

/** The `workspace` command, created on first use: other modules add subcommands (connect, forward…) to it. */
export function workspaceCommand(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === "workspace") ??
    program.command("workspace").description("create, inspect, enter and remove workspaces")
  );
}

function nonNegativeInt(value: string): number {
  if (!/^\d{1,7}$/.test(value)) throw new InvalidArgumentError("must be a whole number");
  return Number(value);
}

const KEY_HELP = "private key to offer (default: the one `workspace connect` used, else ~/.ssh/id_ed25519, id_rsa, id_ecdsa)";

const EXAMPLES = {
  create: `
Examples:
  $ nexus workspace create my-org/my-app                 fork if needed, clone to ./my-app, create, wait
  $ nexus workspace create https://github.com/o/r --branch dev --name r-dev
  $ nexus workspace create . --no-wait                   this directory (single-machine server)
  $ nexus workspace create o/r --no-clone --json`,
  list: "\nExamples:\n  $ nexus workspace list\n  $ nexus workspace list --status running --json",
  status: "\nExamples:\n  $ nexus workspace status my-app\n  $ nexus workspace status my-app --watch",
  logs: "\nExamples:\n  $ nexus workspace logs my-app\n  $ nexus workspace logs my-app api --follow --tail 50",
  exec: "\nExamples:\n  $ nexus workspace exec my-app -- npm test\n  $ nexus workspace exec my-app -- 'cd web && npm run lint'",
  ssh: "\nExamples:\n  $ nexus workspace ssh my-app\n  $ nexus workspace ssh my-app -- htop",
};

export function registerWorkspaceCommands(program: Command, io: CliIO): void {
  const ws = workspaceCommand(program);

  action(
    ws
      .command("create")
      .argument("<repo>", "OWNER/REPO, a GitHub URL, or a local directory (single-machine mode)")
      .description("create a workspace from a repository and wait until it runs")
      .option("--name <name>", "workspace name (default: the repository name)")
      .option("--branch <branch>", "branch to work on (default: the repository's default branch)")
      .option("--provider <name>", "provider to run it on (lxc, docker, …)")
      .option("--clone-dir <dir>", "where to clone a GitHub repository locally (default: ./<repo>)")
      .option("--no-clone", "do not clone a GitHub repository locally")
      .option("--no-wait", "return as soon as the server accepted the request")
      .addHelpText("after", EXAMPLES.create),
    io,
    async (ctx, repo: string, opts: { name?: string; branch?: string; provider?: string; cloneDir?: string; clone: boolean; wait: boolean }) => {
      await createWorkspace(ctx, { repo, name: opts.name, branch: opts.branch, provider: opts.provider, cloneDir: opts.cloneDir, clone: opts.clone, wait: opts.wait });
    },
  );

  action(
    ws
      .command("list")
      .alias("ls")
      .description("your workspaces")
      .addOption(new Option("--status <state>", "only workspaces in this state").choices(WORKSPACE_STATES))
      .addHelpText("after", EXAMPLES.list),
    io,
    async (ctx, opts: { status?: WorkspaceState }) => {
      await listWorkspaces(ctx, opts);
    },
  );

  action(
    ws
      .command("status")
      .argument("<ws>", "workspace name or id")
      .description("a workspace's state, phases, services, repository and SSH endpoint")
      .option("--watch", "keep the view updated until Ctrl-C, an error, or deletion")
      .addHelpText("after", EXAMPLES.status),
    io,
    async (ctx, name: string, opts: { watch?: boolean }) => {
      await workspaceStatus(ctx, name, opts);
    },
  );

  action(
    ws.command("services").argument("<ws>", "workspace name or id").description("the workspace's services and their health"),
    io,
    async (ctx, name: string) => {
      await workspaceServices(ctx, name);
    },
  );

  action(
    ws
      .command("logs")
      .argument("<ws>", "workspace name or id")
      .argument("[service]", "only this service (default: all, interleaved)")
      .description("service logs")
      .option("-f, --follow", "keep printing new lines until Ctrl-C")
      .option("--tail <n>", "lines of history to print first (default 200)", nonNegativeInt)
      .addHelpText("after", EXAMPLES.logs),
    io,
    async (ctx, name: string, service: string | undefined, opts: { follow?: boolean; tail?: number }) => {
      await workspaceLogs(ctx, name, { service, follow: opts.follow, tail: opts.tail });
    },
  );

  action(
    ws
      .command("exec")
      .argument("<ws>", "workspace name or id")
      .argument("<command...>", "the command, after --")
      .description("run a command in the workspace (no terminal) and exit with its status")
      .option("--key <path>", KEY_HELP)
      .addHelpText("after", EXAMPLES.exec),
    io,
    async (ctx, name: string, command: string[], opts: { key?: string }) => {
      await sshIntoWorkspace(ctx, "exec", name, command, opts);
    },
  );

  action(
    ws
      .command("ssh")
      .argument("<ws>", "workspace name or id")
      .argument("[command...]", "a command to run instead of a shell, after --")
      .description("open a shell (or run a command) in the workspace over SSH")
      .option("--key <path>", KEY_HELP)
      .addHelpText("after", EXAMPLES.ssh),
    io,
    async (ctx, name: string, command: string[], opts: { key?: string }) => {
      await sshIntoWorkspace(ctx, "ssh", name, command, opts);
    },
  );

  for (const [change, description] of [
    ["stop", "stop a running workspace (services stop in reverse order)"],
    ["start", "start a stopped workspace and wait until it runs"],
    ["delete", "delete a workspace and everything in it (a running one is stopped first)"],
  ] as const) {
    const command = ws
      .command(change)
      .argument("<ws>", "workspace name or id")
      .description(description)
      .option("--no-wait", "return as soon as the server accepted the request");
    if (change === "delete") command.alias("rm").option("--force", "delete at once, without stopping its services first");
    if (change === "stop") command.option("--force", "stop without waiting for services to exit cleanly");
    action(command, io, async (ctx, name: string, opts: { force?: boolean; wait: boolean }) => {
      await changeWorkspace(ctx, change, name, { force: opts.force, wait: opts.wait });
    });
  }
}
