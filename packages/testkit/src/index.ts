// @nexus/testkit: runner-independent conformance suites and in-memory fakes.
export * from "./provider/index.js";
export * from "./store/index.js";
export * from "./detector/index.js";
export * from "./editor/index.js";
export * from "./case.js";
export * from "./runner.js";
export * from "./log-capture.js";
