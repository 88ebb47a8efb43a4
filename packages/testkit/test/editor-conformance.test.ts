import t from "tap";
import { NexusError, defineEditor, type EditorLauncherInstance, type EditorTarget } from "@nexus/core";
import { editorConformanceCases, runConformanceCases, runEditorConformance } from "../src/index.js";

const HOST = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A small, correct editor in the style of VS Code's remote-SSH launch. */
function sampleEditor(): EditorLauncherInstance {
  const command = (target: EditorTarget) => {
    if (!HOST.test(target.host)) throw new NexusError("invalid_request", `invalid SSH host alias ${JSON.stringify(target.host)}`);
    return ["code", "--folder-uri", `vscode-remote://ssh-remote+${target.host}${target.remotePath}`];
  };
  return {
    command,
    deepLink: (target) => `vscode://vscode-remote/ssh-remote+${target.host}${target.remotePath}`,
    detect: async () => ({ found: false }),
    launch: async (target) => ({ command: command(target) }),
  };
}

/** Keeps the host validation, so a variant breaks only what it means to break. */
const checked = (build: (target: EditorTarget) => string[]) => (target: EditorTarget) => (sampleEditor().command(target), build(target));

const editor = (overrides: Partial<EditorLauncherInstance> = {}, displayName = "Sample Code") =>
  defineEditor({ name: "sample-code", apiVersion: 1, displayName, create: () => ({ ...sampleEditor(), ...overrides }) });

t.test("a correct editor passes through the tap binding", async (t) => {
  await runEditorConformance(t, { descriptor: editor() });
});

t.test("a custom target is used", async (t) => {
  const seen: EditorTarget[] = [];
  const descriptor = editor({ command: (target) => (seen.push(target), sampleEditor().command(target)) });
  const target = { host: "nexus-api", workspaceName: "api", remotePath: "/home/dev/api" };
  const results = await runConformanceCases(editorConformanceCases({ descriptor, target }));
  t.ok(results.every((r) => r.status === "passed"));
  t.same(seen[0], target);
});

const broken: Array<{ name: string; overrides?: Partial<EditorLauncherInstance>; displayName?: string; fails: string[]; message: RegExp }> = [
  { name: "a command without the folder", overrides: { command: checked((target) => ["code", "--remote", `ssh-remote+${target.host}`]) }, fails: ["command"], message: /does not name the folder/ },
  { name: "a command without the host", overrides: { command: checked((target) => ["code", target.remotePath]) }, fails: ["command"], message: /does not name the host/ },
  { name: "an empty argument", overrides: { command: checked((target) => ["code", "", `${target.host}:${target.remotePath}`]) }, fails: ["command"], message: /empty or non-string/ },
  { name: "an unvalidated host", overrides: { command: (target) => ["ssh", "-t", target.host, `cd ${target.remotePath}`] }, fails: ["command-rejects-option-host"], message: /accepted the host/ },
  {
    name: "an argv that changes between calls",
    overrides: { command: (() => { let n = 0; return (target: EditorTarget) => [...sampleEditor().command(target), `--instance=${++n}`]; })() },
    fails: ["command-pure"],
    message: /different argv/,
  },
  { name: "writing to the target", overrides: { command: (target) => ((target as { host: string }).host = "x", ["code"]) }, fails: ["command", "command-pure", "command-rejects-option-host"], message: /read only|read-only|Cannot assign/ },
  { name: "a deep link that is not a URL", overrides: { deepLink: (target) => `open ${target.host}` }, fails: ["deep-link"], message: /not a URL/ },
  { name: "detect throwing when the binary is missing", overrides: { detect: async () => { throw new Error("spawn code ENOENT"); } }, fails: ["detect"], message: /detect\(\) threw/ },
  { name: "an empty display name", displayName: " ", fails: ["descriptor"], message: /displayName is empty/ },
];

for (const variant of broken) {
  t.test(`the editor suite catches: ${variant.name}`, async (t) => {
    const results = await runConformanceCases(editorConformanceCases({ descriptor: editor(variant.overrides, variant.displayName) }));
    const failed = results.filter((r) => r.status === "failed");
    t.same(failed.map((r) => r.id).sort(), [...variant.fails].sort());
    for (const result of failed) t.match((result.error as Error).message, variant.message);
  });
}
