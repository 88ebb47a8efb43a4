// Conformance setups over the FakeProvider, shared by the positive and negative tests.
import { randomUUID } from "node:crypto";
import { LABELS, defineProvider, type PluginContext, type ProviderDescriptor, type ProviderInstance } from "@nexus/core";
import {
  createFakeProvider,
  generateTestKeyPair,
  testWorkspaceSpec,
  type FakeProviderControl,
  type FakeProviderOptions,
  type ProviderConformanceSetup,
} from "../src/index.js";

export interface FakeSetup {
  setup: ProviderConformanceSetup;
  control: FakeProviderControl;
  testRun: string;
}

/** A setup over one shared fake engine; `wrap` lets negative tests break the instance. */
export function fakeSetup(
  options: FakeProviderOptions = {},
  wrap?: (inner: ProviderInstance, control: FakeProviderControl) => Partial<ProviderInstance>,
  overrides: Partial<ProviderConformanceSetup> = {},
): FakeSetup {
  const kit = createFakeProvider({ latencyMs: { provision: 40 }, ...options });
  const testRun = randomUUID();
  const key = generateTestKeyPair().publicKey;
  let port = 20_000;
  const descriptor: ProviderDescriptor<any> = wrap
    ? defineProvider({
        name: "fake",
        apiVersion: 1,
        capabilities: kit.descriptor.capabilities,
        async create(ctx: PluginContext) {
          const inner = await kit.descriptor.create(ctx, undefined);
          return { ...delegate(inner), ...wrap(inner, kit.control) };
        },
      })
    : kit.descriptor;
  const setup: ProviderConformanceSetup = {
    descriptor,
    createDownInstance: (ctx) => createFakeProvider({ down: "engine socket refused" }).descriptor.create(ctx, undefined),
    spec: (suffix) => testWorkspaceSpec({ suffix, testRun, sshPort: port++, authorizedKeys: [key] }),
    expectsHostKey: true,
    async createDecoy() {
      const decoy = kit.control.addUnmanaged(`decoy-${port++}`);
      return { id: decoy.id, remove: async () => void kit.control.remove(decoy.id) };
    },
    async cleanup() {
      for (const c of kit.control.containers()) if (c.labels[LABELS.testRun] === testRun) kit.control.remove(c.id);
    },
    abortProvisionAfterMs: 15,
    ...overrides,
  };
  return { setup, control: kit.control, testRun };
}

/** Every method of an instance, bound, so a wrapper can override some of them. */
export function delegate(inner: ProviderInstance): ProviderInstance {
  const methods = ["health", "provision", "start", "stop", "destroy", "inspect", "list", "exec", "writeFile", "logs", "snapshot", "dispose"] as const;
  return Object.fromEntries(methods.map((m) => [m, (inner[m] as (...a: unknown[]) => unknown).bind(inner)])) as unknown as ProviderInstance;
}
