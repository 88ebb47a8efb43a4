// Node.js settings for the long-running programs the CLI starts (nexus-server, nexus-agent).
// Under load V8 grows the young generation to 16 MB semi-spaces and keeps them once idle;
// 1 MB keeps an idle daemon 10–40 MB smaller for more frequent, sub-millisecond scavenges.
// Measured with `npm run bench` (docs/benchmarks.md): nexus-server 105–147 → 97–104 MB,
// nexus-agent 106 → 94 MB VmRSS; GET /workspaces/{id} p99 at 200 req/s unchanged.
export const DAEMON_NODE_OPTIONS: readonly string[] = ["--max-semi-space-size=1"];
