// One recipe for every built-in editor: which programs mean "installed", the argv that
// opens a workspace folder over SSH, an optional deep link, and whether the editor
// needs the terminal. GUI editors are started detached and left running; terminal
// editors (vim, nvim) run in the foreground because they need the TTY.
import { spawn } from "node:child_process";
import {
  NexusError,
  defineEditor,
  type EditorDescriptor,
  type EditorDetection,
  type EditorLaunch,
  type EditorLauncherInstance,
  type EditorTarget,
  type Op,
  type PluginContext,
} from "@nexus/core";
import { childEnv, findExecutable, findFirstExecutable, probeVersion, type Env } from "./executables.js";
import { formatCommand } from "./shell-quote.js";
import { assertEditorTarget } from "./validate.js";

export interface EditorLauncher extends EditorLauncherInstance {
  /** True: launch() takes over the terminal and resolves when the editor exits. */
  readonly interactive: boolean;
  launch(target: EditorTarget, op: Op): Promise<EditorLaunchResult>;
}

export interface EditorLaunchResult extends EditorLaunch {
  /** Set for interactive editors: how the editor (or ssh) exited. */
  exitCode?: number;
}

/** Whether an editor instance declares that it needs the terminal (third-party ones may not say). */
export function isInteractiveLauncher(instance: EditorLauncherInstance): boolean {
  return (instance as Partial<EditorLauncher>).interactive === true;
}

export interface EditorRecipe {
  name: string;
  displayName: string;
  description: string;
  /** Programs whose presence on PATH means the editor is installed, in preference order. */
  binaries: readonly string[];
  /** Arguments that print the version; omitted when asking could open a window. */
  versionArgs?: readonly string[];
  /** The program launch runs when it is not the editor itself (ssh, for terminal editors). */
  program?: string;
  interactive: boolean;
  /** Arguments after the program, for a validated target. */
  args(target: EditorTarget, ctx: PluginContext): string[];
  deepLink?(target: EditorTarget, ctx: PluginContext): string;
}

/** Starts a GUI program detached from nexus: no shared stdio, not waited for. */
function startDetached(file: string, args: string[], env: Env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { detached: true, stdio: "ignore", env: childEnv(env), windowsHide: false });
    child.once("error", reject);
    child.once("spawn", () => {
      child.unref();
      resolve();
    });
  });
}

/** Runs a terminal program in the foreground on nexus's own TTY; resolves with its exit code. */
function runInTerminal(file: string, args: string[], env: Env, op: Op): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: "inherit", env: childEnv(env), signal: op.signal });
    child.once("error", reject);
    child.once("close", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

export function makeEditorLauncher(recipe: EditorRecipe, ctx: PluginContext): EditorLauncher {
  const command = (target: EditorTarget): string[] => {
    const valid = assertEditorTarget(target);
    return [recipe.program ?? recipe.binaries[0]!, ...recipe.args(valid, ctx)];
  };

  return {
    interactive: recipe.interactive,

    async detect(op): Promise<EditorDetection> {
      try {
        const found = findFirstExecutable(recipe.binaries, ctx.env);
        if (!found) return { found: false };
        const version = recipe.versionArgs ? await probeVersion(found.path, recipe.versionArgs, op, ctx.env) : undefined;
        return { found: true, path: found.path, ...(version ? { version } : {}) };
      } catch (error) {
        op.log.debug({ editor: recipe.name, err: (error as Error).message }, "editor detection failed");
        return { found: false };
      }
    },

    command,

    deepLink(target) {
      const valid = assertEditorTarget(target);
      return recipe.deepLink?.(valid, ctx);
    },

    async launch(target, op): Promise<EditorLaunchResult> {
      const [, ...args] = command(target);
      const program = recipe.program ? { name: recipe.program, path: findExecutable(recipe.program, ctx.env) } : findFirstExecutable(recipe.binaries, ctx.env);
      if (!program?.path) {
        const wanted = recipe.program ?? recipe.binaries.join(" or ");
        throw new NexusError("not_found", `${recipe.displayName}: ${wanted} is not on PATH`, {
          details: { editor: recipe.name, binaries: recipe.program ? [recipe.program] : recipe.binaries },
          hint: `Install ${recipe.displayName} (and its \`${recipe.binaries[0]}\` command), or choose another editor with --editor; \`nexus editor detect\` lists what is installed.`,
        });
      }
      const argv = [program.path, ...args];
      op.log.debug({ editor: recipe.name, command: formatCommand(argv) }, "launching editor");
      try {
        if (recipe.interactive) return { command: argv, exitCode: await runInTerminal(program.path, args, ctx.env, op) };
        await startDetached(program.path, args, ctx.env);
        return { command: argv };
      } catch (cause) {
        throw new NexusError("internal_error", `${recipe.displayName} could not be started: ${(cause as Error).message}`, {
          cause,
          details: { editor: recipe.name, command: argv },
          hint: `Run it yourself: ${formatCommand(argv)}`,
        });
      }
    },
  };
}

/** The plugin descriptor for a recipe. */
export function defineEditorRecipe(recipe: EditorRecipe): EditorDescriptor {
  return defineEditor({
    name: recipe.name,
    apiVersion: 1,
    displayName: recipe.displayName,
    description: recipe.description,
    create: (ctx) => makeEditorLauncher(recipe, ctx),
  });
}
