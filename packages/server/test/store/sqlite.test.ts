import t from "tap";
import { runStoreConformance } from "@nexus/testkit";
import { openSqliteStore } from "../../src/store/index.js";

t.test("SqliteStore (temp file) passes the Store conformance suite", async (t) => {
  const dir = t.testdir();
  let n = 0;
  await runStoreConformance(t, ({ now }) => openSqliteStore({ file: `${dir}/case-${n++}/nexus.db`, now }));
});

t.test("SqliteStore (:memory:) passes the Store conformance suite", async (t) => {
  await runStoreConformance(t, ({ now }) => openSqliteStore({ file: ":memory:", now }));
});
