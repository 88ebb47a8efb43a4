// The testkit provider conformance suite against the real Docker Engine.
import { createPortAllocator, generateTestKeyPair, runProviderConformance, testWorkspaceSpec } from "@nexus/testkit";
import t from "tap";
import { dockerOptionsSchema } from "../src/options.js";
import { dockerProvider } from "../src/index.js";
import { createDecoy, requireEngine, sweep, TEST_RUN } from "./real-engine.js";

await requireEngine();
t.teardown(async () => {
  await sweep();
});

const nextPort = createPortAllocator();
const userKey = generateTestKeyPair().publicKey;

await runProviderConformance(t, {
  descriptor: dockerProvider,
  options: {},
  createDownInstance: (ctx) => dockerProvider.create(ctx, dockerOptionsSchema.parse({ socket: "/nonexistent/docker.sock" })),
  spec: async (suffix) => testWorkspaceSpec({ suffix, testRun: TEST_RUN, sshPort: await nextPort(), authorizedKeys: [userKey] }),
  expectsHostKey: true,
  execUser: "dev",
  createDecoy,
  cleanup: async () => {
    await sweep();
  },
});
