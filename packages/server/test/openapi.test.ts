// The OpenAPI document is generated from API_ROUTES, served without auth, and is a
// valid OpenAPI 3.1 description (checked by @readme/openapi-parser).
import t from "tap";
import { validate } from "@readme/openapi-parser";
import { API_ROUTES, ERROR_CATALOG, routeErrorCodes, type ApiRoute } from "@nexus/core";
import { buildOpenApiDocument } from "@nexus/server";
import { harness } from "./harness.js";

t.test("the served document is valid OpenAPI 3.1 and lists every route", async (t) => {
  const h = await harness(t);
  const res = await h.request({ method: "GET", url: "/api/v1/openapi.json" });
  t.equal(res.statusCode, 200);
  t.match(res.headers["content-type"], /application\/json/);
  const doc = res.json() as { openapi: string; paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>> };
  t.equal(doc.openapi, "3.1.0");
  const result = await validate(structuredClone(doc) as never);
  t.ok(result.valid, `valid: ${JSON.stringify((result as { errors?: unknown }).errors ?? [])}`);
  // The validator does catch mistakes of the kind a generator could make.
  const broken = structuredClone(doc) as { paths: Record<string, Record<string, { responses: unknown }>> };
  broken.paths["/health"]!.get!.responses = { 200: { content: {} } };
  t.notOk((await validate(broken as never)).valid, "a response without a description is refused");
  for (const [name, route] of Object.entries(API_ROUTES) as [string, ApiRoute][]) {
    const path = route.path.replace(/:([A-Za-z]+)/g, "{$1}");
    const op = doc.paths[path]?.[route.method.toLowerCase()];
    t.equal(op?.operationId, name, `${route.method} ${path} documented`);
    for (const status of Object.keys(route.responses)) t.ok(op?.responses[status], `${name} documents ${status}`);
    for (const code of routeErrorCodes(route)) t.ok(op?.responses[String(ERROR_CATALOG[code].http)], `${name} documents ${code}`);
  }
});

t.test("request schemas are the wire schemas (secrets as strings, query numbers as digits)", async (t) => {
  const doc = buildOpenApiDocument("1.2.3") as { info: { version: string }; paths: Record<string, any> };
  t.equal(doc.info.version, "1.2.3");
  const create = doc.paths["/api/v1/workspaces/create-from-repo"].post;
  const body = create.requestBody.content["application/json"].schema;
  t.equal(body.properties.clone_token.type, "string");
  t.same(body.required, ["repo"]);
  t.ok(create.parameters.some((p: { name: string; in: string }) => p.name === "idempotency-key" && p.in === "header"));
  const list = doc.paths["/api/v1/workspaces"].get;
  t.ok(list.parameters.some((p: { name: string; in: string }) => p.name === "limit" && p.in === "query"));
  const get = doc.paths["/api/v1/workspaces/{id}"].get;
  t.same(get.parameters.map((p: { name: string; in: string; required: boolean }) => [p.name, p.in, p.required]), [["id", "path", true]]);
  t.same(get.security, [{ bearer: [] }]);
  t.same(doc.paths["/health"].get.security, []);
  t.notOk(JSON.stringify(doc).includes("$defs"), "no schema-local $refs");
});

t.test("every response carries X-Request-Id; a well-formed incoming one is echoed", async (t) => {
  const h = await harness(t);
  const fresh = await h.request({ method: "GET", url: "/health" });
  t.match(fresh.headers["x-request-id"], /^req_[A-Za-z0-9_-]+$/);
  const echoed = await h.request({ method: "GET", url: "/api/v1/health", headers: { "x-request-id": "req_client-chosen_1" } });
  t.equal(echoed.headers["x-request-id"], "req_client-chosen_1");
  const refused = await h.request({ method: "GET", url: "/health", headers: { "x-request-id": "not an id\u0001" } });
  t.not(refused.headers["x-request-id"], "not an id\u0001");
  t.match(refused.headers["x-request-id"], /^req_/);
  const missing = await h.request({ method: "GET", url: "/nope", headers: { "x-request-id": "req_abc" } });
  t.equal(missing.statusCode, 404);
  t.equal(missing.headers["x-request-id"], "req_abc");
  t.equal(missing.json().request_id, "req_abc");
});
