// `nexus editor detect` and `nexus editor launch <ws>`: which editors are installed,
// and opening one on a running workspace through its `nexus-<ws>` SSH entry.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { Option, type Command } from "commander";
import { NexusError, WorkspaceRefSchema, createLogger, silentLogger, type EditorDetection, type Op } from "@nexus/core";
import {
  builtinEditors,
  canonicalEditorName,
  chooseEditor,
  createSshConfig,
  editorTargetFromWorkspace,
  formatCommand,
  isInteractiveLauncher,
  sshEntryFromWorkspace,
  userSshDir,
  type EditorChoice,
  type SshIncludeResult,
} from "@nexus/editors";
import { DEFAULT_KEY_NAMES } from "@nexus/github";
import { ExitStatus } from "../exit.js";
import { nexusHome, readUserConfig, updateUserConfig } from "../home.js";
import type { CliIO, CommandContext } from "../io.js";
import { action } from "../program.js";
import { table } from "../render.js";
import { serverSession } from "../session.js";

// No overall time limit: a terminal editor runs for as long as the user edits. Version
// probes and API calls have their own limits.
function commandOp(ctx: CommandContext): Op {
  return { signal: new AbortController().signal, log: ctx.verbose ? createLogger({ level: "debug" }, ctx.io.stderr) : silentLogger };
}

function pluginContext(ctx: CommandContext) {
  return { env: ctx.io.env, log: silentLogger, dataDir: "" };
}

export interface DetectedEditor {
  name: string;
  display_name: string;
  found: boolean;
  path: string | null;
  version: string | null;
  deep_link: boolean;
  /** Runs in the terminal (vim, nvim) instead of its own window. */
  terminal: boolean;
}

export interface EditorDetectResult {
  editors: DetectedEditor[];
  /** What `nexus editor launch` would open now, and why. */
  default: { name: string; source: EditorChoice["source"] } | null;
}

const PROBE_TARGET = { host: "nexus-probe", workspaceName: "probe", remotePath: "/home/dev/probe" };

/** `nexus editor detect`: every built-in editor, found or not, with path and version. */
export async function detectEditors(ctx: CommandContext): Promise<EditorDetectResult> {
  const op = commandOp(ctx);
  const detections = new Map<string, EditorDetection>();
  const editors = await Promise.all(
    builtinEditors.map(async (descriptor): Promise<DetectedEditor> => {
      const launcher = await descriptor.create(pluginContext(ctx), undefined);
      const detection = await launcher.detect(op);
      detections.set(descriptor.name, detection);
      return {
        name: descriptor.name,
        display_name: descriptor.displayName,
        found: detection.found,
        path: detection.path ?? null,
        version: detection.version ?? null,
        deep_link: launcher.deepLink(PROBE_TARGET) !== undefined,
        terminal: isInteractiveLauncher(launcher),
      };
    }),
  );
  let choice: EditorChoice | undefined;
  try {
    choice = await chooseEditor({ env: ctx.io.env, saved: readUserConfig(nexusHome(ctx.io.env)).editor, detections, op, context: pluginContext(ctx) });
  } catch (error) {
    // NEXUS_EDITOR names something unusable: still list what is installed.
    ctx.warn(`${ctx.colors.yellow("warning")} ${(error as Error).message}`);
  }
  const result: EditorDetectResult = { editors, default: choice?.kind === "editor" ? { name: choice.name, source: choice.source } : null };

  const yes = ctx.colors.green("yes");
  ctx.say(table(ctx, ["editor", "found", "path", "version", "deep link"], editors.map((e) => [e.name, e.found ? yes : "no", e.path, e.version, e.deep_link ? "yes" : "no"])));
  ctx.say();
  if (choice?.kind === "editor") ctx.say(`nexus opens ${choice.displayName} (${describeSource(choice.source)}). Change it with --editor or NEXUS_EDITOR.`);
  else ctx.say("No editor found: nexus prints the ssh command instead. Install one of Cursor, VS Code, Windsurf, Zed, Neovim or Vim.");
  ctx.result(result);
  return result;
}

function describeSource(source: EditorChoice["source"]): string {
  return { flag: "from --editor", env: "from NEXUS_EDITOR", saved: "your saved choice", auto: "first installed of cursor, code, windsurf, zed, nvim, vim" }[source];
}

/** The private key for IdentityFile: `--key`, else the first of ~/.ssh/id_ed25519, id_rsa, id_ecdsa. */
export function findIdentityFile(ctx: CommandContext, key: string | undefined): string | undefined {
  if (key !== undefined) {
    const path = resolve(ctx.io.cwd, key.replace(/\.pub$/, ""));
    if (!existsSync(path)) throw new NexusError("invalid_request", `SSH key ${path} does not exist`, { details: { key: path }, hint: "Run `nexus ssh setup` to create one, or pass another --key." });
    return path;
  }
  const sshDir = join(ctx.io.env.HOME || homedir(), ".ssh");
  return DEFAULT_KEY_NAMES.map((name) => join(sshDir, name)).find((path) => existsSync(path));
}

export interface EditorLaunchOptions {
  editor?: string;
  print?: boolean;
  key?: string;
}

export interface EditorLaunchResult {
  workspace: string;
  host: string;
  remote_path: string;
  /** null: no editor (none installed, or --editor none); `ssh_command` is the way in. */
  editor: string | null;
  source: EditorChoice["source"];
  command: string[] | null;
  deep_link: string | null;
  ssh_command: string[];
  launched: boolean;
  exit_code?: number;
  ssh_config: { file: string; changed: boolean; connection_sharing: boolean };
  include: SshIncludeResult;
}

