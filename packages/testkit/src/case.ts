// A conformance case is a plain async function that throws (node:assert) on failure,
// so any test runner — or none — can run it.

export interface ConformanceCase {
  /** Stable kebab-case id, for filtering (`cases.filter((c) => c.id === "exec")`). */
  readonly id: string;
  /** What the case checks, phrased as the expected behaviour. */
  readonly name: string;
  /** Set when the case does not apply (e.g. a capability the plugin does not declare). */
  readonly skip?: string;
  run(): Promise<void>;
}

export type ConformanceStatus = "passed" | "failed" | "skipped";

export interface ConformanceResult {
  id: string;
  name: string;
  status: ConformanceStatus;
  /** The thrown error, when the case failed. */
  error?: unknown;
}

/** Runs cases one after another without any test runner; never throws. */
export async function runConformanceCases(
  cases: readonly ConformanceCase[],
  onResult?: (result: ConformanceResult) => void,
): Promise<ConformanceResult[]> {
  const results: ConformanceResult[] = [];
  for (const testCase of cases) {
    let result: ConformanceResult;
    if (testCase.skip) {
      result = { id: testCase.id, name: testCase.name, status: "skipped" };
    } else {
      try {
        await testCase.run();
        result = { id: testCase.id, name: testCase.name, status: "passed" };
      } catch (error) {
        result = { id: testCase.id, name: testCase.name, status: "failed", error };
      }
    }
    results.push(result);
    onResult?.(result);
  }
  return results;
}
