export { DEFAULT_EDITOR_TARGET, editorConformanceCases, type EditorConformanceSetup } from "./conformance.js";
