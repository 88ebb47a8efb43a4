export { providerConformanceCases, type ProviderConformanceSetup } from "./conformance.js";
export * from "./fake/index.js";
export { generateTestKeyPair, OPENSSH_PUBLIC_KEY, type TestKeyPair } from "./ssh-key.js";
export { createPortAllocator, testWorkspaceSpec, type TestSpecInput } from "./test-spec.js";
