// The provider conformance suite against the real Incus daemon.
import t from "tap";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { createPortAllocator, generateTestKeyPair, runProviderConformance, testWorkspaceSpec } from "@nexus/testkit";
import { LxcProvider } from "../src/provider.js";
import { lxcOptionsSchema } from "../src/options.js";
import lxcProvider from "../src/index.js";
import { TEST_RUN, rawClient, realProvider, requireSocket, sweep } from "./real-support.js";

const socket = await requireSocket();
const nextPort = createPortAllocator("0.0.0.0");
const key = generateTestKeyPair();
const sweeper = realProvider();
const api = rawClient(socket);
t.teardown(async () => {
  await sweep(sweeper);
  await sweeper.dispose();
  await api.close();
});

await runProviderConformance(t, {
  descriptor: lxcProvider,
  options: {},
  createDownInstance: (ctx) => new LxcProvider(ctx, lxcOptionsSchema.parse({ socket: join(ctx.dataDir, "no-incus.socket") })),
  spec: async (suffix) => testWorkspaceSpec({ suffix, testRun: TEST_RUN, sshPort: await nextPort(), authorizedKeys: [key.publicKey] }),
  expectsHostKey: true,
  execUser: "dev",
  // A container without nexus config keys: list() must not report it.
  async createDecoy() {
    const name = `decoy-${randomBytes(4).toString("hex")}`;
    await api.operation("POST", "/1.0/instances", {
      body: { name, type: "container", source: { type: "image", alias: "nexus/debian-12" }, profiles: ["default"], start: false, config: { "user.decoy-run": TEST_RUN } },
      signal: AbortSignal.timeout(60_000),
    });
    return { id: name, remove: async () => void (await api.operation("DELETE", `/1.0/instances/${name}`, { signal: AbortSignal.timeout(60_000) })) };
  },
  // Lands inside provision (create + seed + start take well over 100 ms).
  abortProvisionAfterMs: 100,
  settleMs: 10_000,
  cleanup: async () => void (await sweep(sweeper)),
});
