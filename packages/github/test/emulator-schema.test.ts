// Every response the emulator gives — successes and each failure mode — validated against
// GitHub's published OpenAPI description (@octokit/openapi), and every request body our
// client sends against the operation's request schema. Keeps the emulator honest.
import t from "tap";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { Secret } from "@nexus/core";
import { createGithubClient, resolveRepository, uploadSshKey, tokenFromDeviceFlow, githubEndpoints } from "@nexus/github";
import { startGithubEmulator, type RecordedExchange } from "@nexus/github/testing";

type Schema = Record<string, unknown>;
interface Operation {
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}

const require = createRequire(import.meta.url);
const spec = JSON.parse(readFileSync(require.resolve("@octokit/openapi/generated/api.github.com.deref.json"), "utf8")) as {
  paths: Record<string, Record<string, Operation>>;
};

/** OpenAPI 3.0 `nullable: true` → JSON Schema: `null` joins the type (or enum), or an anyOf when there is no type. */
function openApiToJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(openApiToJsonSchema);
  if (typeof node !== "object" || node === null) return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    // `properties` maps names to schemas: a property may itself be called "nullable".
    out[key] = key === "properties" || key === "example" || key === "examples" ? (key === "properties" ? mapValues(value as Schema) : value) : openApiToJsonSchema(value);
  }
  if (out.nullable === true) {
    delete out.nullable;
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    if (typeof out.type === "string") return { ...out, type: [out.type, "null"] };
    return { anyOf: [out, { type: "null" }] };
  }
  delete out.nullable;
  return out;
}

function mapValues(properties: Schema): Schema {
  return Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, openApiToJsonSchema(v)]));
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
addFormats.default(ajv);
const compiled = new Map<string, ValidateFunction>();

function validatorFor(key: string, schema: Schema): ValidateFunction {
  let fn = compiled.get(key);
  if (!fn) {
    fn = ajv.compile(openApiToJsonSchema(schema) as Schema);
    compiled.set(key, fn);
  }
  return fn;
}

const basicError = spec.paths["/user"]!.get!.responses["401"]!.content!["application/json"]!.schema!;

/** The schema GitHub documents for this response; error statuses an operation does not list answer with Basic Error. */
function responseSchema(exchange: RecordedExchange): { key: string; schema: Schema } | undefined {
  const operation = exchange.operation ? spec.paths[exchange.operation]?.[exchange.method.toLowerCase()] : undefined;
  const documented = operation?.responses[String(exchange.status)]?.content?.["application/json"]?.schema;
  if (documented) return { key: `${exchange.method} ${exchange.operation} ${exchange.status}`, schema: documented };
  if (exchange.status >= 400) return { key: "basic-error", schema: basicError };
  return undefined;
}