/** `nexus editor launch <ws>`: writes the workspace's SSH entry, then opens (or prints) the editor. */
export async function launchEditor(ctx: CommandContext, workspace: string, options: EditorLaunchOptions = {}): Promise<EditorLaunchResult> {
  if (!WorkspaceRefSchema.safeParse(workspace).success) {
    throw new NexusError("invalid_request", `${JSON.stringify(workspace)} is not a workspace name or id`, {
      details: { workspace },
      hint: "Run `nexus workspace list` to see your workspaces.",
    });
  }
  const op = commandOp(ctx);
  const session = serverSession(ctx);
  const detail = await session.client.getWorkspace(workspace, { signal: op.signal });
  const identityFile = findIdentityFile(ctx, options.key);
  const target = editorTargetFromWorkspace(detail);
  const entry = sshEntryFromWorkspace(detail, identityFile ? { identityFile } : {});

  const sshConfig = createSshConfig({ nexusHome: session.home, env: ctx.io.env, op });
  const written = await sshConfig.writeWorkspaceEntry(entry);
  const include = await sshConfig.ensureInclude({ sshDir: userSshDir(ctx.io.env) });
  if (!identityFile) ctx.warn(`${ctx.colors.yellow("warning")} no SSH key in ~/.ssh: ssh will try its defaults. Run \`nexus ssh setup\`.`);
  if (include.status === "manual") {
    ctx.warn(`${ctx.colors.yellow("note")} ${include.reason}. Add this line at the top of ${include.file}:\n  ${include.line}`);
  }

  const choice = await chooseEditor({
    requested: options.editor,
    env: ctx.io.env,
    saved: readUserConfig(session.home).editor,
    op,
    context: pluginContext(ctx),
  });
  const sshCommand = ["ssh", target.host];
  const base = {
    workspace: target.workspaceName,
    host: target.host,
    remote_path: target.remotePath,
    ssh_command: sshCommand,
    ssh_config: { file: written.file, changed: written.changed, connection_sharing: written.connectionSharing.supported },
    include,
  };

  if (choice.kind === "none") {
    const result: EditorLaunchResult = { ...base, editor: null, source: choice.source, command: null, deep_link: null, launched: false };
    if (choice.skipped) ctx.warn(`${ctx.colors.yellow("note")} ${choice.skipped}`);
    ctx.say(`No editor to open (${choice.reason}). Connect with:`);
    ctx.say(`  ${formatCommand(sshCommand)}`);
    ctx.say(`  the project is in ${target.remotePath}`);
    ctx.result(result);
    return result;
  }

  const command = choice.launcher.command(target);
  const deepLink = choice.launcher.deepLink(target) ?? null;
  const result: EditorLaunchResult = { ...base, editor: choice.name, source: choice.source, command, deep_link: deepLink, launched: false };
  if (choice.skipped) ctx.warn(`${ctx.colors.yellow("note")} ${choice.skipped}; using ${choice.displayName}`);

  if (options.print) {
    ctx.say(formatCommand(command));
    if (deepLink) ctx.say(deepLink);
    ctx.result(result);
    return result;
  }
  if (choice.launcher.interactive && ctx.json) {
    throw new NexusError("invalid_request", `${choice.displayName} runs in this terminal, which --json keeps for its document`, {
      hint: `Drop --json, or use --print to get the command: nexus editor launch ${target.workspaceName} --print --json`,
    });
  }

  ctx.say(`Opening ${choice.displayName} on ${target.host}:${target.remotePath}`);
  if (deepLink) ctx.say(`  or open ${deepLink}`);
  const launched = await choice.launcher.launch(target, op);
  result.command = launched.command;
  result.launched = true;
  if (launched.exitCode !== undefined) result.exit_code = launched.exitCode;
  if (options.editor !== undefined && choice.source === "flag") updateUserConfig(session.home, { editor: choice.name });
  ctx.result(result);
  // A terminal editor's session ends with ssh's status (255: the connection failed; ssh said why).
  if (launched.exitCode) throw new ExitStatus(launched.exitCode);
  return result;
}

export function registerEditorCommands(program: Command, io: CliIO): void {
  const editor = program.command("editor").description("find installed editors and open one on a workspace");
  action(
    editor
      .command("detect")
      .description("list the editors nexus can open, whether each is installed, its path and version")
      .addHelpText("after", "\nExamples:\n  $ nexus editor detect\n  $ nexus editor detect --json"),
    io,
    async (ctx) => {
      await detectEditors(ctx);
    },
  );
  action(
    editor
      .command("launch")
      .argument("<workspace>", "workspace name or id")
      .description("write the workspace's SSH entry and open an editor on it")
      .addOption(new Option("--editor <name>", `${builtinEditors.map((d) => d.name).join(", ")} or none (env NEXUS_EDITOR); remembered for next time`).argParser(canonicalEditorName))
      .option("--print", "print the editor command and deep link instead of running it")
      .option("--key <path>", "private key for the SSH entry (default: ~/.ssh/id_ed25519, id_rsa, id_ecdsa)")
      .addHelpText("after", "\nExamples:\n  $ nexus editor launch my-app\n  $ nexus editor launch my-app --editor zed\n  $ nexus editor launch my-app --print --json"),
    io,
    async (ctx, workspace: string, options: EditorLaunchOptions) => {
      await launchEditor(ctx, workspace, options);
    },
  );
}
