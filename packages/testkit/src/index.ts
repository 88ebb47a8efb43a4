// @nexus/testkit: runner-independent conformance suites and in-memory fakes.
export * from "./provider/index.js";
export * from "./store/index.js";
