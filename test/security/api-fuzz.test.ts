// Fuzzing every route of API_ROUTES through buildServer + inject: bodies, queries,
// headers and path parameters generated from each route's own schemas and corrupted
// (wrong types, missing and extra fields, hostile strings), malformed JSON and media
// types, oversized bodies, huge headers, path traversal and unicode tricks. Whatever is
// sent, the answer is a catalog error body with its code's status (or a success the
// route declares): never a 500, never a stack, never a crash. Seeded: the seed is
// printed, NEXUS_FUZZ_SEED replays a run.
import t from "tap";
import { request as httpRequest } from "node:http";
import { randomUUID } from "node:crypto";
import { API_ROUTES, type ApiRoute, type ApiRouteName } from "@nexus/core";
import { ADMIN_TOKEN, harness, type Harness, type RegisteredNode, type RegisteredUser } from "../../packages/server/test/harness.js";
import { CANARY_PREFIX } from "./helpers/hostile.js";
import { SchemaFuzzer, SeededRandom, allowedCodes, checkResponse, fuzzSeed, hostileStrings, type ResponseLike } from "./helpers/fuzz.js";

/** Generated requests per route; a new seed every run. NEXUS_FUZZ_CASES=N for a longer run. */
const CASES_PER_ROUTE = Number(process.env.NEXUS_FUZZ_CASES ?? 30);
const MIB = 1024 * 1024;
const ROUTES = Object.entries(API_ROUTES) as [ApiRouteName, ApiRoute][];

interface Actors {
  /** Never owns a workspace: every workspace route it calls ends before any stream opens. */
  alice: RegisteredUser;
  /** Creates workspaces (the create route's fuzz target). */
  carol: RegisteredUser;
  /** Calls the revocation route (its token is gone after the first call). */
  dave: RegisteredUser;
  node: RegisteredNode;
  joinToken: string;
}

async function actors(h: Harness): Promise<Actors> {
  const alice = await h.user("alice");
  const carol = await h.user("carol");
  const dave = await h.user("dave");
  const node = await h.node("fuzz-node");
  const joined = await h.request({ method: "POST", url: "/api/v1/nodes/tokens", token: ADMIN_TOKEN, body: {} });
  return { alice, carol, dave, node, joinToken: joined.json().token };
}

function tokenFor(route: ApiRoute, name: ApiRouteName, a: Actors): string | undefined {
  switch (route.auth) {
    case "none":
      return undefined;
    case "user":
      return name === "createWorkspace" ? a.carol.apiToken : name === "revokeCurrentToken" ? a.dave.apiToken : a.alice.apiToken;
    case "github":
      return a.alice.githubToken;
    case "join":
      return a.joinToken;
    case "node":
      return a.node.token;
    case "admin":
      return ADMIN_TOKEN;
  }
}

/** Path parameters that pass validation, so the fuzz reaches the query and body. */
function validParams(a: Actors): Record<string, string> {
  return { id: a.node.node_id, cid: "cmd_doesnotexist" };
}

function fillPath(route: ApiRoute, params: Record<string, string>): string {
  return route.path.replace(/:([A-Za-z]+)/g, (_, key: string) => params[key] ?? "x");
}

function queryString(query: unknown, name: ApiRouteName): string {
  const search = new URLSearchParams();
  if (query !== null && typeof query === "object") {
    for (const [key, value] of Object.entries(query as Record<string, unknown>)) {
      for (const item of Array.isArray(value) ? value : [value]) search.append(key, typeof item === "object" ? JSON.stringify(item) : String(item));
    }
  } else if (query !== undefined) search.append(String(query), "");
  // Long-polls must not hold the fuzzer: a missing or valid wait becomes 0 (the default is 25 s).
  if (name === "pollCommands" && search.getAll("wait").length <= 1 && /^\d*$/.test(search.get("wait") ?? "")) search.set("wait", "0");
  const text = search.toString();
  return text ? `?${text}` : "";
}

async function inject(h: Harness, init: { method: string; url: string; token?: string | undefined; headers?: Record<string, string>; payload?: string }): Promise<ResponseLike> {
  const res = await h.app.inject({
    method: init.method as "GET",
    url: init.url,
    headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...init.headers },
    ...(init.payload === undefined ? {} : { payload: init.payload }),
  });
  return { statusCode: res.statusCode, body: res.body, headers: res.headers };
}

