// One case's world: a fresh provider instance, ops with a deadline, the specs it
// asked for, and a cleanup that removes whatever those specs left behind.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { LABELS, isNexusError, silentLogger, type Handle, type Logger, type Op, type PluginContext, type ProviderInstance, type WorkspaceSpec } from "@nexus/core";
import { parseOptions } from "../descriptor-checks.js";
import type { ProviderConformanceSetup } from "./conformance.js";

const ASYNC_METHODS = ["health", "provision", "start", "stop", "destroy", "inspect", "list", "exec", "writeFile", "snapshot", "dispose"] as const;

function assertNexusError(error: unknown, method: string): void {
  assert.ok(isNexusError(error), `provider.${method}() rejected with a non-NexusError (map backend errors to catalog codes): ${String((error as Error)?.stack ?? error)}`);
}

/**
 * Wraps an instance so that a rejection which is not a NexusError fails the case with
 * a clear message, whichever case triggered it.
 */
function requireNexusErrors(instance: ProviderInstance): ProviderInstance {
  const checked: Record<string, unknown> = {};
  for (const method of ASYNC_METHODS) {
    const original = (instance as unknown as Record<string, unknown>)[method];
    if (typeof original !== "function") continue;
    checked[method] = async (...args: unknown[]) => {
      try {
        return await (original as (...a: unknown[]) => Promise<unknown>).apply(instance, args);
      } catch (error) {
        assertNexusError(error, method);
        throw error;
      }
    };
  }
  if (typeof instance.logs === "function") {
    checked.logs = async function* (handle: Handle, op: Op) {
      try {
        yield* instance.logs!(handle, op);
      } catch (error) {
        assertNexusError(error, "logs");
        throw error;
      }
    };
  }
  return checked as unknown as ProviderInstance;
}

export class CaseSession {
  readonly instance: ProviderInstance;
  readonly log: Logger;
  readonly #setup: ProviderConformanceSetup;
  readonly #dataDir: string;
  readonly #workspaceIds = new Set<string>();
  readonly #handles: Handle[] = [];

  private constructor(setup: ProviderConformanceSetup, instance: ProviderInstance, log: Logger, dataDir: string) {
    this.#setup = setup;
    this.instance = requireNexusErrors(instance);
    this.log = log;
    this.#dataDir = dataDir;
  }

  static async open(setup: ProviderConformanceSetup, log: Logger = setup.context?.log ?? silentLogger): Promise<CaseSession> {
    const dataDir = await mkdtemp(join(tmpdir(), "nexus-conformance-"));
    try {
      const instance = await setup.descriptor.create(CaseSession.context(setup, log, dataDir), parseOptions(setup.descriptor, setup.options));
      return new CaseSession(setup, instance, log, dataDir);
    } catch (error) {
      await rm(dataDir, { recursive: true, force: true });
      throw error;
    }
  }

  static context(setup: ProviderConformanceSetup, log: Logger, dataDir: string): PluginContext {
    return { env: process.env, ...setup.context, log, dataDir };
  }

  get dataDir(): string {
    return this.#dataDir;
  }

  /** A fresh op; a hung backend fails the case instead of hanging the run. */
  op(signal?: AbortSignal): Op {
    const deadline = AbortSignal.timeout(this.#setup.operationTimeoutMs ?? 120_000);
    return { signal: signal ? AbortSignal.any([signal, deadline]) : deadline, log: this.log };
  }

  /** A spec from the setup, under a suffix unique to this call, remembered for cleanup. */
  async spec(tag: string): Promise<WorkspaceSpec> {
    const spec = await this.#setup.spec(`${tag}-${randomBytes(3).toString("hex")}`);
    assert.ok(spec.labels?.[LABELS.testRun], `setup.spec() must label every spec with ${LABELS.testRun} (see testWorkspaceSpec)`);
    this.#workspaceIds.add(spec.workspaceId);
    return spec;
  }

  /** Remembers a workspace id the case used without asking the setup for it. */
  forget(workspaceId: string): void {
    this.#workspaceIds.add(workspaceId);
  }

  track(handle: Handle): Handle {
    this.#handles.push(handle);
    return handle;
  }

  async provision(spec: WorkspaceSpec): Promise<Handle> {
    return this.track(await this.instance.provision(spec, this.op()));
  }

  /** The listed handles of one workspace. */
  async listed(workspaceId: string): Promise<Handle[]> {
    return (await this.instance.list(this.op())).filter((h) => h.workspaceId === workspaceId);
  }

  /** Destroys what this case created (by list, then by tracked handle), disposes, and runs setup.cleanup. */
  async close(): Promise<unknown[]> {
    const failures: unknown[] = [];
    const attempt = async (work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (error) {
        failures.push(error);
      }
    };
    if (this.#workspaceIds.size > 0) {
      await attempt(async () => {
        const leftovers = (await this.instance.list(this.op())).filter((h) => this.#workspaceIds.has(h.workspaceId));
        for (const handle of leftovers) await this.instance.destroy(handle, this.op());
      });
      for (const handle of this.#handles) {
        await attempt(async () => {
          if ((await this.instance.inspect(handle, this.op())).state !== "absent") await this.instance.destroy(handle, this.op());
        });
      }
    }
    await attempt(() => this.instance.dispose());
    await attempt(() => rm(this.#dataDir, { recursive: true, force: true }));
    if (this.#setup.cleanup) await attempt(() => this.#setup.cleanup!());
    return failures;
  }
}

/**
 * Runs a case body in a session. A cleanup failure fails an otherwise passing case
 * (a leak is a defect); when the body already failed, its error is the one reported.
 */
export async function inSession(setup: ProviderConformanceSetup, body: (session: CaseSession) => Promise<void>, log?: Logger): Promise<void> {
  const session = await CaseSession.open(setup, log);
  let failed = true;
  try {
    await body(session);
    failed = false;
  } finally {
    const failures = await session.close();
    if (!failed && failures.length > 0) {
      throw new AggregateError(failures, `cleanup after the case failed: ${failures.map((f) => (f as Error)?.message ?? String(f)).join("; ")}`);
    }
  }
}
