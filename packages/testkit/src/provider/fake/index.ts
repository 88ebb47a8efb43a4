import { defineProvider, type ProviderDescriptor } from "@nexus/core";
import { z } from "zod";
import { FAKE_OPERATIONS, FakeEngine, type FakeEngineOptions, type FakeProviderControl } from "./control.js";
import { FakeInstance, type FakeProviderInstance } from "./instance.js";

export {
  FAKE_OPERATIONS,
  FAKE_USERS,
  type FakeCall,
  type FakeContainer,
  type FakeContainerState,
  type FakeExecCall,
  type FakeExecHandler,
  type FakeLatency,
  type FakeOperation,
  type FakeProviderControl,
} from "./control.js";
export type { FakeProviderInstance } from "./instance.js";
export type { FakeUser } from "./shell.js";

const latencyMs = z.number().min(0);

export const fakeProviderOptionsSchema = z.strictObject({
  /** Per-call delay in ms (abortable); a number for every operation or a per-operation map. */
  latencyMs: z.union([latencyMs, z.partialRecord(z.enum(FAKE_OPERATIONS), latencyMs)]).optional(),
  /** Report an SSH host key on provision, as a provider running sshd does (default true). */
  hostKey: z.boolean().optional(),
  /** The version health() reports (default "fake-1"). */
  version: z.string().optional(),
  /** Start with the backend down; a string is the reason. */
  down: z.union([z.boolean(), z.string()]).optional(),
});

export type FakeProviderOptions = FakeEngineOptions;

const FAKE_DESCRIPTION = "In-memory provider for tests: containers, labels, a small sh, latency and failure injection";
const FAKE_CAPABILITIES = { exec: true, logs: true, snapshot: true } as const;

/**
 * The fake as a registrable plugin taking options: each `create()` gets its own private
 * engine, reachable as `instance.control`.
 */
export const fakeProvider: ProviderDescriptor<FakeProviderOptions> = defineProvider<FakeProviderOptions>({
  name: "fake",
  apiVersion: 1,
  description: FAKE_DESCRIPTION,
  capabilities: FAKE_CAPABILITIES,
  options: fakeProviderOptionsSchema,
  create: (ctx, options): FakeProviderInstance => new FakeInstance(new FakeEngine(options), ctx.log),
});

export interface FakeProviderKit {
  /** Register this (no options); every instance it creates shares `control`'s engine. */
  descriptor: ProviderDescriptor<undefined>;
  control: FakeProviderControl;
}

/**
 * The fake for tests that hand the descriptor to a registry/server/agent and keep the
 * control: failures, latency and the down switch apply to every instance created.
 */
export function createFakeProvider(options: FakeProviderOptions = {}): FakeProviderKit {
  const engine = new FakeEngine(fakeProviderOptionsSchema.parse(options));
  const descriptor = defineProvider({
    name: "fake",
    apiVersion: 1,
    description: FAKE_DESCRIPTION,
    capabilities: FAKE_CAPABILITIES,
    create: (ctx): FakeProviderInstance => new FakeInstance(engine, ctx.log),
  });
  return { descriptor, control: engine };
}
