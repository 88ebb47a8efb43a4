// The node agent's runtime (SPEC §6), shared by the `nexus-agent` binary and the
// server's single-machine mode.
export { startAgentRuntime, type AgentRuntime } from "./runtime.js";
export type { AgentCapacity, AgentRuntimeOptions } from "./options.js";
export { AGENT_LABELS } from "./context.js";
export { AGENT_VERSION } from "./identity.js";
