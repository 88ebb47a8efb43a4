// The built-in editors (SPEC §8). Each opens the workspace folder through the
// `nexus-<ws>` alias of the nexus SSH config, so host, port, key and pinned host key
// all come from there.
import type { EditorDescriptor, EditorTarget, PluginContext } from "@nexus/core";
import { defineEditorRecipe, type EditorRecipe } from "./launcher.js";
import { resolveNexusHome } from "./paths.js";
import { shellQuote } from "./shell-quote.js";
import { createSshConfig, WORKSPACE_SSH_USER } from "./ssh-config.js";

/** VS Code and its forks take the same Remote-SSH folder URI and deep link. */
function vscodeFamily(name: string, displayName: string, binary: string, scheme: string): EditorRecipe {
  return {
    name,
    displayName,
    description: `${displayName} with Remote-SSH`,
    binaries: [binary],
    versionArgs: ["--version"],
    interactive: false,
    args: (t) => ["--folder-uri", `vscode-remote://ssh-remote+${t.host}${t.remotePath}`],
    deepLink: (t) => `${scheme}://vscode-remote/ssh-remote+${t.host}${t.remotePath}`,
  };
}

/** vim and nvim run inside the workspace, over `ssh -t`, in the user's terminal. */
function terminalEditor(name: string, displayName: string): EditorRecipe {
  return {
    name,
    displayName,
    description: `${displayName} inside the workspace over ssh -t`,
    binaries: [name],
    versionArgs: ["--version"],
    program: "ssh",
    interactive: true,
    // ssh hands the remote command to the remote user's shell: the path is validated
    // (safe characters only) and quoted anyway.
    args: (t) => ["-t", t.host, "--", `cd ${shellQuote(t.remotePath)} && exec ${name} .`],
  };
}

/**
 * Gateway connects over SSH itself; the link names the nexus alias (Gateway reads
 * ~/.ssh/config) and the port from the nexus SSH config when the workspace has an entry.
 */
function gatewayLink(target: EditorTarget, ctx: PluginContext): string {
  const entry = createSshConfig({ nexusHome: resolveNexusHome(ctx.env), env: ctx.env }).readWorkspaceEntry(target.workspaceName);
  const params = new URLSearchParams({ type: "ssh", deploy: "false", host: target.host });
  if (entry) params.set("port", String(entry.port));
  params.set("user", WORKSPACE_SSH_USER);
  params.set("projectPath", target.remotePath);
  return `jetbrains-gateway://connect#${params.toString()}`;
}

export const cursor = defineEditorRecipe(vscodeFamily("cursor", "Cursor", "cursor", "cursor"));
export const code = defineEditorRecipe(vscodeFamily("code", "Visual Studio Code", "code", "vscode"));
export const codeInsiders = defineEditorRecipe(vscodeFamily("code-insiders", "Visual Studio Code Insiders", "code-insiders", "vscode-insiders"));
export const windsurf = defineEditorRecipe(vscodeFamily("windsurf", "Windsurf", "windsurf", "windsurf"));

export const zed = defineEditorRecipe({
  name: "zed",
  displayName: "Zed",
  description: "Zed remote development over SSH",
  binaries: ["zed", "zeditor"],
  versionArgs: ["--version"],
  interactive: false,
  args: (t) => [`ssh://${t.host}${t.remotePath}`],
  deepLink: (t) => `zed://ssh/${t.host}${t.remotePath}`,
});

export const nvim = defineEditorRecipe(terminalEditor("nvim", "Neovim"));
export const vim = defineEditorRecipe(terminalEditor("vim", "Vim"));

export const gateway = defineEditorRecipe({
  name: "gateway",
  displayName: "JetBrains Gateway",
  description: "JetBrains Gateway (SSH connection, IDE backend chosen in Gateway)",
  binaries: ["gateway", "jetbrains-gateway"],
  // No version probe: Gateway's launcher may open its window instead of printing one.
  interactive: false,
  args: (t, ctx) => [gatewayLink(t, ctx)],
  deepLink: gatewayLink,
});

/** Every built-in editor, in the order `nexus editor detect` lists them. */
export const builtinEditors: readonly EditorDescriptor[] = Object.freeze([cursor, code, codeInsiders, windsurf, zed, nvim, vim, gateway]);

/** Automatic choice when nothing was asked for or saved (SPEC §8). */
export const EDITOR_PREFERENCE: readonly string[] = Object.freeze(["cursor", "code", "windsurf", "zed", "nvim", "vim"]);

/** Other names users type for the built-in editors. */
export const EDITOR_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  vscode: "code",
  "vs-code": "code",
  "vscode-insiders": "code-insiders",
  neovim: "nvim",
  "jetbrains-gateway": "gateway",
  jetbrains: "gateway",
});
