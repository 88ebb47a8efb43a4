import { Command, CommanderError, Option } from "commander";
import { NexusError } from "@nexus/core";
import { colorEnabled, makeContext, type CliIO, type CommandContext } from "./io.js";
import { renderError } from "./errors.js";
import { VERSION } from "./version.js";
import { registerConfigCommands } from "./commands/config.js";
import { registerAuthCommands } from "./commands/auth.js";
import { registerSshCommands } from "./commands/ssh.js";
import { registerServerCommands } from "./commands/server.js";
import { registerAgentCommands } from "./commands/agent.js";
import { registerImageCommands } from "./commands/node-image.js";
import { registerWorkspaceCommands, workspaceCommand } from "./commands/workspace.js";
import { registerConnectCommands } from "./commands/connect.js";
import { registerCompletionCommand } from "./commands/completion.js";
import { registerDoctorCommand } from "./commands/doctor.js";
import { ExitStatus } from "./exit.js";
import { registerEditorCommands } from "./commands/editor.js";
import { registerSetupCommand } from "./commands/setup.js";
import { registerUpCommands } from "./commands/up.js";

export type Handler<A extends unknown[]> = (ctx: CommandContext, ...args: A) => Promise<void> | void;

/** Attaches a handler that receives the command context instead of raw commander values. */
export function action<A extends unknown[]>(command: Command, io: CliIO, handler: Handler<A>): Command {
  return command.action(async (...raw: unknown[]) => {
    const self = raw[raw.length - 1] as Command;
    const globals = self.optsWithGlobals() as { json?: boolean; quiet?: boolean; verbose?: boolean; color?: boolean; server?: string };
    const ctx = makeContext(io, {
      json: Boolean(globals.json),
      quiet: Boolean(globals.quiet),
      verbose: Boolean(globals.verbose),
      color: !globals.json && colorEnabled(io, globals.color),
      server: globals.server ?? io.env.NEXUS_SERVER,
    });
    await handler(ctx, ...(raw.slice(0, -1) as A));
  });
}

const EXAMPLES = `
Examples:
  $ nexus up                                   start a workspace for the repo in this directory
  $ nexus workspace create my-org/my-app       create a workspace from a GitHub repository
  $ nexus workspace connect my-app --editor code
  $ nexus config validate                      check .nexus/config.yaml
  $ nexus config validate --json ./service     machine-readable result

Environment:
  NEXUS_SERVER, NEXUS_TOKEN, NEXUS_HOME (default ~/.nexus), NEXUS_GITHUB_API_URL,
  NEXUS_GITHUB_TOKEN / GITHUB_TOKEN, NO_COLOR

Docs: docs/ in the repository; every error code is explained in docs/errors.md.`;

export function buildProgram(io: CliIO): Command {
  const program = new Command("nexus")
    .description("Turn a Git repository into a running, isolated development workspace.")
    .version(VERSION, "-V, --version", "print the version")
    .addOption(new Option("--server <url>", "coordination server URL (env NEXUS_SERVER)"))
    .option("--json", "print one JSON document on stdout and nothing else")
    .option("-q, --quiet", "print only errors")
    .option("-v, --verbose", "print more detail, including stack traces")
    .option("--no-color", "disable colours (also NO_COLOR)")
    .showSuggestionAfterError()
    .addHelpText("after", EXAMPLES)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();
  registerConfigCommands(program, io);
  registerAuthCommands(program, io);
  registerSshCommands(program, io);
  registerServerCommands(program, io);
  registerAgentCommands(program, io);
  registerImageCommands(program.commands.find((c) => c.name() === "node") ?? program.command("node").description("nodes that run workspaces"), io);
  registerWorkspaceCommands(program, io);
  registerConnectCommands(workspaceCommand(program), io);
  registerSetupCommand(program, io);
  registerUpCommands(program, io);
  registerDoctorCommand(program, io);
  registerCompletionCommand(program, io);
  registerEditorCommands(program, io);
  for (const sub of program.commands) sub.exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  return program;
}

/** Runs the CLI in-process and returns the exit code. The single error boundary. */
export async function run(argv: readonly string[], io: CliIO): Promise<number> {
  const program = buildProgram(io);
  const json = argv.includes("--json");
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof ExitStatus) return error.status;
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help") return 0;
      // Commander already printed its message unless --json asked for a document; the next step follows it.
      const hint = `Run \`${commandPath(program, argv)} --help\` for usage.`;
      const usage = new NexusError("invalid_request", error.message.replace(/^error: /, ""), { hint });
      if (json) return renderError(usage, { json, verbose: false, colors: makeContext(io, { json, quiet: false, verbose: false, color: false }).colors, io });
      io.stderr.write(`  next: ${hint}\n`);
      return 2;
    }
    const color = !json && colorEnabled(io, !argv.includes("--no-color"));
    return renderError(error, { json, verbose: argv.includes("--verbose") || argv.includes("-v"), colors: makeContext(io, { json, quiet: false, verbose: false, color }).colors, io });
  }
}

/** `nexus workspace create` for `workspace create --bogus`: the deepest command the words name. */
function commandPath(program: Command, argv: readonly string[]): string {
  const path = ["nexus"];
  let command = program;
  for (const word of argv) {
    if (word.startsWith("-")) break;
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) break;
    path.push(sub.name());
    command = sub;
  }
  return path.join(" ");
}
