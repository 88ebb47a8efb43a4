import t from "tap";
import { createPublicKey } from "node:crypto";
import { LABELS } from "@nexus/core";
import {
  OPENSSH_PUBLIC_KEY,
  createLogCapture,
  createPortAllocator,
  generateTestKeyPair,
  runConformance,
  runConformanceCases,
  testWorkspaceSpec,
  type ConformanceCase,
  type TestRunnerLike,
} from "../src/index.js";

const cases: ConformanceCase[] = [
  { id: "passes", name: "a passing case", run: async () => undefined },
  { id: "fails", name: "a failing case", run: async () => { throw new Error("boom"); } },
  { id: "skipped", name: "a skipped case", skip: "not applicable", run: async () => { throw new Error("must not run"); } },
];

t.test("runConformanceCases reports each case without a runner and never throws", async (t) => {
  const seen: string[] = [];
  const results = await runConformanceCases(cases, (r) => seen.push(r.id));
  t.same(results.map((r) => [r.id, r.status]), [["passes", "passed"], ["fails", "failed"], ["skipped", "skipped"]]);
  t.match(results[1]?.error, { message: "boom" });
  t.same(seen, ["passes", "fails", "skipped"], "results are streamed in order");
});

t.test("runConformance makes one subtest per case, passes skip through, and lets failures fail the subtest", async (t) => {
  const calls: Array<{ name: string; options: object; outcome?: string }> = [];
  const runner: TestRunnerLike = {
    async test(name, options, fn) {
      const call: { name: string; options: object; outcome?: string } = { name, options };
      calls.push(call);
      if ((options as { skip?: string }).skip) return;
      const passes: string[] = [];
      try {
        await fn({ pass: (m: string) => passes.push(m) });
        call.outcome = `passed ${passes.join()}`;
      } catch (error) {
        call.outcome = `failed ${(error as Error).message}`;
      }
    },
  };
  await runConformance(runner, cases);
  t.same(calls, [
    { name: "a passing case", options: {}, outcome: "passed passes" },
    { name: "a failing case", options: {}, outcome: "failed boom" },
    { name: "a skipped case", options: { skip: "not applicable" } },
  ]);
});

t.test("runConformance works with tap's own t", async (t) => {
  await runConformance(t, [cases[0]!, cases[2]!]);
});

t.test("generateTestKeyPair: the OpenSSH line encodes the same ed25519 key", async (t) => {
  const pair = generateTestKeyPair("me@host");
  t.match(pair.publicKey, OPENSSH_PUBLIC_KEY);
  const [type, blob, comment] = pair.publicKey.split(" ");
  t.equal(type, "ssh-ed25519");
  t.equal(comment, "me@host");
  const raw = Buffer.from(blob!, "base64");
  t.equal(raw.readUInt32BE(0), 11);
  t.equal(raw.subarray(4, 15).toString(), "ssh-ed25519");
  t.equal(raw.readUInt32BE(15), 32);
  const expected = createPublicKey(pair.privateKeyPem).export({ format: "jwk" }).x;
  t.equal(raw.subarray(19).toString("base64url"), expected);
  t.notMatch(generateTestKeyPair("").publicKey, / .* /, "no comment: exactly two fields");
  t.notOk(OPENSSH_PUBLIC_KEY.test(`${pair.publicKey}\nssh-rsa AAAA`), "multi-line input is not one key");
});

t.test("testWorkspaceSpec labels the spec with the run and validates the suffix", async (t) => {
  const spec = testWorkspaceSpec({ suffix: "idem-3fa2c1", testRun: "run-1", sshPort: 2222, authorizedKeys: ["k"], labels: { extra: "x" } });
  t.same(spec, { workspaceId: "ws_test_idem_3fa2c1", name: "t-idem-3fa2c1", sshPort: 2222, authorizedKeys: ["k"], labels: { extra: "x", [LABELS.testRun]: "run-1" } });
  t.throws(() => testWorkspaceSpec({ suffix: "../x", testRun: "r", sshPort: 1, authorizedKeys: [] }), TypeError);
});

t.test("createPortAllocator never hands out a port twice", async (t) => {
  const next = createPortAllocator();
  const ports = [await next(), await next(), await next()];
  t.equal(new Set(ports).size, 3);
  for (const port of ports) t.ok(port > 0 && port < 65536);
});

t.test("createLogCapture keeps trace-level lines and applies the production redaction", async (t) => {
  const capture = createLogCapture();
  capture.log.trace({ token: "ghp_secret", workspaceId: "ws_1" }, "hello");
  t.match(capture.lines()[0], { msg: "hello", workspaceId: "ws_1", token: "[REDACTED]" });
  t.notMatch(capture.text(), /ghp_secret/);
});
