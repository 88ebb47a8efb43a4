import t from "tap";
import { MemoryStore, runStoreConformance, storeConformanceCases } from "@nexus/testkit";

t.test("MemoryStore passes the Store conformance suite", async (t) => {
  await runStoreConformance(t, ({ now }) => new MemoryStore({ now }));
});

t.test("the suite is runner-independent: cases run without tap", async (t) => {
  const cases = storeConformanceCases(({ now }) => new MemoryStore({ now }));
  t.ok(cases.length >= 25, `${cases.length} cases`);
  t.equal(new Set(cases.map((c) => c.id)).size, cases.length, "case ids are unique");
  await cases[0]!.run();
});
