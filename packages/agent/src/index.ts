// @nexus/agent: the `nexus-agent` binary (src/main.ts). The runtime itself is in
// @nexus/core (startAgentRuntime); this package adds flags, provider loading and the process.
export { parseAgentArgs, parsePortRange, defaultNodeName, USAGE, PROVIDER_PACKAGES, type AgentArgs } from "./args.js";
export { runAgent, type RunningAgent } from "./run.js";
