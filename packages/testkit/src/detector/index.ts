export { assertServiceHint, detectorConformanceCases, SERVICE_NAME, type DetectorConformanceSetup, type DetectorFixture } from "./conformance.js";
export { createFileView, type FileTreeRecord } from "./file-view.js";
