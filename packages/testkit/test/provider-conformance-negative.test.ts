// The suite must catch broken providers: each variant below breaks one rule of the
// contract, and the case guarding that rule has to fail with a message naming it.
import t from "tap";
import { NexusError, defineProvider, type Op, type ProviderInstance } from "@nexus/core";
import { fakeProvider, providerConformanceCases, runConformanceCases, type ConformanceResult, type ProviderConformanceSetup } from "../src/index.js";
import { delegate, fakeSetup } from "./fake-setup.js";

async function run(setup: ProviderConformanceSetup, ids?: string[]): Promise<ConformanceResult[]> {
  const cases = providerConformanceCases(setup).filter((c) => !ids || ids.includes(c.id));
  return runConformanceCases(cases);
}

function failed(results: ConformanceResult[]): Record<string, string> {
  return Object.fromEntries(results.filter((r) => r.status === "failed").map((r) => [r.id, (r.error as Error).message]));
}

type Breakage = Parameters<typeof fakeSetup>[1];

const variants: Array<{ name: string; breakage: Breakage; ids: string[]; message: RegExp; options?: Parameters<typeof fakeSetup>[0]; overrides?: Partial<ProviderConformanceSetup> }> = [
  {
    name: "destroy throws when the container is already gone",
    breakage: (inner) => ({
      async destroy(handle, op) {
        if ((await inner.inspect(handle, op)).state === "absent") throw new NexusError("workspace_not_found", "no such container");
        return inner.destroy(handle, op);
      },
    }),
    ids: ["destroy-idempotent", "absent-handle"],
    message: /no such container/,
  },
  {
    name: "inspect of an absent container throws instead of reporting absent",
    breakage: (inner) => ({
      async inspect(handle, op) {
        const observed = await inner.inspect(handle, op);
        if (observed.state === "absent") throw new NexusError("workspace_not_found", "inspect: not found");
        return observed;
      },
    }),
    ids: ["absent-handle"],
    message: /inspect: not found/,
  },
  {
    name: "list includes resources nexus did not create",
    breakage: (inner, control) => ({
      async list(op) {
        const managed = await inner.list(op);
        const unmanaged = control.containers().filter((c) => c.workspaceId === undefined);
        return [...managed, ...unmanaged.map((c) => ({ provider: "fake", id: c.id, workspaceId: "", labels: {} }))];
      },
    }),
    ids: ["list-labelled-only"],
    message: /decoy/,
  },
  {
    name: "exec merges stderr into stdout",
    breakage: (inner) => ({
      async exec(handle, argv, op, options) {
        const result = await inner.exec(handle, argv, op, options);
        return { exitCode: result.exitCode, stdout: result.stdout + result.stderr, stderr: "" };
      },
    }),
    ids: ["exec"],
    message: /separately/,
  },
  {
    name: "exec ignores the env option",
    breakage: (inner) => ({ exec: (handle, argv, op, options) => inner.exec(handle, argv, op, { ...options, env: {} }) }),
    ids: ["exec"],
    message: /env option/,
  },
  {
    name: "writeFile ignores the mode",
    breakage: (inner) => ({ writeFile: (handle, path, data, op) => inner.writeFile(handle, path, data, op) }),
    ids: ["write-file"],
    message: /mode/,
  },
  {
    name: "provision recreates the container instead of reusing it",
    breakage: (inner) => ({
      async provision(spec, op) {
        for (const h of await inner.list(op)) if (h.workspaceId === spec.workspaceId) await inner.destroy(h, op);
        return inner.provision(spec, op);
      },
    }),
    ids: ["provision-idempotent"],
    message: /another container/,
  },
  {
    name: "provision drops the spec's labels",
    breakage: (inner) => ({ provision: (spec, op) => inner.provision({ ...spec, labels: {} }, op) }),
    ids: ["provision-labels"],
    message: /nexus\.test-run/,
  },
  {
    name: "start is not idempotent",
    breakage: (inner) => ({
      async start(handle, op) {
        if ((await inner.inspect(handle, op)).state === "running") throw new NexusError("invalid_transition", "already running");
        return inner.start(handle, op);
      },
    }),
    ids: ["start-stop-idempotent"],
    message: /already running/,
  },
  {
    name: "stop leaves the container running",
    breakage: () => ({ stop: async () => undefined }),
    ids: ["start-stop-idempotent"],
    message: /after stop\(\), inspect\(\) reports "running"/,
  },
  {
    name: "errors escape unmapped",
    breakage: (inner) => ({
      async exec(handle, argv, op, options) {
        if ((await inner.inspect(handle, op)).state === "absent") throw new Error("(HTTP code 404) no such container");
        return inner.exec(handle, argv, op, options);
      },
    }),
    ids: ["errors-are-nexus-errors"],
    message: /non-NexusError/,
  },
  {
    name: "provision ignores the AbortSignal",
    breakage: (inner) => ({ provision: (spec, op) => inner.provision(spec, { ...op, signal: new AbortController().signal }) }),
    ids: ["cancel-before", "cancel-midway"],
    message: /must reject|completed before the abort/,
  },
  {
    name: "a cancelled provision rejects but keeps creating in the background (orphan)",
    breakage: (inner) => ({
      provision(spec, op) {
        const background = inner.provision(spec, { ...op, signal: new AbortController().signal });
        return new Promise((resolve, reject) => {
          op.signal.addEventListener("abort", () => reject(new NexusError("timeout", "cancelled")), { once: true });
          background.then(resolve, reject);
        });
      },
    }),
    ids: ["cancel-midway"],
    message: /left a container behind/,
    overrides: { settleMs: 300 },
  },
  {
    name: "health throws when the backend is down",
    breakage: () => ({}),
    ids: ["health-down"],
    message: /threw while the backend is down/,
    overrides: {
      createDownInstance: async (ctx) => ({
        ...delegate(await fakeProvider.create(ctx, { down: true })),
        health: async () => {
          throw new NexusError("provider_unavailable", "connect ENOENT /var/run/docker.sock");
        },
      }),
    },
  },
  {
    name: "calls against a down backend are not mapped to provider_unavailable",
    breakage: () => ({}),
    ids: ["health-down"],
    message: /expected provider_unavailable/,
    overrides: {
      createDownInstance: async (ctx) => {
        const down = await fakeProvider.create(ctx, { down: true });
        return {
          health: (op: Op) => down.health(op),
          dispose: () => down.dispose(),
          list: async () => {
            throw new NexusError("internal_error", "connect ECONNREFUSED");
          },
        } as unknown as ProviderInstance;
      },
    },
  },
  {
    name: "exec logs its environment",
    breakage: (inner) => ({
      exec(handle, argv, op, options) {
        op.log.debug({ argv, env: options?.env }, "exec");
        return inner.exec(handle, argv, op, options);
      },
    }),
    ids: ["no-secrets-in-logs"],
    message: /exec-env/,
  },
  {
    name: "a generated host private key is logged",
    breakage: (inner) => ({
      provision(spec, op) {
        op.log.trace({ hostKeyPem: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n-----END OPENSSH PRIVATE KEY-----" }, "host keys generated");
        return inner.provision(spec, op);
      },
    }),
    ids: ["no-secrets-in-logs"],
    message: /private key material/,
  },
  {
    name: "host keys are missing although the provider runs sshd",
    breakage: () => ({}),
    options: { hostKey: false },
    ids: ["provision-labels"],
    message: /hostKey is not an OpenSSH public key/,
  },
  {
    name: "every container reports the same host key",
    breakage: (inner) => ({
      async provision(spec, op) {
        return { ...(await inner.provision(spec, op)), hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFixedFixedFixedFixedFixedFixedFixedFixedFix" };
      },
    }),
    ids: ["parallel-provisions"],
    message: /share an SSH host key/,
  },
  {
    name: "dispose throws the second time",
    breakage: (inner) => {
      let disposed = false;
      return {
        async dispose() {
          if (disposed) throw new NexusError("internal_error", "already disposed");
          disposed = true;
          await inner.dispose();
        },
      };
    },
    ids: ["dispose"],
    message: /already disposed/,
  },
];

for (const variant of variants) {
  t.test(`the suite catches: ${variant.name}`, async (t) => {
    const { setup } = fakeSetup(variant.options, variant.breakage, variant.overrides);
    const failures = failed(await run(setup, variant.ids));
    t.same(Object.keys(failures).sort(), [...variant.ids].sort(), "exactly the guarding cases fail");
    for (const id of variant.ids) t.match(failures[id] ?? "", variant.message, `${id} explains the failure`);
  });
}

t.test("one broken rule fails only its own case: the rest of the suite still passes", async (t) => {
  const { setup } = fakeSetup({}, variants.find((v) => v.name === "exec merges stderr into stdout")!.breakage);
  const results = await run(setup);
  t.same(Object.keys(failed(results)), ["exec"]);
  t.ok(results.filter((r) => r.status === "passed").length >= 17, "the other cases passed");
});

t.test("descriptor problems fail the descriptor case", async (t) => {
  const { setup } = fakeSetup();
  const wrongVersion = defineProvider({ ...setup.descriptor, name: "future", apiVersion: 2 });
  const unbranded = { ...setup.descriptor };
  const badOptions = { ...setup, descriptor: fakeProvider, options: { latencyMs: -1 } };
  for (const [what, candidate, message] of [
    ["API version 2", { ...setup, descriptor: wrongVersion }, /apiVersion is 2/],
    ["a copied (unbranded) descriptor", { ...setup, descriptor: unbranded }, /not branded/],
    ["options its schema rejects", badOptions, /options schema rejects/],
  ] as const) {
    const failures = failed(await run(candidate as ProviderConformanceSetup, ["descriptor"]));
    t.match(failures.descriptor ?? "", message, what);
  }
});

t.test("a cleanup failure fails an otherwise passing case (leaks are defects)", async (t) => {
  const { setup } = fakeSetup({}, undefined, {
    cleanup: async () => {
      throw new Error("sweep failed");
    },
  });
  const failures = failed(await run(setup, ["absent-handle"]));
  t.match(failures["absent-handle"] ?? "", /cleanup after the case failed: sweep failed/);
});
