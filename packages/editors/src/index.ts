// @nexus/editors: editor launchers (Cursor, VS Code, Windsurf, Zed, vim/nvim, JetBrains
// Gateway) and the nexus-owned SSH configuration they connect through.
export { builtinEditors, code, codeInsiders, cursor, EDITOR_ALIASES, EDITOR_PREFERENCE, gateway, nvim, vim, windsurf, zed } from "./builtin.js";
export { canonicalEditorName, chooseEditor, NO_EDITOR, type ChooseEditorInput, type EditorChoice, type EditorChoiceSource } from "./choose.js";
export { defineEditorRecipe, isInteractiveLauncher, makeEditorLauncher, type EditorLauncher, type EditorLaunchResult, type EditorRecipe } from "./launcher.js";
export { findExecutable, parseVersion, probeVersion } from "./executables.js";
export { formatCommand, shellQuote } from "./shell-quote.js";
export { assertEditorTarget, assertHostAlias, assertRemotePath, assertWorkspaceName, hostAlias } from "./validate.js";
export { nexusSshPaths, resolveNexusHome, userSshDir, type NexusSshPaths } from "./paths.js";
export { ensureSshInclude, includesFile, sshIncludeLine, type SshIncludeOptions, type SshIncludeResult } from "./ssh-include.js";
export {
  createSshConfig,
  renderWorkspaceEntry,
  type NexusSshConfig,
  type PortForward,
  type SshConfigOptions,
  type WorkspaceSshEntry,
  type WorkspaceSshEntrySummary,
  type WrittenWorkspaceEntry,
} from "./ssh-config.js";
export { knownHostsName } from "./known-hosts.js";
export { connectionSharingFromVersion, detectConnectionSharing, type ConnectionSharingSupport } from "./connection-sharing.js";
export { editorTargetFromWorkspace, forwardsFromWorkspace, sshEntryFromWorkspace } from "./workspace.js";
