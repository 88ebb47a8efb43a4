// Binds conformance cases to a test runner passed in by the caller. The runner is a
// parameter, not an import, so @nexus/testkit never depends on tap: the same binding
// works with tap's `t` and with node:test's TestContext (both have
// `test(name, options, fn)`).
import type { ConformanceCase } from "./case.js";
import { detectorConformanceCases, type DetectorConformanceSetup } from "./detector/conformance.js";
import { editorConformanceCases, type EditorConformanceSetup } from "./editor/conformance.js";
import { providerConformanceCases, type ProviderConformanceSetup } from "./provider/conformance.js";

/** The part of tap's `t` / node:test's TestContext the binding uses. */
export interface TestRunnerLike {
  test(name: string, options: { skip?: string | boolean }, fn: (t: any) => Promise<void>): unknown;
}

/** Registers one subtest per case and waits for each; a failing case fails only its subtest. */
export async function runConformance(t: TestRunnerLike, cases: readonly ConformanceCase[]): Promise<void> {
  for (const testCase of cases) {
    await t.test(testCase.name, testCase.skip ? { skip: testCase.skip } : {}, async (sub: { pass?: (message: string) => void }) => {
      await testCase.run();
      // tap counts assertions; the case asserted through node:assert, so record one pass.
      sub?.pass?.(testCase.id);
    });
  }
}

export function runProviderConformance(t: TestRunnerLike, setup: ProviderConformanceSetup): Promise<void> {
  return runConformance(t, providerConformanceCases(setup));
}

export function runDetectorConformance(t: TestRunnerLike, setup: DetectorConformanceSetup): Promise<void> {
  return runConformance(t, detectorConformanceCases(setup));
}

export function runEditorConformance(t: TestRunnerLike, setup: EditorConformanceSetup): Promise<void> {
  return runConformance(t, editorConformanceCases(setup));
}
