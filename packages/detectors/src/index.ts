// @nexus/detectors: generate a .nexus/config.yaml for repositories that have none (SPEC §9).
export { builtinDetectors } from "./builtin.js";
export { nodeDetector } from "./detectors/node/index.js";
export { pythonDetector } from "./detectors/python.js";
export { rubyDetector } from "./detectors/ruby.js";
export { goDetector } from "./detectors/go.js";
export { staticDetector } from "./detectors/static.js";
export { devcontainerDetector } from "./detectors/devcontainer.js";
export { composeDetector } from "./detectors/compose.js";
export { detectProject, type DetectProjectOptions, type DetectedProject, type DetectorInput } from "./project/detect.js";
export { renderConfigYaml, type RenderOptions } from "./project/render.js";
export type { DetectionProblem, GeneratedConfig, GeneratedService, Guess } from "./project/types.js";
export { memoryFileView, type MemoryTree } from "./files/memory.js";
export { fileViewFromDirectory, type DirectoryViewOptions } from "./files/directory.js";
export { scopeFileView } from "./files/scope.js";
