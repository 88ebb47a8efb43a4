import t from "tap";
import { createNexus } from "@nexus/core";
import { builtinEditors, canonicalEditorName, chooseEditor, type EditorChoice } from "@nexus/editors";
import { fakeBin, tempDir, testOp } from "./fake-editors.js";

const chosen = (choice: EditorChoice) => (choice.kind === "editor" ? `${choice.name}/${choice.source}` : `none/${choice.source}`);

t.test("automatic order: cursor → code → windsurf → zed → nvim → vim", async (t) => {
  const order = ["cursor", "code", "windsurf", "zed", "nvim", "vim"];
  for (let i = 0; i < order.length; i++) {
    // Everything from position i on is installed (plus gateway and code-insiders, never picked automatically).
    const fake = fakeBin(tempDir(t), [...order.slice(i), "gateway", "code-insiders"]);
    t.equal(chosen(await chooseEditor({ env: fake.env, op: testOp() })), `${order[i]}/auto`);
  }
  const nothing = await chooseEditor({ env: fakeBin(tempDir(t), ["gateway"]).env, op: testOp() });
  t.equal(nothing.kind, "none");
  t.match(nothing.kind === "none" ? nothing.reason : "", /none of cursor, code/);
});

t.test("--editor beats NEXUS_EDITOR beats the saved choice beats the automatic order", async (t) => {
  const fake = fakeBin(tempDir(t), ["cursor", "code", "zed", "vim"]);
  const op = testOp();
  t.equal(chosen(await chooseEditor({ requested: "zed", env: { ...fake.env, NEXUS_EDITOR: "vim" }, saved: "code", op })), "zed/flag");
  t.equal(chosen(await chooseEditor({ env: { ...fake.env, NEXUS_EDITOR: "vim" }, saved: "code", op })), "vim/env");
  t.equal(chosen(await chooseEditor({ env: fake.env, saved: "code", op })), "code/saved");
  t.equal(chosen(await chooseEditor({ env: fake.env, op })), "cursor/auto");
  const choice = await chooseEditor({ requested: "vscode", env: fake.env, op });
  t.equal(chosen(choice), "code/flag", "alias vscode → code");
  t.equal(choice.kind === "editor" && choice.detection.found, true);
});

t.test("none: --editor none and NEXUS_EDITOR=none open nothing", async (t) => {
  const fake = fakeBin(tempDir(t), ["cursor"]);
  t.equal(chosen(await chooseEditor({ requested: "none", env: fake.env, op: testOp() })), "none/flag");
  t.equal(chosen(await chooseEditor({ env: { ...fake.env, NEXUS_EDITOR: "none" }, op: testOp() })), "none/env");
  t.equal(chosen(await chooseEditor({ env: fake.env, saved: "none", op: testOp() })), "none/saved");
});

t.test("an explicit editor that is unknown or not installed is an error", async (t) => {
  const fake = fakeBin(tempDir(t), ["cursor"]);
  await t.rejects(chooseEditor({ requested: "emacs", env: fake.env, op: testOp() }), { code: "invalid_request", message: /unknown editor "emacs" \(from --editor\)/ });
  await t.rejects(chooseEditor({ env: { ...fake.env, NEXUS_EDITOR: "notepad" }, op: testOp() }), { code: "invalid_request", message: /from NEXUS_EDITOR/ });
  await t.rejects(chooseEditor({ requested: "zed", env: fake.env, op: testOp() }), { code: "not_found", message: /Zed is not installed/ });
});

t.test("a saved editor that is gone falls through to the automatic choice, saying why", async (t) => {
  const fake = fakeBin(tempDir(t), ["code"]);
  const choice = await chooseEditor({ env: fake.env, saved: "zed", op: testOp() });
  t.equal(chosen(choice), "code/auto");
  t.match(choice.skipped, /saved editor Zed is not installed/);
  const unknown = await chooseEditor({ env: fake.env, saved: "emacs", op: testOp() });
  t.match(unknown.skipped, /"emacs" is not available/);
});

t.test("editors can come from a registry", async (t) => {
  const registry = createNexus({ editors: builtinEditors.filter((d) => d.name !== "cursor") });
  const fake = fakeBin(tempDir(t), ["cursor", "windsurf"]);
  t.equal(chosen(await chooseEditor({ env: fake.env, editors: registry, op: testOp() })), "windsurf/auto", "cursor is not registered");
  await t.rejects(chooseEditor({ requested: "cursor", env: fake.env, editors: registry, op: testOp() }), { code: "invalid_request" });
});

t.test("canonicalEditorName", async (t) => {
  t.equal(canonicalEditorName(" VSCode "), "code");
  t.equal(canonicalEditorName("jetbrains-gateway"), "gateway");
  t.equal(canonicalEditorName("neovim"), "nvim");
  t.equal(canonicalEditorName("zed"), "zed");
});