t.test("every emulator response matches GitHub's OpenAPI description", async (t) => {
  const gh = await startGithubEmulator();
  t.teardown(() => gh.close());
  gh.addUser("octocat", { name: "The Octocat", email: "octocat@example.com" });
  gh.addUser("hubot", { name: null });
  gh.addOrg("acme");
  const token = gh.issueToken("octocat");
  const weakToken = gh.issueToken("octocat", { scopes: ["read:user"] });
  const client = createGithubClient({ apiUrl: gh.apiUrl, token: new Secret(token), backoffUnitMs: 1, writeSpacingMs: 0 });
  const weak = createGithubClient({ apiUrl: gh.apiUrl, token: new Secret(weakToken), backoffUnitMs: 1, retries: 0, writeSpacingMs: 0 });
  const anonymous = createGithubClient({ apiUrl: gh.apiUrl, backoffUnitMs: 1, retries: 0, writeSpacingMs: 0 });
  const bad = createGithubClient({ apiUrl: gh.apiUrl, token: new Secret("ghp_bad"), backoffUnitMs: 1, writeSpacingMs: 0 });
  const ignore = () => undefined;

  gh.addRepo({ owner: "octocat", name: "hello", description: "mine" });
  gh.addRepo({ owner: "acme", name: "app", branches: ["main", "dev"] });
  gh.addRepo({ owner: "acme", name: "empty", size: 0 });
  gh.addRepo({ owner: "hubot", name: "private", private: true, collaborators: { octocat: "push" } });
  gh.forkDelay = 1;

  // users and keys
  await client.getAuthenticatedUser();
  await bad.getAuthenticatedUser().catch(ignore);
  await anonymous.getAuthenticatedUser().catch(ignore);
  await client.listSshKeys();
  for (let i = 0; i < 3; i++) gh.addKey("octocat", `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${String(i).padStart(43, "A")}`, `key ${i}`);
  await createGithubClient({ apiUrl: gh.apiUrl, token: new Secret(token) }).octokit.request("GET /user/keys", { per_page: 2 });
  await client.listSshKeys();
  const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH8kqgbyHYz0TeQ5SWIlDcQqwl8Jv+e6YBmlLkRsOq2e test@host";
  await uploadSshKey(client, key, "nexus test");
  await client.createSshKey({ title: "again", key }).catch(ignore);
  await client.octokit.request("POST /user/keys", { key: "not a key" }).catch(ignore);
  await weak.listSshKeys().catch(ignore);
  await weak.createSshKey({ title: "x", key }).catch(ignore);

  // repositories, forks, refs
  await client.getRepository("octocat", "hello");
  await client.getRepository("acme", "app");
  await client.getRepository("hubot", "private");
  await client.getRepository("acme", "missing").catch(ignore);
  await anonymous.getRepository("acme", "app");
  await resolveRepository(client, { owner: "acme", name: "app" }, "octocat", { forkPolling: { delayMs: 1 } });
  await client.getRepository("octocat", "app");
  await client.createFork("acme", "app");
  await client.createFork("acme", "missing").catch(ignore);
  await client.createFork("octocat", "hello").catch(ignore);
  await anonymous.createFork("acme", "app").catch(ignore);
  await client.branchState("acme", "app", "dev");
  await client.branchState("acme", "app", "nope");
  await client.branchState("acme", "empty", "main");

  // failure modes
  gh.failNext({ path: "/user" }, { kind: "status", status: 500 });
  gh.failNext({ path: "/user" }, { kind: "status", status: 502 });
  gh.failNext({ path: "/user" }, { kind: "secondary-rate-limit", retryAfterSeconds: 1 });
  await client.getAuthenticatedUser();
  gh.setRateLimit({ resetAt: new Date(Date.now() + 60_000) });
  await client.getAuthenticatedUser().catch(ignore);
  await anonymous.getRepository("acme", "app").catch(ignore);
  gh.setRateLimit({ resetAt: new Date(Date.now() + 60_000), status: 429 });
  await client.getRepository("acme", "app").catch(ignore);
  gh.setRateLimit(null);
  await client.octokit.request("GET /nope").catch(ignore);

  const api = gh.exchanges.filter((e) => e.plane === "api");
  const statuses = new Set(api.map((e) => `${e.method} ${e.operation ?? e.path} ${e.status}`));
  for (const expected of [
    "GET /user 200", "GET /user 401", "GET /user 500", "GET /user 502", "GET /user 403",
    "GET /user/keys 200", "GET /user/keys 404", "POST /user/keys 201", "POST /user/keys 422", "POST /user/keys 404",
    "GET /repos/{owner}/{repo} 200", "GET /repos/{owner}/{repo} 404", "GET /repos/{owner}/{repo} 403", "GET /repos/{owner}/{repo} 429",
    "POST /repos/{owner}/{repo}/forks 202", "POST /repos/{owner}/{repo}/forks 404", "POST /repos/{owner}/{repo}/forks 422", "POST /repos/{owner}/{repo}/forks 401",
    "GET /repos/{owner}/{repo}/git/ref/{ref} 200", "GET /repos/{owner}/{repo}/git/ref/{ref} 404", "GET /repos/{owner}/{repo}/git/ref/{ref} 409",
  ]) {
    t.ok(statuses.has(expected), `exercised ${expected}`);
  }

  let checked = 0;
  for (const exchange of api) {
    const found = responseSchema(exchange);
    if (!found) {
      t.fail(`no documented schema for ${exchange.method} ${exchange.operation ?? exchange.path} ${exchange.status}`);
      continue;
    }
    const validate = validatorFor(found.key, found.schema);
    const ok = validate(exchange.responseBody);
    t.ok(ok, `${exchange.method} ${exchange.path} ${exchange.status} matches ${found.key}`, ok ? {} : { errors: validate.errors?.slice(0, 5) });
    checked++;
    if (exchange.requestBody !== undefined && exchange.operation) {
      const requestSchema = spec.paths[exchange.operation]?.[exchange.method.toLowerCase()]?.requestBody?.content?.["application/json"]?.schema;
      if (requestSchema && exchange.status < 400) {
        const validateRequest = validatorFor(`request ${exchange.method} ${exchange.operation}`, requestSchema);
        t.ok(validateRequest(exchange.requestBody), `request body of ${exchange.method} ${exchange.path} matches the description`, { errors: validateRequest.errors?.slice(0, 5) });
      }
    }
  }
  t.ok(checked >= 30, `validated ${checked} responses`);

  // The responses carry GitHub's rate-limit and request-id headers.
  const sample = api.find((e) => e.status === 200)!;
  for (const header of ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-ratelimit-used", "x-ratelimit-resource", "x-github-request-id"]) {
    t.ok(sample.headers[header], `${header} present`);
  }
});

