// /api/v1/openapi.json, generated from API_ROUTES: the same zod schemas the handlers
// validate with (SPEC §5). Schemas are converted in "input" mode, which is the wire form
// of requests and responses alike (routes.ts explains why).
import { z } from "zod";
import { API_ERROR_SCHEMA, API_ROUTES, ERROR_CATALOG, routeErrorCodes, type ApiRoute, type ErrorCode } from "@nexus/core";

type JsonSchema = Record<string, unknown>;

const EVENT_SCHEMA_NAME = "WorkspaceStreamEvent";

/** Statuses fastify itself may answer with, besides the catalog's. */
const BODY_TOO_LARGE = 413;

function jsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  return rest;
}

/** Path, query or header parameters from an object schema's properties. */
function parameters(schema: z.ZodType | undefined, location: "path" | "query" | "header"): JsonSchema[] {
  if (!schema) return [];
  const object = jsonSchema(schema) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(object.properties ?? {}).map(([name, property]) => {
    const { description, ...propertySchema } = property;
    return {
      name,
      in: location,
      required: location === "path" || (object.required ?? []).includes(name),
      schema: propertySchema,
      ...(typeof description === "string" ? { description } : {}),
    };
  });
}

function successContent(route: ApiRoute, schema: z.ZodType): JsonSchema {
  switch (route.produces ?? "application/json") {
    case "text/plain":
      return { "text/plain": { schema: { type: "string" } } };
    case "text/event-stream":
      // OpenAPI 3.1 has no way to type the events of a stream: the event schema is a component.
      return {
        "text/event-stream": {
          schema: { type: "string", description: `Server-Sent Events; each event's \`data\` is one JSON object of components/schemas/${EVENT_SCHEMA_NAME}` },
          example: "event: status\ndata: {\"type\":\"status\",...}\n\n",
        },
      };
    default:
      return { "application/json": { schema: jsonSchema(schema) } };
  }
}

function errorResponses(route: ApiRoute): Record<string, JsonSchema> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of routeErrorCodes(route)) {
    const status = ERROR_CATALOG[code].http;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  if (route.body) byStatus.set(BODY_TOO_LARGE, ["invalid_request"]);
  const responses: Record<string, JsonSchema> = {};
  for (const [status, codes] of [...byStatus.entries()].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: `Error: ${codes.join(", ")}${status === BODY_TOO_LARGE ? " (the body is larger than 1 MiB)" : ""}`,
      ...(status === 429 ? { headers: { "Retry-After": { description: "Seconds to wait", schema: { type: "integer" } } } } : {}),
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    };
  }
  return responses;
}

function operation(name: string, route: ApiRoute): JsonSchema {
  const body = route.body;
  return {
    operationId: name,
    summary: route.summary,
    tags: [route.path.split("/")[3] ?? "server"],
    ...(route.auth === "none" ? { security: [] } : { security: [{ bearer: [] }], description: `Auth: ${route.auth} token.` }),
    parameters: [...parameters(route.params, "path"), ...parameters(route.query, "query"), ...parameters(route.headers, "header")],
    ...(body
      ? { requestBody: { required: !body.safeParse(undefined).success, content: { "application/json": { schema: jsonSchema(body) } } } }
      : {}),
    responses: {
      ...Object.fromEntries(
        Object.entries(route.responses).map(([status, schema]) => [
          status,
          {
            description: "Success",
            headers: { "X-Request-Id": { $ref: "#/components/headers/RequestId" } },
            content: successContent(route, schema),
          },
        ]),
      ),
      ...errorResponses(route),
    },
  };
}

export function buildOpenApiDocument(version: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const [name, route] of Object.entries(API_ROUTES) as [string, ApiRoute][]) {
    const path = route.path.replace(/:([A-Za-z]+)/g, "{$1}");
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation(name, route) };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "nexus coordination server",
      version,
      description: "Git repository → running, isolated development workspace. Every error has the body `Error` and the status of its code.",
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
    },
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    servers: [{ url: "/" }],
    paths,
    components: {
      schemas: { Error: jsonSchema(API_ERROR_SCHEMA), [EVENT_SCHEMA_NAME]: jsonSchema(API_ROUTES.workspaceEvents.responses[200]) },
      headers: { RequestId: { description: "The request's id (`req_…`); errors repeat it as request_id", schema: { type: "string" } } },
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "An API token (nxs_…), a GitHub token, a join token (nxj_…), a node token (nxn_…) or the admin token" },
      },
    },
  };
}
