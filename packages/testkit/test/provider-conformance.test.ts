import t from "tap";
import { LABELS } from "@nexus/core";
import { fakeProvider, generateTestKeyPair, providerConformanceCases, runProviderConformance, testWorkspaceSpec } from "../src/index.js";
import { fakeSetup } from "./fake-setup.js";

t.test("createFakeProvider passes the provider conformance suite", async (t) => {
  const { setup, control, testRun } = fakeSetup();
  await runProviderConformance(t, setup);
  t.same(control.containers().filter((c) => c.labels[LABELS.testRun] === testRun), [], "the suite left no test container behind");
  t.ok(control.containers().length === 0, "decoys were removed too");
});

t.test("fakeProvider (options via its schema, one engine per instance) passes the suite", async (t) => {
  const key = generateTestKeyPair().publicKey;
  let port = 30_000;
  await runProviderConformance(t, {
    descriptor: fakeProvider,
    options: { latencyMs: { provision: 40 }, version: "fake-test" },
    createDownInstance: (ctx) => fakeProvider.create(ctx, { down: true }),
    spec: (suffix) => testWorkspaceSpec({ suffix, testRun: "fake-descriptor", sshPort: port++, authorizedKeys: [key] }),
    expectsHostKey: true,
    abortProvisionAfterMs: 15,
  });
});

t.test("the suite covers every behaviour the contract names", async (t) => {
  const ids = providerConformanceCases(fakeSetup().setup).map((c) => c.id);
  t.same(ids, [
    "descriptor", "instance-shape", "health-up", "health-down", "provision-labels", "provision-idempotent",
    "start-stop-idempotent", "destroy-idempotent", "absent-handle", "list-labelled-only", "exec", "write-file",
    "cancel-before", "cancel-midway", "parallel-provisions", "errors-are-nexus-errors", "no-secrets-in-logs",
    "optional-capabilities", "dispose",
  ]);
  t.equal(new Set(ids).size, ids.length, "case ids are unique");
});
