// Regression tests for what the security suite found, one per finding (see docs/security.md).
import t from "tap";
import { request as httpRequest } from "node:http";
import { ErrorBodySchema, branchNameProblem } from "@nexus/core";
import { harness } from "../../packages/server/test/harness.js";

t.test("an undecodable URL or an over-long path parameter gets the catalog body, not fastify's", async (t) => {
  const h = await harness(t);
  for (const url of ["/api/v1/workspaces/%E0%A4%A", "/api/v1/workspaces/%zz", `/api/v1/workspaces/${"a".repeat(500)}`, `/api/v1/nodes/${"n".repeat(500)}/heartbeat`]) {
    const res = await h.request({ method: "GET", url });
    t.equal(res.statusCode, 400, url.slice(0, 60));
    const body = ErrorBodySchema.parse(res.json());
    t.equal(body.error, "invalid_request");
    t.equal(body.request_id, res.headers["x-request-id"], "X-Request-Id repeats the body's request_id");
  }
});

t.test("headers over Node's limit get the catalog body with 431 and the server keeps serving", async (t) => {
  const h = await harness(t);
  await h.app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = h.app.server.address() as { port: number };
  const get = (headers: Record<string, string>) =>
    new Promise<{ status: number; body: string; requestId: unknown }>((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port, path: "/health", headers }, (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, requestId: res.headers["x-request-id"] }));
      });
      req.on("error", reject);
      req.end();
    });
  const huge = await get({ "x-padding": "p".repeat(64 * 1024) });
  t.equal(huge.status, 431);
  const body = ErrorBodySchema.parse(JSON.parse(huge.body));
  t.equal(body.error, "invalid_request");
  t.equal(body.request_id, huge.requestId);
  t.equal((await get({})).status, 200);
});

t.test("branch names with invisible or text-direction characters, or lone surrogates, are refused", async (t) => {
  for (const branch of ["main\u202E", "ma\u200Bin", "\uFEFFmain", "feat\u2066ure", "a\u200Fb", "x\uD800"]) {
    t.ok(branchNameProblem(branch), `${JSON.stringify(branch)} refused: ${branchNameProblem(branch)}`);
  }
  for (const branch of ["main", "fëature", "日本語", "e\u0301", "$(touch${IFS}x)"]) t.equal(branchNameProblem(branch), undefined, `${JSON.stringify(branch)} still valid`);
});
