// The testkit editor conformance suite against every built-in editor.
import t from "tap";
import { runEditorConformance } from "@nexus/testkit";
import { builtinEditors } from "@nexus/editors";
import { tempDir } from "./fake-editors.js";

for (const descriptor of builtinEditors) {
  t.test(`${descriptor.name} passes the editor conformance suite`, async (t) => {
    // An empty PATH: detection must report "not found" without throwing, and nothing is started.
    await runEditorConformance(t, { descriptor, context: { env: { PATH: "", HOME: tempDir(t) } } });
  });
}