t.test("API fuzz", async (t) => {
  const seed = fuzzSeed(t);
  const random = new SeededRandom(seed);
  const canary = `${CANARY_PREFIX}${randomUUID()}`;
  const strings = hostileStrings(canary);
  const fuzzer = new SchemaFuzzer(random, strings);
  const h = await harness(t);
  const a = await actors(h);
  let sent = 0;

  await t.test("every route: generated and corrupted bodies, queries and headers", async (t) => {
    for (const [name, route] of ROUTES) {
      const codes = allowedCodes(route);
      const bodySchema = route.body ? SchemaFuzzer.jsonSchema(route.body) : undefined;
      const querySchema = route.query ? SchemaFuzzer.jsonSchema(route.query) : undefined;
      const headerSchema = route.headers ? SchemaFuzzer.jsonSchema(route.headers) : undefined;
      let ok = 0;
      for (let i = 0; i < CASES_PER_ROUTE; i++) {
        const query = querySchema ? fuzzer.value(querySchema) : undefined;
        const headers: Record<string, string> = {};
        if (headerSchema) {
          const generated = fuzzer.value(headerSchema);
          if (generated && typeof generated === "object") {
            for (const [key, value] of Object.entries(generated)) if (/^[a-z-]+$/.test(key)) headers[key] = String(value).replace(/[^\x20-\x7e]/g, "?");
          }
        }
        const body = bodySchema ? JSON.stringify(fuzzer.value(bodySchema)) : undefined;
        const res = await inject(h, {
          method: route.method,
          url: fillPath(route, validParams(a)) + queryString(query, name),
          token: tokenFor(route, name, a),
          ...(body === undefined ? {} : { payload: body, headers: { ...headers, "content-type": "application/json" } }),
          ...(body === undefined && Object.keys(headers).length ? { headers } : {}),
        });
        sent++;
        if (checkResponse(t, `${name} #${i}`, res, codes)) ok++;
      }
      t.equal(ok, CASES_PER_ROUTE, `${name}: ${CASES_PER_ROUTE} generated requests answered within the contract`);
    }
  });

  await t.test("hostile path parameters, encoded and raw, on every route with parameters", async (t) => {
    // Fully encoded, and raw with only what cannot be sent escaped (a lone surrogate is sent as its UTF-8 replacement).
    const escape = (value: string) => Buffer.from(value, "utf8").toString("utf8").replace(/[^\x21-\x7e]|[?#%]/gu, (c) => Buffer.from(c, "utf8").toString("hex").replace(/../g, "%$&"));
    const encodings = (value: string) => [escape(value), value.replace(/[^\x21-\x7e]|[?#]/gu, (c) => Buffer.from(c, "utf8").toString("hex").replace(/../g, "%$&"))];
    for (const [name, route] of ROUTES) {
      if (!route.params) continue;
      let ok = 0;
      let total = 0;
      for (const value of strings) {
        for (const encoded of encodings(value)) {
          for (const key of [...route.path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!)) {
            const res = await inject(h, {
              method: route.method,
              url: fillPath(route, { ...validParams(a), [key]: encoded }) + (name === "pollCommands" ? "?wait=0" : ""),
              token: tokenFor(route, name, a),
              ...(route.body ? { payload: "{}", headers: { "content-type": "application/json" } } : {}),
            });
            total++;
            sent++;
            // A mangled path can land on another route or none: any catalog code is fine, a 2xx is not.
            if (checkResponse(t, `${name} ${key}=${JSON.stringify(value.slice(0, 40))}`, res) && res.statusCode >= 400) ok++;
            else if (res.statusCode < 400) t.fail(`${name} ${key}=${JSON.stringify(value.slice(0, 40))} answered ${res.statusCode}`);
          }
        }
      }
      t.equal(ok, total, `${name}: ${total} hostile parameters refused with catalog errors`);
    }
  });

  await t.test("path traversal and odd URLs stay inside the API", async (t) => {
    const urls = [
      "/api/v1/workspaces/../nodes",
      "/api/v1/workspaces/..%2fnodes",
      "/api/v1/workspaces/%2e%2e/nodes",
      "/api/v1/workspaces/%2e%2e%2f%2e%2e%2fnodes",
      "/api/v1/workspaces/..%252f..%252fnodes",
      "/api/v1/workspaces/a%2f..%2f..%2fmetrics",
      "/api/v1/workspaces/%E0%A4%A",
      "/api/v1/workspaces/%",
      "/api/v1/workspaces/%zz",
      "/api/v1/workspaces/%00",
      "/api/v1/workspaces/" + "a".repeat(5000),
      "/api/v1/nodes/" + "b".repeat(5000) + "/commands?wait=0",
      "/api/v1/../../../etc/passwd",
      "/api/v1/%2e%2e/%2e%2e/etc/passwd",
      "//api/v1/workspaces",
      "/api/v1//workspaces",
      "/api/v1/workspaces/",
      "/api/v1/workspaces?%E0%A4%A=1",
      "/api/v1/workspaces?limit=%E0%A4%A",
      "/api/v1/workspaces?limit=1&limit=2",
      "/api/v1/workspaces?limit[]=1",
      "/api/v1/workspaces?__proto__[admin]=1&constructor[prototype][x]=1",
      "/api/v1/workspaces?status=running%00",
      "/api/v1/workspaces?offset=-1",
      "/api/v1/workspaces?offset=99999999999999999999",
      "/API/V1/WORKSPACES",
      "/api/v1/workspaces;jsessionid=1",
      "/api/v1/workspaces#frag",
      "/api/v1/workspaces/nothing-here/logs?tail=1&service=../../../etc/passwd",
      "/api/v1/workspaces/nothing-here/logs?service=a%2F..%2Fb",
      "/api/v1/workspaces/nothing-here/logs?tail=-1&follow=yes",
      "/api/v1/nodes/tokens/../../workspaces",
      "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
      "/health/../api/v1/nodes",
    ];
    for (const url of urls) {
      for (const method of ["GET", "POST", "DELETE"]) {
        const res = await inject(h, { method, url, token: a.alice.apiToken, ...(method === "POST" ? { payload: "{}", headers: { "content-type": "application/json" } } : {}) });
        sent++;
        checkResponse(t, `${method} ${url.slice(0, 80)}`, res);
        t.notMatch(res.body, /root:x:0:0|"nodes":\[|nexus_http_requests/, `${method} ${url.slice(0, 60)} leaks nothing`);
      }
    }
  });

  await t.test("malformed JSON and media types on every route that takes a body", async (t) => {
    const deep = 20_000;
    const payloads: [string, string | undefined][] = [
      ["{not json", "application/json"],
      ["{", "application/json"],
      ["[", "application/json"],
      ["", "application/json"],
      ["null", "application/json"],
      ["1", "application/json"],
      ['"string"', "application/json"],
      ["[]", "application/json"],
      ["[{}]", "application/json"],
      ["\u0000", "application/json"],
      ["\uFEFF{}", "application/json"],
      ['{"a":1,"a":2}', "application/json"],
      ["1e999999", "application/json"],
      ['{"__proto__":{"admin":true}}', "application/json"],
      ['{"constructor":{"prototype":{"admin":true}}}', "application/json"],
      ['{"repo":{"owner":"a","name":"b","__proto__":{"x":1}}}', "application/json"],
      ['{"x":"\\ud800"}', "application/json"],
      [`${"[".repeat(deep)}${"]".repeat(deep)}`, "application/json"],
      [`${'{"a":'.repeat(deep)}1${"}".repeat(deep)}`, "application/json"],
      [`{"repo":{"owner":"a","name":"b"},"config":${'{"services":'.repeat(deep)}1${"}".repeat(deep)}}`, "application/json"],
      ["{}", "application/json; charset=utf-16"],
      ["{}", "application/json; charset=latin1"],
      ["{}", "application/jsonx"],
      ["{}", "text/plain"],
      ["a=1&b=2", "application/x-www-form-urlencoded"],
      ["--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--", "multipart/form-data; boundary=x"],
      ["{}", "application/xml"],
      ["{}", ""],
      ["{}", undefined],
    ];
    for (const [name, route] of ROUTES) {
      if (route.method === "GET") continue;
      let ok = 0;
      for (const [payload, type] of payloads) {
        const res = await inject(h, {
          method: route.method,
          url: fillPath(route, validParams(a)),
          token: tokenFor(route, name, a),
          payload,
          ...(type === undefined ? {} : { headers: { "content-type": type } }),
        });
        sent++;
        if (checkResponse(t, `${name} ${JSON.stringify(payload.slice(0, 30))} as ${type}`, res, allowedCodes(route))) ok++;
      }
      t.equal(ok, payloads.length, `${name}: ${payloads.length} malformed bodies answered within the contract`);
    }
  });

  await t.test("a body over 1 MiB → 413 invalid_request on every route that takes one, with or without a token", async (t) => {
    const big = JSON.stringify({ padding: "x".repeat(MIB + 16) });
    for (const [name, route] of ROUTES) {
      if (route.method === "GET") continue;
      for (const token of [tokenFor(route, name, a), undefined]) {
        const res = await inject(h, { method: route.method, url: fillPath(route, validParams(a)), token, payload: big, headers: { "content-type": "application/json" } });
        sent++;
        t.equal(res.statusCode, 413, `${name} ${token ? "with" : "without"} a token`);
        checkResponse(t, `${name} oversized`, res);
        t.equal(JSON.parse(res.body).error, "invalid_request");
      }
    }
  });

  await t.test("huge and hostile headers", async (t) => {
    const cases: [string, Record<string, string>][] = [
      ["a 200 KB bearer token", { authorization: `Bearer ${"a".repeat(200_000)}` }],
      ["a bearer of 8193 characters", { authorization: `Bearer nxs_${"a".repeat(8189)}` }],
      ["an empty bearer", { authorization: "Bearer " }],
      ["two bearers", { authorization: `Bearer ${a.alice.apiToken} Bearer ${a.alice.apiToken}` }],
      ["a bearer with a NUL", { authorization: `Bearer nxs_\u0000abc` }],
      ["Basic credentials", { authorization: `Basic ${Buffer.from("admin:admin").toString("base64")}` }],
      ["a 200 KB request id", { "x-request-id": `req_${"a".repeat(200_000)}` }],
      ["a request id with a newline", { "x-request-id": "req_a\nb" }],
      ["a huge idempotency key", { "idempotency-key": "k".repeat(100_000) }],
      ["a huge content-type", { "content-type": `application/json; ${"x=y; ".repeat(20_000)}` }],
      ["a huge accept", { accept: "text/html,".repeat(20_000) }],
      ["a huge last-event-id", { "last-event-id": "9".repeat(100_000) }],
      ["forwarded-for spoofing", { "x-forwarded-for": "127.0.0.1", "x-real-ip": "127.0.0.1", "x-original-url": "/api/v1/nodes" }],
    ];
    for (const [label, headers] of cases) {
      for (const [name, route] of ROUTES) {
        if (name === "workspaceEvents" || name === "pollCommands") continue;
        const res = await inject(h, {
          method: route.method,
          url: fillPath(route, validParams(a)),
          headers: { ...headers },
          ...(route.body ? { payload: "{}", headers: { "content-type": "application/json", ...headers } } : {}),
        });
        sent++;
        checkResponse(t, `${name} with ${label}`, res, allowedCodes(route));
        if (route.auth !== "none") t.ok(res.statusCode === 401 || res.statusCode === 400 || res.statusCode === 413, `${name} with ${label}: refused (${res.statusCode})`);
      }
    }
  });

  await t.test("names, ids, refs, branches, owners, URLs and providers: hostile strings are refused where the field does not allow them", async (t) => {
    const base = () => ({ repo: { owner: "octo", name: "shop" } });
    const fields: [string, (value: string) => Record<string, unknown>, RegExp][] = [
      ["workspace_name", (v) => ({ ...base(), workspace_name: v }), /^[a-z0-9][a-z0-9-]{0,62}$/],
      ["repo.owner", (v) => ({ repo: { owner: v, name: "shop" } }), /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/],
      ["repo.name", (v) => ({ repo: { owner: "octo", name: v } }), /^[A-Za-z0-9._-]{1,100}$/],
      ["repo.branch", (v) => ({ repo: { owner: "octo", name: "shop", branch: v } }), /^[^\x00-\x20\x7f~^:?*[\\]+$/],
      ["repo.url", (v) => ({ repo: { owner: "octo", name: "shop", url: v } }), /^https:\/\/github\.com\/[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/],
      ["repo.upstream.owner", (v) => ({ repo: { owner: "octo", name: "shop", upstream: { owner: v, name: "shop" } } }), /^[A-Za-z0-9-]{1,39}$/],
      ["provider", (v) => ({ ...base(), provider: v }), /^[a-z][a-z0-9-]*$/],
      ["image", (v) => ({ ...base(), image: v }), /^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/],
      ["config service name", (v) => ({ ...base(), config: { services: { [v]: { command: "true" } } } }), /^[A-Za-z0-9][A-Za-z0-9_.-]*$/],
      ["config env key", (v) => ({ ...base(), config: { env: { [v]: "1" } } }), /^[A-Za-z_][A-Za-z0-9_]*$/],
      ["config depends_on", (v) => ({ ...base(), config: { services: { a: { command: "true", depends_on: [v] } } } }), /^$/],
      ["config name", (v) => ({ ...base(), config: { name: v } }), /^[A-Za-z0-9][A-Za-z0-9_.-]*$/],
    ];
    const mallory = await h.user("mallory");
    let refused = 0;
    for (const [field, build, allowedShape] of fields) {
      for (const value of strings) {
        const res = await inject(h, {
          method: "POST",
          url: "/api/v1/workspaces/create-from-repo",
          token: mallory.apiToken,
          payload: JSON.stringify(build(value)),
          headers: { "content-type": "application/json" },
        });
        sent++;
        checkResponse(t, `create with ${field}=${JSON.stringify(value.slice(0, 40))}`, res, allowedCodes(API_ROUTES.createWorkspace));
        if (res.statusCode === 202) {
          // Accepted: the value must be one the field legitimately allows.
          t.match(value, allowedShape, `${field}=${JSON.stringify(value.slice(0, 40))} was accepted, and has an allowed shape`);
          t.notMatch(value, /[\x00-\x1f\x7f\u200b\u202e\ufeff]/, `${field}: accepted values have no control or invisible characters`);
        } else refused++;
      }
    }
    t.ok(refused > fields.length * 30, `most hostile values refused (${refused})`);
    const list = await h.request({ method: "GET", url: "/api/v1/workspaces?limit=200", token: mallory.apiToken });
    for (const w of list.json().workspaces as { workspace_name: string }[]) t.match(w.workspace_name, /^[a-z0-9][a-z0-9-]{0,62}$/, `stored name ${w.workspace_name} is a valid name`);
  });

  await t.test("after the fuzz: the server still answers, logged no error, and alice owns nothing", async (t) => {
    t.comment(`${sent} requests sent`);
    const health = await inject(h, { method: "GET", url: "/health" });
    t.equal(health.statusCode, 200);
    const errors = h.logs.lines().filter((line) => (line.level as number) >= 50);
    t.same(errors.map((line) => line.msg), [], "no error-level log line (no 500s, no crashes)");
    t.notMatch(h.logs.text(), /"stack"\s*:/, "no stack trace in the logs");
    const alice = await h.request({ method: "GET", url: "/api/v1/workspaces", token: a.alice.apiToken });
    t.equal(alice.json().total, 0);
    t.equal((await h.request({ method: "GET", url: "/api/v1/users/me", token: a.alice.apiToken })).statusCode, 200, "alice's token still works");
  });

  await t.test("over a real socket: huge headers get a catalog error body too", async (t) => {
    await h.app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = h.app.server.address() as { port: number };
    const send = (headers: Record<string, string>) =>
      new Promise<ResponseLike>((resolve, reject) => {
        const req = httpRequest({ host: "127.0.0.1", port, path: "/api/v1/workspaces", headers }, (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (body += chunk));
          res.on("end", () => resolve({ statusCode: res.statusCode ?? 0, body, headers: res.headers }));
        });
        req.on("error", reject);
        req.end();
      });
    const huge = await send({ "x-padding": "a".repeat(100_000) });
    t.equal(huge.statusCode, 431, "header fields too large");
    t.equal(JSON.parse(huge.body).error, "invalid_request");
    checkResponse(t, "100 KB header over a socket", huge);
    const after = await send({ authorization: `Bearer ${a.alice.apiToken}` });
    t.equal(after.statusCode, 200, "the server keeps serving");
    const badUrl = await send({ authorization: `Bearer ${a.alice.apiToken}`, "x-probe": "1" }).then(() =>
      new Promise<ResponseLike>((resolve, reject) => {
        const req = httpRequest({ host: "127.0.0.1", port, path: "/api/v1/workspaces/%E0%A4%A" }, (res) => {
          let body = "";
          res.on("data", (chunk: Buffer) => (body += chunk.toString()));
          res.on("end", () => resolve({ statusCode: res.statusCode ?? 0, body, headers: res.headers }));
        });
        req.on("error", reject);
        req.end();
      }),
    );
    checkResponse(t, "an undecodable URL over a socket", badUrl);
    t.equal(badUrl.statusCode, 400);
  });
});