t.test("the validator catches a body GitHub would never send", async (t) => {
  const schema = spec.paths["/user/keys"]!.post!.responses["201"]!.content!["application/json"]!.schema!;
  const validate = validatorFor("POST /user/keys 201", schema);
  t.notOk(validate({ id: 1, key: "ssh-ed25519 AAAA" }), "missing required fields are refused");
  t.notOk(validate({ key: "k", id: "1", url: "u", title: "t", created_at: "2020-01-01T00:00:00Z", verified: false, read_only: false }), "a string id is refused");
  const user = spec.paths["/user"]!.get!.responses["200"]!.content!["application/json"]!.schema!;
  const validateUser = validatorFor("GET /user 200", user);
  t.notOk(validateUser({ login: "x" }), "a partial user is refused");
});

// The device-flow endpoints live on the web host and are not in the REST description:
// their documented fields are checked here instead.
t.test("device-flow responses have GitHub's documented fields", async (t) => {
  const gh = await startGithubEmulator();
  t.teardown(() => gh.close());
  gh.addUser("octocat");
  gh.configureDeviceFlow({ clientId: "Iv1.testclient", login: "octocat", pendingPolls: 2 });
  const { token } = await tokenFromDeviceFlow({ endpoints: githubEndpoints({ apiUrl: gh.apiUrl }), clientId: "Iv1.testclient", onDeviceCode: () => undefined });
  t.ok(token.reveal().startsWith("gho_"));
  const web = gh.exchanges.filter((e) => e.plane === "web");
  const code = web.find((e) => e.path === "/login/device/code")!.responseBody as Record<string, unknown>;
  t.match(code, { device_code: String, user_code: /^[A-Z]{4}-[A-Z]{4}$/, verification_uri: String, expires_in: Number, interval: Number });
  const polls = web.filter((e) => e.path === "/login/oauth/access_token").map((e) => e.responseBody as Record<string, unknown>);
  t.equal(polls.length, 3, "two pending polls, then the token");
  t.match(polls[0], { error: "authorization_pending", error_description: String, error_uri: String });
  t.match(polls[2], { access_token: String, token_type: "bearer", scope: "repo,read:user,admin:public_key" });
  t.same(web.find((e) => e.path === "/login/device/code")!.requestBody, { client_id: "Iv1.testclient", scope: "repo read:user admin:public_key" });
});
