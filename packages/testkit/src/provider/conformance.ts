// The provider conformance suite: what every ProviderInstance must do, as plain
// node:assert cases. Run them with runProviderConformance (tap, node:test) or
// runConformanceCases (no runner).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import {
  LABELS,
  isNexusError,
  silentLogger,
  type ErrorCode,
  type Handle,
  type PluginContext,
  type ProviderDescriptor,
  type ProviderInstance,
  type WorkspaceSpec,
} from "@nexus/core";
import type { ConformanceCase } from "../case.js";
import { assertDescriptor, parseOptions } from "../descriptor-checks.js";
import { createLogCapture } from "../log-capture.js";
import { CaseSession, inSession } from "./session.js";
import { OPENSSH_PUBLIC_KEY } from "./ssh-key.js";

export interface ProviderConformanceSetup {
  descriptor: ProviderDescriptor<any>;
  /** Raw options, as a user would write them; parsed by the descriptor's schema like the registry does. */
  options?: unknown;
  /** Overrides for the PluginContext given to create() (env, log); dataDir is a fresh temp dir per case. */
  context?: Partial<Omit<PluginContext, "dataDir">>;
  /** An instance whose backend is unreachable (wrong socket, stopped daemon). */
  createDownInstance(ctx: PluginContext): ProviderInstance | Promise<ProviderInstance>;
  /**
   * A WorkspaceSpec for one test workspace: unique for the given suffix, a free sshPort,
   * at least one authorized key, and the `nexus.test-run` label (testWorkspaceSpec builds one).
   */
  spec(suffix: string): WorkspaceSpec | Promise<WorkspaceSpec>;
  /** Whether provision() must report the container's SSH host key (true for providers that run sshd). */
  expectsHostKey: boolean;
  /** A user that exists in the workspace image, for exec's `user` option (default "dev"). */
  execUser?: string;
  /** Creates a resource on the backend without nexus labels, which list() must ignore. */
  createDecoy?(): Promise<{ id: string; remove(): Promise<void> }>;
  /** Runs after every case, passed or failed: e.g. sweep everything labelled with this run's nexus.test-run. */
  cleanup?(): Promise<void>;
  /** When the cancellation case aborts provision (default 50 ms): inside provision, before it completes. */
  abortProvisionAfterMs?: number;
  /** How long a cancelled provision may take to clean up after itself (default 5000 ms). */
  settleMs?: number;
  /** Deadline of every single operation (default 120000 ms). */
  operationTimeoutMs?: number;
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode | undefined, what: string): Promise<void> {
  let outcome: { value: unknown } | { error: unknown };
  try {
    outcome = { value: await promise };
  } catch (error) {
    outcome = { error };
  }
  assert.ok("error" in outcome, `${what}: resolved (${JSON.stringify((outcome as { value: unknown }).value)}) but must reject`);
  assert.ok(isNexusError(outcome.error), `${what}: rejected with a non-NexusError: ${String(outcome.error)}`);
  if (code) assert.equal(outcome.error.code, code, `${what}: rejected with ${outcome.error.code}, expected ${code}`);
}

async function assertState(session: CaseSession, handle: Handle, expected: string, after: string): Promise<void> {
  const observed = await session.instance.inspect(handle, session.op());
  assert.equal(observed.state, expected, `after ${after}, inspect() reports "${observed.state}", expected "${expected}"`);
}

/** A handle to a container that was never created, named like a real one would be. */
function absentHandle(descriptor: ProviderDescriptor<any>): Handle {
  const tag = randomBytes(4).toString("hex");
  return { provider: descriptor.name, id: `nexus-conformance-absent-${tag}`, workspaceId: `ws_absent_${tag}`, labels: {} };
}

function findListed(listed: Handle[], handle: Handle): Handle | undefined {
  return listed.find((h) => h.id === handle.id && h.workspaceId === handle.workspaceId);
}

