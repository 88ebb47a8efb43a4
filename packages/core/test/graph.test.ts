import t from "tap";
import { isNexusError } from "../src/errors.js";
import {
  assertServiceGraph,
  findCycle,
  findCycles,
  formatCycle,
  serviceGraphProblems,
  serviceStartOrder,
  serviceStopOrder,
  startLayers,
} from "../src/graph.js";

// The SPEC §4 example plus independent services, in non-alphabetical order.
const spec = {
  web: { depends_on: ["api"] },
  worker: { depends_on: ["db", "cache"] },
  api: { depends_on: ["db"] },
  db: {},
  cache: { depends_on: [] },
};

t.test("start order puts dependencies first and breaks ties by name", async (t) => {
  t.same(serviceStartOrder(spec), ["cache", "db", "api", "web", "worker"]);
  t.same(serviceStartOrder({ b: {}, a: {}, c: { depends_on: ["b"] } }), ["a", "b", "c"]);
  t.same(serviceStartOrder({}), []);
});

t.test("stop order is the reverse of the start order", async (t) => {
  t.same(serviceStopOrder(spec), ["worker", "web", "api", "db", "cache"]);
});

t.test("layers group services that can start in parallel, each sorted by name", async (t) => {
  t.same(startLayers(spec), [["cache", "db"], ["api", "worker"], ["web"]]);
  t.same(startLayers({ z: {}, a: {} }), [["a", "z"]]);
  t.same(startLayers({}), []);
});

t.test("accepts a record, a Map or a list of named services, and ignores duplicate dependencies", async (t) => {
  const list = [
    { name: "web", depends_on: ["api", "api"] },
    { name: "api" },
  ];
  t.same(serviceStartOrder(list), ["api", "web"]);
  t.same(serviceStartOrder(new Map([["web", { depends_on: ["api"] }], ["api", {}]])), ["api", "web"]);
  t.same(startLayers(list), [["api"], ["web"]]);
});

t.test("a 3-cycle is named in full, starting at its first service by name", async (t) => {
  const services = { web: { depends_on: ["api"] }, api: { depends_on: ["db"] }, db: { depends_on: ["web"] }, cache: {} };
  t.same(findCycle(services), ["api", "db", "web", "api"]);
  t.equal(formatCycle(findCycle(services)!), "api -> db -> web -> api");
  const error = t.throws(() => serviceStartOrder(services)) as unknown;
  t.ok(isNexusError(error));
  t.match(error, {
    code: "invalid_config",
    message: 'dependency cycle api -> db -> web -> api: services "api", "db", "web" wait for each other, so none can start',
    details: { problems: [{ kind: "cycle", cycle: ["api", "db", "web", "api"] }] },
  });
  t.throws(() => serviceStopOrder(services), { code: "invalid_config" });
  t.throws(() => startLayers(services), { code: "invalid_config", message: /api -> db -> web -> api/ });
});

t.test("every independent cycle is found, self-dependency included", async (t) => {
  const services = { a: { depends_on: ["b"] }, b: { depends_on: ["a"] }, x: { depends_on: ["x"] }, y: { depends_on: ["a"] } };
  t.same(findCycles(services), [["a", "b", "a"], ["x", "x"]]);
  t.equal(findCycle({ a: {}, b: { depends_on: ["a"] } }), undefined);
  const error = t.throws(() => assertServiceGraph(services)) as Error;
  t.match(error.message, /^the service graph has 2 problems:\n/);
  t.match(error.message, /a -> b -> a/);
  t.match(error.message, /service "x" depends on itself \(x -> x\)/);
});

t.test("the shortest cycle through the first service is reported when several overlap", async (t) => {
  const services = { a: { depends_on: ["c", "b"] }, b: { depends_on: ["c"] }, c: { depends_on: ["a"] } };
  t.same(findCycle(services), ["a", "c", "a"]);
});

t.test("unknown depends_on targets name the service and the target", async (t) => {
  const services = { web: { depends_on: ["api", "cache"] }, api: { depends_on: ["db"] }, db: {} };
  t.same(serviceGraphProblems(services), [{ kind: "unknown_dependency", service: "web", target: "cache", index: 1 }]);
  t.throws(() => serviceStartOrder(services), {
    code: "invalid_config",
    message: 'service "web" depends on "cache", which is not a defined service',
  });
});

t.test("a cycle through a long chain is found without overflowing the stack", async (t) => {
  const name = (i: number) => `s${String(i).padStart(5, "0")}`;
  const services: Record<string, { depends_on: string[] }> = {};
  for (let i = 0; i < 20_000; i++) services[name(i)] = { depends_on: [name((i + 19_999) % 20_000)] };
  const cycle = findCycle(services)!;
  t.equal(cycle.length, 20_001);
  t.same([cycle[0], cycle[1], cycle.at(-1)], ["s00000", "s19999", "s00000"]);
});
