// Regression tests for what the security suite found, one per finding (see docs/security.md).
import t from "tap";
import { request as httpRequest } from "node:http";
import { ErrorBodySchema, branchNameProblem } from "@nexus/core";
import { createdResult, harness } from "../../packages/server/test/harness.js";

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

t.test("text a node reports (container output in errors, service errors) cannot carry terminal escapes to the CLI", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const node = await h.node("node-a");
  // OSC 52 writes the user's clipboard, CSI 2J clears the screen, BEL, C1 CSI.
  const hostile = "setup failed\n\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2J\x1b[1;32m✓ all good\x1b[0m\x9b31m\ttab kept";
  const failing = await h.create(alice, { workspace_name: "failing", repo: { owner: "octo", name: "shop" } });
  const running = await h.create(alice, { workspace_name: "running", repo: { owner: "octo", name: "shop" }, config: { services: { web: { command: "x", port: 3000 } } } });
  const commands = await h.poll(node);
  const createOf = (id: string) => commands.find((c) => c.type === "create" && c.workspace_id === id)!;
  t.equal((await h.result(node, createOf(failing.workspace_id).id, { ok: false, type: "create", error: { code: "service_failed", message: hostile, phase: "setup_done" } })).statusCode, 200);
  t.equal((await h.result(node, createOf(running.workspace_id).id, createdResult(running.workspace_id, running.ssh_port ?? 2222))).statusCode, 200);
  const at = new Date().toISOString();
  const events = await h.events(node, [
    { type: "service", workspace_id: running.workspace_id, name: "web", status: "unhealthy", health: "unhealthy", last_check: at, last_error: hostile, at },
  ]);
  t.equal(events.statusCode, 200);
  const failed = await h.detail(alice, failing.workspace_id);
  const healthy = await h.detail(alice, running.workspace_id);
  const services = (await h.request({ method: "GET", url: `/api/v1/workspaces/${running.workspace_id}/services`, token: alice.apiToken })).json();
  for (const [what, text] of [["the workspace error", failed.error.message], ["the service error in the detail", healthy.services.web.last_error], ["the service error in the list", services.services[0].last_error]] as const) {
    t.notMatch(text, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/, `${what} has no control characters`);
    t.match(text, "setup failed\n", `${what} keeps its newlines`);
    t.match(text, "\ttab kept", `${what} keeps tabs`);
    t.match(text, "✓ all good", `${what} keeps its printable text`);
  }
});

t.test("random bearer tokens cannot dodge the rate limit and make the server call GitHub without bound", async (t) => {
  const h = await harness(t, { server: { rateLimit: { max: 5, windowMs: 60_000 } } });
  const alice = await h.user("alice");
  const githubCalls = () => h.github.exchanges.filter((e) => e.path === "/user").length;
  const before = githubCalls();
  const statuses: number[] = [];
  for (let i = 0; i < 20; i++) {
    const res = await h.request({ method: "GET", url: "/api/v1/users/me", token: `gho_random${i}x${Math.random().toString(36).slice(2)}` });
    statuses.push(res.statusCode);
  }
  t.ok(statuses.filter((s) => s === 429).length >= 14, `unverified GitHub tokens share their client's budget (${statuses.join(",")})`);
  t.ok(githubCalls() - before <= 5, `at most the budget reached GitHub (${githubCalls() - before} calls)`);
  const own = await h.request({ method: "GET", url: "/api/v1/users/me", token: alice.apiToken });
  t.equal(own.statusCode, 200, "an API token from the same address keeps its own budget");
});