/** The provider conformance cases, one per behaviour of the contract. */
export function providerConformanceCases(setup: ProviderConformanceSetup): ConformanceCase[] {
  const { descriptor } = setup;
  const capabilities = descriptor.capabilities ?? { exec: false, logs: false, snapshot: false };
  const noExec = capabilities.exec ? undefined : "the provider does not declare the exec capability";
  const run = (body: (session: CaseSession) => Promise<void>) => () => inSession(setup, body);

  return [
    {
      id: "descriptor",
      name: "descriptor: branded, kebab-case name, plugin API v1, capabilities, options accepted",
      async run() {
        assertDescriptor(descriptor, "provider", setup.options);
        assert.equal(typeof descriptor.capabilities, "object", "capabilities is not an object");
        for (const key of ["exec", "logs", "snapshot"] as const) {
          assert.equal(typeof descriptor.capabilities[key], "boolean", `capabilities.${key} is not a boolean`);
        }
        assert.ok(Object.isFrozen(descriptor.capabilities), "capabilities are not frozen");
      },
    },
    {
      id: "instance-shape",
      name: "create(): the instance implements every contract method and its declared capabilities",
      run: run(async (session) => {
        // Checked on a second, unwrapped instance: the session's is a checking proxy.
        const instance = await descriptor.create(CaseSession.context(setup, silentLogger, session.dataDir), parseOptions(descriptor, setup.options));
        try {
          for (const method of ["health", "provision", "start", "stop", "destroy", "inspect", "list", "exec", "writeFile", "dispose"] as const) {
            assert.equal(typeof instance[method], "function", `instance.${method} is not a function`);
          }
          if (capabilities.logs) assert.equal(typeof instance.logs, "function", "capabilities.logs is true but instance.logs is missing");
          if (capabilities.snapshot) assert.equal(typeof instance.snapshot, "function", "capabilities.snapshot is true but instance.snapshot is missing");
        } finally {
          await instance.dispose();
        }
      }),
    },
    {
      id: "health-up",
      name: "health: reports ok:true against the reachable backend",
      run: run(async (session) => {
        const health = await session.instance.health(session.op());
        assert.equal(health.ok, true, `health() is not ok: ${health.reason ?? "(no reason)"}`);
        if (health.version !== undefined) assert.equal(typeof health.version, "string", "health.version is not a string");
      }),
    },
    {
      id: "health-down",
      name: "health: never throws when the backend is down (ok:false + reason); list() rejects provider_unavailable",
      run: run(async (session) => {
        const down = await setup.createDownInstance(CaseSession.context(setup, silentLogger, session.dataDir));
        try {
          let health;
          try {
            health = await down.health(session.op());
          } catch (error) {
            assert.fail(`health() threw while the backend is down (it must resolve ok:false): ${String(error)}`);
          }
          assert.equal(health.ok, false, "health() reports ok:true although the backend is down");
          assert.ok(typeof health.reason === "string" && health.reason.trim() !== "", "health() gives no reason for being down");
          await rejectsWith(down.list(session.op()), "provider_unavailable", "list() against a down backend");
        } finally {
          await down.dispose();
        }
      }),
    },
    {
      id: "provision-labels",
      name: "provision: labels the resource (nexus.workspace, nexus.managed, test-run) and returns a complete handle",
      run: run(async (session) => {
        const spec = await session.spec("labels");
        const handle = await session.provision(spec);
        assert.equal(handle.provider, descriptor.name, "handle.provider is not the descriptor's name");
        assert.ok(typeof handle.id === "string" && handle.id !== "", "handle.id is empty");
        assert.equal(handle.workspaceId, spec.workspaceId, "handle.workspaceId is not the spec's");
        assert.equal(handle.labels[LABELS.workspace], spec.workspaceId, `handle label ${LABELS.workspace} is not the workspace id`);
        assert.ok(handle.labels[LABELS.managed], `handle has no ${LABELS.managed} label`);
        assert.equal(handle.labels[LABELS.testRun], spec.labels![LABELS.testRun], `handle does not carry the spec's ${LABELS.testRun} label`);
        if (handle.sshPort !== undefined) assert.equal(handle.sshPort, spec.sshPort, "handle.sshPort is not the spec's sshPort");
        if (setup.expectsHostKey) {
          assert.ok(typeof handle.hostKey === "string" && OPENSSH_PUBLIC_KEY.test(handle.hostKey), `handle.hostKey is not an OpenSSH public key: ${JSON.stringify(handle.hostKey)}`);
        }
        assert.deepEqual(JSON.parse(JSON.stringify(handle)), handle, "the handle does not survive JSON (it crosses the agent protocol)");

        const observed = await session.instance.inspect(handle, session.op());
        assert.equal(observed.state, "running", `provision() must leave the container running; inspect() reports "${observed.state}"`);
        if (observed.labels) assert.equal(observed.labels[LABELS.testRun], spec.labels![LABELS.testRun], `inspect() labels lack ${LABELS.testRun}`);
        if (observed.sshPort !== undefined) assert.equal(observed.sshPort, spec.sshPort, "inspect().sshPort is not the spec's sshPort");

        const listed = findListed(await session.instance.list(session.op()), handle);
        assert.ok(listed, "list() does not include the provisioned container");
        assert.equal(listed.labels[LABELS.workspace], spec.workspaceId, `listed handle lacks ${LABELS.workspace}`);
        assert.equal(listed.labels[LABELS.testRun], spec.labels![LABELS.testRun], `listed handle lacks ${LABELS.testRun}`);
      }),
    },
    {
      id: "provision-idempotent",
      name: "provision: twice with the same spec returns the same container",
      run: run(async (session) => {
        const spec = await session.spec("idem");
        const first = await session.provision(spec);
        const second = await session.provision(spec);
        assert.equal(second.id, first.id, "the second provision() created another container");
        assert.equal((await session.listed(spec.workspaceId)).length, 1, "list() shows more than one container for the workspace");
        await assertState(session, second, "running", "the second provision()");
      }),
    },
    {
      id: "start-stop-idempotent",
      name: "start/stop: twice each is a no-op and the state is right after every call",
      run: run(async (session) => {
        const handle = await session.provision(await session.spec("lifecycle"));
        await session.instance.start(handle, session.op());
        await assertState(session, handle, "running", "start() on a running container");
        await session.instance.stop(handle, session.op());
        await assertState(session, handle, "stopped", "stop()");
        await session.instance.stop(handle, session.op());
        await assertState(session, handle, "stopped", "a second stop()");
        await session.instance.start(handle, session.op());
        await assertState(session, handle, "running", "start() on a stopped container");
        await session.instance.start(handle, session.op());
        await assertState(session, handle, "running", "a second start()");
      }),
    },
    {
      id: "destroy-idempotent",
      name: "destroy: twice succeeds; afterwards inspect() is absent and list() omits it",
      run: run(async (session) => {
        const spec = await session.spec("destroy");
        const handle = await session.provision(spec);
        await session.instance.destroy(handle, session.op());
        await session.instance.destroy(handle, session.op());
        await assertState(session, handle, "absent", "destroy()");
        assert.equal((await session.listed(spec.workspaceId)).length, 0, "list() still shows the destroyed container");
      }),
    },
    {
      id: "absent-handle",
      name: "absent: inspect() of a never-created handle is { state: \"absent\" } and destroy() succeeds",
      run: run(async (session) => {
        const handle = absentHandle(descriptor);
        const observed = await session.instance.inspect(handle, session.op());
        assert.equal(observed.state, "absent", `inspect() of a never-created handle reports "${observed.state}"`);
        await session.instance.destroy(handle, session.op());
      }),
    },
    {
      id: "list-labelled-only",
      name: "list: returns only nexus-labelled resources (an unlabelled decoy is ignored)",
      run: run(async (session) => {
        const decoy = await setup.createDecoy?.();
        try {
          const handle = await session.provision(await session.spec("list"));
          const listed = await session.instance.list(session.op());
          assert.ok(findListed(listed, handle), "list() does not include a provisioned container");
          if (decoy) assert.ok(!listed.some((h) => h.id === decoy.id), "list() includes the unlabelled decoy");
          for (const h of listed) {
            assert.equal(h.provider, descriptor.name, `listed handle ${h.id} has provider "${h.provider}"`);
            assert.ok(h.labels[LABELS.managed], `listed handle ${h.id} lacks ${LABELS.managed}`);
            assert.equal(h.labels[LABELS.workspace], h.workspaceId, `listed handle ${h.id}: ${LABELS.workspace} label is not its workspaceId`);
          }
        } finally {
          await decoy?.remove();
        }
      }),
    },
    {
      id: "exec",
      name: "exec: exit code, stdout and stderr come back separately; user, cwd, env and stdin are honoured",
      skip: noExec,
      run: run(async (session) => {
        const handle = await session.provision(await session.spec("exec"));
        const exec = (argv: string[], options?: Parameters<ProviderInstance["exec"]>[3]) => session.instance.exec(handle, argv, session.op(), options);

        const mixed = await exec(["sh", "-c", "echo out; echo err >&2; exit 3"]);
        assert.deepEqual(mixed, { exitCode: 3, stdout: "out\n", stderr: "err\n" }, "exec() must return the exit code, stdout and stderr separately");
        assert.equal((await exec(["true"])).exitCode, 0, "`true` did not exit 0");

        const user = setup.execUser ?? "dev";
        assert.equal((await exec(["id", "-un"], { user })).stdout.trim(), user, "exec() ignored the user option");
        assert.equal((await exec(["pwd"], { cwd: "/tmp" })).stdout.trim(), "/tmp", "exec() ignored the cwd option");
        const value = "two words & 'quotes' $NOT_EXPANDED";
        assert.equal((await exec(["sh", "-c", 'printf %s "$NEXUS_CONFORMANCE"'], { env: { NEXUS_CONFORMANCE: value } })).stdout, value, "exec() did not pass the env option verbatim");
        assert.equal((await exec(["cat"], { stdin: "from stdin\n" })).stdout, "from stdin\n", "exec() did not pass stdin");
        // argv is never re-parsed by a shell: metacharacters arrive as one argument.
        assert.equal((await exec(["echo", "a; echo injected"])).stdout, "a; echo injected\n", "exec() passed argv through a shell");
      }),
    },
    {
      id: "write-file",
      name: "writeFile: content and mode read back via exec",
      skip: noExec,
      run: run(async (session) => {
        const handle = await session.provision(await session.spec("write"));
        const path = `/tmp/nexus-conformance-${randomBytes(4).toString("hex")}`;
        const content = "line one\nline two: ünïcødé\n";
        await session.instance.writeFile(handle, path, content, session.op(), { mode: 0o600 });
        const read = await session.instance.exec(handle, ["cat", path], session.op());
        assert.equal(read.exitCode, 0, `cat of the written file failed: ${read.stderr}`);
        assert.equal(read.stdout, content, "the file read back differs from what writeFile() wrote");
        const mode = await session.instance.exec(handle, ["stat", "-c", "%a", path], session.op());
        assert.equal(mode.stdout.trim(), "600", "writeFile() ignored the mode option");
        await session.instance.writeFile(handle, path, new TextEncoder().encode("bytes\n"), session.op());
        assert.equal((await session.instance.exec(handle, ["cat", path], session.op())).stdout, "bytes\n", "writeFile() with a Uint8Array did not replace the content");
      }),
    },
    {
      id: "cancel-before",
      name: "cancellation: provision() with an already-aborted signal rejects with a NexusError and creates nothing",
      run: run(async (session) => {
        const spec = await session.spec("precancel");
        const controller = new AbortController();
        controller.abort();
        await rejectsWith(session.instance.provision(spec, session.op(controller.signal)), undefined, "provision() with an aborted signal");
        assert.equal((await session.listed(spec.workspaceId)).length, 0, "provision() with an aborted signal created a container");
      }),
    },
    {
      id: "cancel-midway",
      name: "cancellation: provision() aborted mid-way rejects with a NexusError and leaves no orphan",
      run: run(async (session) => {
        const spec = await session.spec("cancel");
        const controller = new AbortController();
        const abortAfter = setup.abortProvisionAfterMs ?? 50;
        const timer = setTimeout(() => controller.abort(), abortAfter);
        try {
          let resolved: Handle | undefined;
          try {
            resolved = session.track(await session.instance.provision(spec, session.op(controller.signal)));
          } catch (error) {
            assert.ok(isNexusError(error), `the cancelled provision() rejected with a non-NexusError: ${String(error)}`);
          }
          assert.equal(resolved, undefined, `provision() completed before the abort at ${abortAfter} ms; set abortProvisionAfterMs so that it lands mid-way`);
        } finally {
          clearTimeout(timer);
        }
        // The provider may finish rolling back just after rejecting: poll, bounded by settleMs.
        const deadline = Date.now() + (setup.settleMs ?? 5_000);
        let orphans = await session.listed(spec.workspaceId);
        while (orphans.length > 0 && Date.now() < deadline) {
          await sleep(100);
          orphans = await session.listed(spec.workspaceId);
        }
        assert.deepEqual(orphans.map((h) => h.id), [], "the cancelled provision() left a container behind");
      }),
    },
    {
      id: "parallel-provisions",
      name: "parallel: three concurrent provisions get distinct containers (and host keys), all listed",
      run: run(async (session) => {
        const specs = await Promise.all([session.spec("par-a"), session.spec("par-b"), session.spec("par-c")]);
        const handles = await Promise.all(specs.map((spec) => session.provision(spec)));
        assert.equal(new Set(handles.map((h) => h.id)).size, 3, `concurrent provisions collided: ids ${handles.map((h) => h.id).join(", ")}`);
        handles.forEach((h, i) => assert.equal(h.workspaceId, specs[i]!.workspaceId, "a handle came back with another workspace's id"));
        if (setup.expectsHostKey) assert.equal(new Set(handles.map((h) => h.hostKey)).size, 3, "containers share an SSH host key (keys must be fresh per container)");
        const listed = await session.instance.list(session.op());
        for (const handle of handles) assert.ok(findListed(listed, handle), `list() is missing ${handle.id}`);
      }),
    },
    {
      id: "errors-are-nexus-errors",
      name: "errors: rejections are NexusErrors with catalog codes (absent handle → workspace_not_found)",
      run: run(async (session) => {
        const handle = absentHandle(descriptor);
        await rejectsWith(session.instance.start(handle, session.op()), "workspace_not_found", "start() of an absent handle");
        if (capabilities.exec) {
          await rejectsWith(session.instance.exec(handle, ["true"], session.op()), "workspace_not_found", "exec() on an absent handle");
          await rejectsWith(session.instance.writeFile(handle, "/tmp/x", "x", session.op()), "workspace_not_found", "writeFile() on an absent handle");
          await rejectsWith(session.instance.exec(handle, [], session.op()), undefined, "exec() with an empty argv");
        }
        const bad = { ...(await session.spec("badname")), name: "../Not A Name" };
        await rejectsWith(session.instance.provision(bad, session.op()), undefined, "provision() of a spec with an unsafe name");
        assert.equal((await session.listed(bad.workspaceId)).length, 0, "provision() of an unsafe spec created a container");
      }),
    },
    {
      id: "no-secrets-in-logs",
      name: "logs: no private key material, exec env/stdin/output or file content reaches the provider's logs",
      async run() {
        const capture = createLogCapture();
        const canary = (source: string) => ({ source, value: `nexus-canary-${source}-${randomBytes(6).toString("hex")}` });
        const env = canary("exec-env");
        const stdin = canary("exec-stdin");
        const file = canary("file-content");
        await inSession(setup, async (session) => {
          const spec = await session.spec("secrets");
          const handle = await session.provision(spec);
          await session.instance.inspect(handle, session.op());
          await session.instance.list(session.op());
          if (capabilities.exec) {
            const echoed = await session.instance.exec(handle, ["sh", "-c", 'printf %s "$NEXUS_TOKEN"'], session.op(), { env: { NEXUS_TOKEN: env.value } });
            assert.equal(echoed.stdout, env.value, "the env canary did not reach the process (check the exec case)");
            await session.instance.exec(handle, ["cat"], session.op(), { stdin: stdin.value });
            await session.instance.writeFile(handle, "/tmp/nexus-canary", file.value, session.op(), { mode: 0o600 });
          }
          await session.instance.stop(handle, session.op());
          await session.instance.destroy(handle, session.op());
        }, capture.log);
        const text = capture.text();
        const leaked = [env, stdin, file].filter((c) => text.includes(c.value)).map((c) => c.source);
        assert.deepEqual(leaked, [], `secret values reached the logs (sources: ${leaked.join(", ")}); never log exec env, stdin, output or file content`);
        assert.ok(!/PRIVATE KEY|b3BlbnNzaC1rZXktdjE/.test(text), "private key material (PEM or OpenSSH) reached the logs");
      },
    },
    {
      id: "optional-capabilities",
      name: "optional capabilities: logs() yields strings, snapshot() returns an id",
      skip: capabilities.logs || capabilities.snapshot ? undefined : "the provider declares neither logs nor snapshot",
      run: run(async (session) => {
        const handle = await session.provision(await session.spec("optional"));
        if (capabilities.logs) {
          for await (const line of session.instance.logs!(handle, session.op())) assert.equal(typeof line, "string", "logs() yielded a non-string");
        }
        if (capabilities.snapshot) {
          const snapshot = await session.instance.snapshot!(handle, session.op());
          assert.ok(typeof snapshot.id === "string" && snapshot.id !== "", "snapshot() returned no id");
        }
      }),
    },
    {
      id: "dispose",
      name: "dispose: resolves and is safe to call twice",
      run: run(async (session) => {
        await session.instance.health(session.op());
        await session.instance.dispose();
        await session.instance.dispose();
      }),
    },
  ];
}
