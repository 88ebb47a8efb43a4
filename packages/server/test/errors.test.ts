// Every failure has the SPEC §5 error body and the status of its catalog code.
import t, { type Test } from "tap";
import { ErrorBodySchema } from "@nexus/core";
import { harness } from "./harness.js";

function errorOf(res: { statusCode: number; json(): unknown; headers: Record<string, unknown> }, tt: Test = t) {
  const body = ErrorBodySchema.parse(res.json());
  tt.equal(body.request_id, res.headers["x-request-id"], "request_id repeats X-Request-Id");
  return body;
}

t.test("unknown route → 404 not_found", async (t) => {
  const h = await harness(t);
  const res = await h.request({ method: "GET", url: "/api/v1/nothing-here?x=1" });
  t.equal(res.statusCode, 404);
  const body = errorOf(res);
  t.equal(body.error, "not_found");
  t.match(body.message, "GET /api/v1/nothing-here");
});

t.test("validation failures → 400 invalid_request with every issue's path", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const res = await h.request({
    method: "POST",
    url: "/api/v1/workspaces/create-from-repo",
    token: alice.apiToken,
    body: { workspace_name: "Bad_Name", repo: { owner: "-x", name: "ok", branch: "a..b" }, extra: 1 },
  });
  t.equal(res.statusCode, 400);
  const body = errorOf(res);
  t.equal(body.error, "invalid_request");
  const paths = (body.details.issues as { path: string }[]).map((issue) => issue.path).sort();
  t.same(paths, ["(root)", "repo.branch", "repo.owner", "workspace_name"]);
  t.equal(body.details.part, "body");

  const query = await h.request({ method: "GET", url: "/api/v1/workspaces?limit=0&status=sleeping", token: alice.apiToken });
  t.equal(query.statusCode, 400);
  t.same((errorOf(query).details.issues as { path: string }[]).map((issue) => issue.path).sort(), ["limit", "status"]);

  const param = await h.request({ method: "GET", url: "/api/v1/workspaces/Not_A_Name", token: alice.apiToken });
  t.equal(param.statusCode, 400);
  t.equal(errorOf(param).details.part, "params");

  const header = await h.request({
    method: "POST",
    url: "/api/v1/workspaces/create-from-repo",
    token: alice.apiToken,
    headers: { "idempotency-key": "has spaces" },
    body: { repo: { owner: "octocat", name: "hello" } },
  });
  t.equal(header.statusCode, 400);
  t.equal(errorOf(header).details.part, "headers");
});

t.test("malformed JSON → 400 invalid_request", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const res = await h.app.inject({
    method: "POST",
    url: "/api/v1/workspaces/create-from-repo",
    headers: { authorization: `Bearer ${alice.apiToken}`, "content-type": "application/json" },
    payload: "{not json",
  });
  t.equal(res.statusCode, 400);
  t.equal(errorOf(res).error, "invalid_request");
});

t.test("a body over 1 MiB → 413 invalid_request", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  const res = await h.request({
    method: "POST",
    url: "/api/v1/workspaces/create-from-repo",
    token: alice.apiToken,
    body: { repo: { owner: "octocat", name: "hello" }, config: { padding: "x".repeat(1024 * 1024) } },
  });
  t.equal(res.statusCode, 413);
  const body = errorOf(res);
  t.equal(body.error, "invalid_request");
  t.equal(body.details.limit_bytes, 1024 * 1024);
});

t.test("rate limit per token → 429 rate_limited with Retry-After", async (t) => {
  const h = await harness(t, { server: { rateLimit: { max: 3, windowMs: 60_000 } } });
  const alice = await h.user("alice");
  const bob = await h.user("bob");
  for (let i = 0; i < 3; i++) t.equal((await h.request({ method: "GET", url: "/api/v1/users/me", token: alice.apiToken })).statusCode, 200);
  const limited = await h.request({ method: "GET", url: "/api/v1/users/me", token: alice.apiToken });
  t.equal(limited.statusCode, 429);
  const body = errorOf(limited);
  t.equal(body.error, "rate_limited");
  const retryAfter = Number(limited.headers["retry-after"]);
  t.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${limited.headers["retry-after"]}`);
  t.equal(body.details.retry_after_seconds, retryAfter);
  // Another token has its own budget.
  t.equal((await h.request({ method: "GET", url: "/api/v1/users/me", token: bob.apiToken })).statusCode, 200);
  // A node token has ten times the budget: agents report every phase and service change.
  const node = await h.node("node-1");
  for (let i = 0; i < 29; i++) {
    const res = await h.request({ method: "GET", url: `/api/v1/nodes/${node.node_id}/commands?wait=0`, token: node.token });
    if (res.statusCode !== 200) t.fail(`poll ${i}: ${res.statusCode}`);
  }
  t.equal((await h.request({ method: "GET", url: `/api/v1/nodes/${node.node_id}/commands?wait=0`, token: node.token })).statusCode, 200, "the 30th request");
  t.equal((await h.request({ method: "GET", url: `/api/v1/nodes/${node.node_id}/commands?wait=0`, token: node.token })).statusCode, 429, "the 31st");
});

t.test("an unexpected failure → 500 internal_error without its message", async (t) => {
  const h = await harness(t);
  const alice = await h.user("alice");
  h.store.workspaces.list = async () => {
    throw new Error("disk on fire at /var/secret/path");
  };
  const res = await h.request({ method: "GET", url: "/api/v1/workspaces", token: alice.apiToken });
  t.equal(res.statusCode, 500);
  const body = errorOf(res);
  t.equal(body.error, "internal_error");
  t.notMatch(res.body, "disk on fire");
  t.match(h.logs.text(), "disk on fire", "the cause is logged for the operator");
});
