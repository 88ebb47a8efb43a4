// The octokit-based client against the emulator: identity, retries, rate limits, error mapping, Enterprise.
import t from "tap";
import { Secret } from "@nexus/core";
import { createGithubClient, githubApiUrlForHost, githubEndpoints } from "@nexus/github";
import { rejection, world } from "./helpers.js";

t.test("GET /user returns the identity and the token's scopes", async (t) => {
  const { client, gh } = await world(t);
  const me = await client.getAuthenticatedUser();
  t.same(me, { login: "octocat", id: gh.user("octocat")!.id, name: "The Octocat", scopes: ["repo", "read:user", "admin:public_key"] });
  const seen = gh.exchanges.at(-1)!;
  t.equal(seen.path, "/user");
  t.equal(seen.status, 200);
});

t.test("a bad token is auth_required", async (t) => {
  const { gh } = await world(t);
  const client = createGithubClient({ apiUrl: gh.apiUrl, token: new Secret("ghp_not_a_real_token"), backoffUnitMs: 1 });
  const error = await rejection(t, client.getAuthenticatedUser());
  t.equal(error.code, "auth_required");
  t.match(error.message, /Bad credentials/);
  t.notMatch(error.message, /ghp_not_a_real_token/, "the token is not echoed");
  t.equal(gh.exchanges.length, 1, "401 is not retried");
});

t.test("5xx answers are retried with backoff, then succeed", async (t) => {
  const { client, gh } = await world(t);
  gh.failNext({ method: "GET", path: "/user" }, { kind: "status", status: 502 }, 2);
  const me = await client.getAuthenticatedUser();
  t.equal(me.login, "octocat");
  t.same(gh.exchanges.map((e) => e.status), [502, 502, 200]);
});

t.test("persistent 5xx gives up after the configured retries", async (t) => {
  const { clientWith, gh } = await world(t);
  gh.failNext({ path: "/user" }, { kind: "status", status: 503 }, 10);
  const error = await rejection(t, clientWith({ retries: 2 }).getAuthenticatedUser());
  t.equal(error.code, "internal_error");
  t.match(error.message, /GitHub answered 503/);
  t.equal(gh.exchanges.length, 3, "one try and two retries");
});

t.test("a secondary rate limit is waited out (Retry-After) and retried", async (t) => {
  const { client, gh } = await world(t);
  gh.failNext({ path: "/user" }, { kind: "secondary-rate-limit", retryAfterSeconds: 1 });
  const me = await client.getAuthenticatedUser();
  t.equal(me.login, "octocat");
  t.same(gh.exchanges.map((e) => e.status), [403, 200]);
});

t.test("a secondary rate limit longer than allowed is reported, not slept through", async (t) => {
  const { clientWith, gh } = await world(t);
  gh.failNext({ path: "/user" }, { kind: "secondary-rate-limit", retryAfterSeconds: 120 });
  const error = await rejection(t, clientWith({ maxRetryAfterSeconds: 60 }).getAuthenticatedUser());
  t.equal(error.code, "rate_limited");
  t.equal(error.details.kind, "secondary");
  t.equal(error.details.retry_after_seconds, 120);
});

for (const status of [403, 429] as const) {
  t.test(`the primary rate limit (${status}) is rate_limited with the reset time, without retrying`, async (t) => {
    const { client, gh } = await world(t);
    const resetAt = new Date(Math.ceil((Date.now() + 1800_000) / 1000) * 1000);
    gh.setRateLimit({ resetAt, status });
    const error = await rejection(t, client.getAuthenticatedUser());
    t.equal(error.code, "rate_limited");
    t.equal(error.details.reset_at, resetAt.toISOString());
    t.equal(error.details.kind, "primary");
    t.ok(typeof error.details.retry_after_seconds === "number" && error.details.retry_after_seconds > 1700, "seconds until the reset");
    t.equal(error.details.status, status);
    t.match(error.message, /rate limit exceeded/);
    t.match(error.hint, resetAt.toISOString());
    t.equal(gh.exchanges.length, 1, "never retried");
  });
}

t.test("a missing repository is repo_not_found; findRepository answers null", async (t) => {
  const { client } = await world(t);
  const error = await rejection(t, client.getRepository("octocat", "nope"));
  t.equal(error.code, "repo_not_found");
  t.same({ owner: error.details.owner, name: error.details.name }, { owner: "octocat", name: "nope" });
  t.equal(await client.findRepository("octocat", "nope"), null);
});

t.test("a private repository without access is repo_not_found", async (t) => {
  const { client, gh } = await world(t);
  gh.addRepo({ owner: "acme", name: "secret", private: true });
  t.equal((await rejection(t, client.getRepository("acme", "secret"))).code, "repo_not_found");
});

t.test("an unreachable API is reported with its URL after retries", async (t) => {
  const client = createGithubClient({ apiUrl: "http://127.0.0.1:9", token: new Secret("x"), backoffUnitMs: 1, retries: 1 });
  const error = await rejection(t, client.getAuthenticatedUser());
  t.equal(error.code, "internal_error");
  t.match(error.message, /cannot be reached/);
  t.match(error.message, "http://127.0.0.1:9");
});

t.test("an aborted call rejects with the abort reason", async (t) => {
  const { client } = await world(t);
  const controller = new AbortController();
  controller.abort(new Error("cancelled by test"));
  await t.rejects(client.getAuthenticatedUser({ signal: controller.signal }), /cancelled by test/);
});

t.test("GitHub Enterprise: the API lives under https://HOST/api/v3", async (t) => {
  t.same(githubEndpoints({ apiUrl: "https://ghe.example.com/api/v3" }), {
    apiUrl: "https://ghe.example.com/api/v3",
    webUrl: "https://ghe.example.com",
    host: "ghe.example.com",
    hostname: "ghe.example.com",
  });
  t.same(githubEndpoints({}), { apiUrl: "https://api.github.com", webUrl: "https://github.com", host: "github.com", hostname: "github.com" });
  t.equal(githubEndpoints({ env: { NEXUS_GITHUB_API_URL: "https://api.octo.ghe.com" } }).webUrl, "https://octo.ghe.com");
  t.equal(githubEndpoints({ env: { NEXUS_GITHUB_API_URL: "https://ghe.example.com/api/v3/" } }).apiUrl, "https://ghe.example.com/api/v3");
  t.equal(githubApiUrlForHost("github.com"), "https://api.github.com");
  t.equal(githubApiUrlForHost("ghe.example.com"), "https://ghe.example.com/api/v3");
  t.throws(() => githubEndpoints({ apiUrl: "http://ghe.example.com/api/v3" }), { code: "invalid_config" }, "plain http only to loopback");
  t.throws(() => githubEndpoints({ apiUrl: "https://user:pw@ghe.example.com/api/v3" }), { code: "invalid_config" });

  // The emulator mounted like Enterprise Server: requests go to /api/v3/…
  const { client, gh } = await world(t, { apiPrefix: "/api/v3" });
  t.match(gh.apiUrl, /\/api\/v3$/);
  t.equal(client.endpoints.webUrl, gh.url);
  t.equal((await client.getAuthenticatedUser()).login, "octocat");
  const wrong = createGithubClient({ apiUrl: gh.url, token: new Secret("x"), backoffUnitMs: 1 });
  t.equal((await rejection(t, wrong.getAuthenticatedUser())).code, "not_found", "the root is not the API on Enterprise");
});
