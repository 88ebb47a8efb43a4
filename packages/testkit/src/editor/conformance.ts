// Editor conformance: the argv an editor would run names the workspace's host and
// folder, deep links are real URLs, and detection never throws. launch() is not
// exercised: it would start an editor on the test machine.
import assert from "node:assert/strict";
import { isNexusError, silentLogger, type EditorDescriptor, type EditorLauncherInstance, type EditorTarget, type PluginContext } from "@nexus/core";
import type { ConformanceCase } from "../case.js";
import { assertDescriptor, parseOptions } from "../descriptor-checks.js";

export interface EditorConformanceSetup {
  descriptor: EditorDescriptor<any>;
  options?: unknown;
  /** Default: host `nexus-conformance`, folder `/home/dev/conformance`. */
  target?: EditorTarget;
  context?: Partial<PluginContext>;
}

export const DEFAULT_EDITOR_TARGET: EditorTarget = Object.freeze({
  host: "nexus-conformance",
  workspaceName: "conformance",
  remotePath: "/home/dev/conformance",
});

export function editorConformanceCases(setup: EditorConformanceSetup): ConformanceCase[] {
  const { descriptor } = setup;
  const target = Object.freeze({ ...(setup.target ?? DEFAULT_EDITOR_TARGET) });
  const instance = async (): Promise<EditorLauncherInstance> => {
    const created = await descriptor.create({ env: process.env, dataDir: "", log: silentLogger, ...setup.context }, parseOptions(descriptor, setup.options));
    for (const method of ["detect", "launch", "deepLink", "command"] as const) {
      assert.equal(typeof created?.[method], "function", `instance.${method} is not a function`);
    }
    return created;
  };
  const op = () => ({ signal: AbortSignal.timeout(30_000), log: silentLogger });

  return [
    {
      id: "descriptor",
      name: "descriptor: branded, kebab-case name, plugin API v1, display name, options accepted",
      async run() {
        assertDescriptor(descriptor, "editor", setup.options);
        assert.ok(typeof descriptor.displayName === "string" && descriptor.displayName.trim() !== "", "displayName is empty");
        await instance();
      },
    },
    {
      id: "command",
      name: "command(target): an argv of non-empty strings naming the host and the remote folder",
      async run() {
        const argv = (await instance()).command(target);
        assert.ok(Array.isArray(argv) && argv.length > 0, "command() returned no argv");
        assert.ok(argv.every((a) => typeof a === "string" && a !== ""), `command() returned an empty or non-string argument: ${JSON.stringify(argv)}`);
        const joined = argv.join(" ");
        assert.ok(joined.includes(target.host), `command() does not name the host ${target.host}: ${JSON.stringify(argv)}`);
        assert.ok(
          joined.includes(target.remotePath) || joined.includes(encodeURIComponent(target.remotePath)),
          `command() does not name the folder ${target.remotePath}: ${JSON.stringify(argv)}`,
        );
      },
    },
    {
      id: "command-pure",
      name: "command(target) is pure: same target gives the same argv; the target is not modified",
      async run() {
        const editor = await instance();
        // The target is frozen: an editor that writes to it throws, which fails the case.
        assert.deepEqual(editor.command(target), editor.command(target), "command() returned different argv for the same target");
      },
    },
    {
      id: "command-rejects-option-host",
      name: "command(target): a host that looks like a command-line option is refused with a NexusError",
      async run() {
        const editor = await instance();
        let outcome: unknown;
        try {
          outcome = editor.command(Object.freeze({ ...target, host: "-oProxyCommand=sh" }));
        } catch (error) {
          assert.ok(isNexusError(error), `command() threw a non-NexusError: ${String(error)}`);
          return;
        }
        assert.fail(`command() accepted the host "-oProxyCommand=sh": ${JSON.stringify(outcome)}`);
      },
    },
    {
      id: "deep-link",
      name: "deepLink(target): undefined or an absolute URL",
      async run() {
        const link = (await instance()).deepLink(target);
        if (link === undefined) return;
        assert.equal(typeof link, "string", "deepLink() returned neither undefined nor a string");
        assert.ok(URL.canParse(link), `deepLink() returned something that is not a URL: ${link}`);
      },
    },
    {
      id: "detect",
      name: "detect(): resolves { found: boolean } and never throws",
      async run() {
        let detection;
        try {
          detection = await (await instance()).detect(op());
        } catch (error) {
          assert.fail(`detect() threw: ${String(error)}`);
        }
        assert.equal(typeof detection?.found, "boolean", "detect() did not resolve { found: boolean }");
        if (detection.path !== undefined) assert.equal(typeof detection.path, "string", "detection.path is not a string");
        if (detection.version !== undefined) assert.equal(typeof detection.version, "string", "detection.version is not a string");
      },
    },
  ];
}
