// Which editor opens a workspace: `--editor`, then NEXUS_EDITOR, then the saved
// choice, then the first installed of cursor → code → windsurf → zed → nvim → vim.
// An explicit request (flag or NEXUS_EDITOR) that is unknown or not installed is an
// error; a saved choice that is no longer installed falls through to the automatic one.
import { NexusError, type PluginRegistry, type EditorDescriptor, type EditorDetection, type Op, type PluginContext } from "@nexus/core";
import { EDITOR_ALIASES, EDITOR_PREFERENCE, builtinEditors } from "./builtin.js";
import type { Env } from "./executables.js";
import type { EditorLauncher } from "./launcher.js";

/** `--editor none` / NEXUS_EDITOR=none: print the SSH command, open nothing. */
export const NO_EDITOR = "none";

export type EditorChoiceSource = "flag" | "env" | "saved" | "auto";

export type EditorChoice =
  | {
      kind: "editor";
      name: string;
      displayName: string;
      launcher: EditorLauncher;
      detection: EditorDetection;
      source: EditorChoiceSource;
      /** Why a saved choice was skipped, when it was. */
      skipped?: string;
    }
  | { kind: "none"; source: EditorChoiceSource; reason: string; skipped?: string };

export interface ChooseEditorInput {
  /** `--editor` value. */
  requested?: string;
  /** NEXUS_EDITOR is read from here; also the plugins' environment (PATH). */
  env: Env;
  /** The user's saved choice (`editor` in NEXUS_HOME/config.yaml). */
  saved?: string;
  /** Where editors come from: a registry, or a list of descriptors (default: the built-ins). */
  editors?: PluginRegistry | readonly EditorDescriptor[];
  op: Op;
  /** Detections already made (e.g. by `nexus editor detect`), by editor name: not repeated. */
  detections?: ReadonlyMap<string, EditorDetection>;
  /** Passed to editor factories; default: `env`, `op.log`, no data dir. */
  context?: Partial<PluginContext>;
}

/** The canonical name for what the user typed (`vscode` → `code`). */
export function canonicalEditorName(name: string): string {
  const lower = name.trim().toLowerCase();
  return EDITOR_ALIASES[lower] ?? lower;
}

/** A registry, recognised by shape: a second copy of @nexus/core would defeat instanceof. */
function isRegistry(editors: ChooseEditorInput["editors"]): editors is PluginRegistry {
  return typeof (editors as PluginRegistry | undefined)?.instance === "function" && typeof (editors as PluginRegistry).list === "function";
}

export async function chooseEditor(input: ChooseEditorInput): Promise<EditorChoice> {
  const registry = isRegistry(input.editors) ? input.editors : undefined;
  const descriptors = registry ? registry.list("editor") : ((input.editors as readonly EditorDescriptor[] | undefined) ?? builtinEditors);
  const context: PluginContext = { env: input.env, log: input.op.log, dataDir: "", ...input.context };
  const byName = new Map(descriptors.map((d) => [d.name, d]));

  const instantiate = async (descriptor: EditorDescriptor): Promise<EditorLauncher> => {
    if (registry) return (await registry.instance("editor", descriptor.name, context)) as EditorLauncher;
    return (await descriptor.create(context, undefined)) as EditorLauncher;
  };

  const pick = async (descriptor: EditorDescriptor, source: EditorChoiceSource) => {
    const launcher = await instantiate(descriptor);
    const detection = input.detections?.get(descriptor.name) ?? (await launcher.detect(input.op));
    return { kind: "editor" as const, name: descriptor.name, displayName: descriptor.displayName, launcher, detection, source };
  };

  const explicit = (value: string | undefined, source: "flag" | "env") => {
    if (value === undefined || value.trim() === "") return undefined;
    return { name: canonicalEditorName(value), raw: value, source };
  };
  const asked = explicit(input.requested, "flag") ?? explicit(input.env.NEXUS_EDITOR, "env");
  if (asked) {
    const origin = asked.source === "flag" ? "--editor" : "NEXUS_EDITOR";
    if (asked.name === NO_EDITOR) return { kind: "none", source: asked.source, reason: `${origin} none` };
    const descriptor = byName.get(asked.name);
    if (!descriptor) {
      throw new NexusError("invalid_request", `unknown editor ${JSON.stringify(asked.raw)} (from ${origin})`, {
        details: { editor: asked.raw, available: [...byName.keys()] },
        hint: `Choose one of: ${[...byName.keys()].join(", ")}, or none.`,
      });
    }
    const choice = await pick(descriptor, asked.source);
    if (!choice.detection.found) {
      throw new NexusError("not_found", `${descriptor.displayName} is not installed (no \`${descriptor.name}\` on PATH)`, {
        details: { editor: descriptor.name, source: origin },
        hint: `Install it, or pick an installed editor with --editor (\`nexus editor detect\` lists them), or use --editor none.`,
      });
    }
    return choice;
  }

  let skipped: string | undefined;
  if (input.saved && input.saved.trim() !== "") {
    const name = canonicalEditorName(input.saved);
    if (name === NO_EDITOR) return { kind: "none", source: "saved", reason: "saved choice is none" };
    const descriptor = byName.get(name);
    if (descriptor) {
      const choice = await pick(descriptor, "saved");
      if (choice.detection.found) return choice;
      skipped = `the saved editor ${descriptor.displayName} is not installed any more`;
    } else {
      skipped = `the saved editor ${JSON.stringify(input.saved)} is not available`;
    }
  }

  for (const name of EDITOR_PREFERENCE) {
    const descriptor = byName.get(name);
    if (!descriptor) continue;
    const choice = await pick(descriptor, "auto");
    if (choice.detection.found) return { ...choice, ...(skipped ? { skipped } : {}) };
  }
  return { kind: "none", source: "auto", reason: `none of ${EDITOR_PREFERENCE.join(", ")} is installed`, ...(skipped ? { skipped } : {}) };
}
