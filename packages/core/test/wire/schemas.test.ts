import t from "tap";
import { inspect } from "node:util";
import { z } from "zod";
import {
  API_ROUTES,
  AgentCommandSchema,
  CommandResultBodySchema,
  CreateNodeTokenBodySchema,
  CreateWorkspaceBodySchema,
  CreateWorkspaceResponseSchema,
  DeleteWorkspaceQuerySchema,
  ErrorBodySchema,
  HealthResponseSchema,
  ListWorkspacesQuerySchema,
  ListWorkspacesResponseSchema,
  LogsQuerySchema,
  NodeEventsBodySchema,
  PollCommandsQuerySchema,
  PollCommandsResponseSchema,
  RegisterGithubBodySchema,
  RegisterNodeBodySchema,
  Secret,
  WorkspaceDetailSchema,
  WorkspaceParamsSchema,
  WorkspaceStreamEventSchema,
  encodeWorkspaceStreamEvent,
  routeErrorCodes,
  workspaceSpecFromCreateCommand,
} from "@nexus/core";
import { ed25519PublicKey } from "./keys.js";

const now = "2025-03-01T12:00:00.000Z";

t.test("health: the SPEC shape", async (t) => {
  const body = { status: "ok", version: "0.1.0", uptime_seconds: 12.5, nodes: { "node-1": { status: "online", last_heartbeat: now, workspaces: 3 } } };
  t.same(HealthResponseSchema.parse(body), body);
  t.notOk(HealthResponseSchema.safeParse({ ...body, nodes: { n: { status: "sleeping", last_heartbeat: null, workspaces: 0 } } }).success);
});

t.test("error body", async (t) => {
  const body = { error: "workspace_not_found", message: "no workspace named app", details: {}, hint: "Run `nexus workspace list`.", request_id: "req_01HZY" };
  t.same(ErrorBodySchema.parse(body), body);
  t.ok(ErrorBodySchema.safeParse({ ...body, hint: undefined }).success, "hint is optional");
  t.notOk(ErrorBodySchema.safeParse({ ...body, error: "no_such_code" }).success, "codes come from the catalog");
  t.notOk(ErrorBodySchema.safeParse({ ...body, request_id: "42" }).success, "request ids are req_…");
});

t.test("register-github body", async (t) => {
  const key = ed25519PublicKey();
  const parsed = RegisterGithubBodySchema.parse({ github_username: "octocat", github_id: 583231, ssh_pubkey: `${key}\n` });
  t.equal(parsed.ssh_pubkey, key, "a trailing newline from the key file is trimmed");
  t.notOk(RegisterGithubBodySchema.safeParse({ github_username: "-x", github_id: 1, ssh_pubkey: key }).success);
  t.notOk(RegisterGithubBodySchema.safeParse({ github_username: "octocat", github_id: 0, ssh_pubkey: key }).success);
  t.notOk(RegisterGithubBodySchema.safeParse({ github_username: "octocat", github_id: 1, ssh_pubkey: `${key}\n${key}` }).success, "two keys smuggled in one");
  t.notOk(RegisterGithubBodySchema.safeParse({ github_username: "octocat", github_id: 1, ssh_pubkey: key, admin: true }).success, "unknown fields are refused");
});

t.test("create-from-repo body: names, branches, URLs; clone_token decodes to a Secret", async (t) => {
  const body = {
    workspace_name: "hello",
    repo: { owner: "octocat", name: "hello-world", branch: "feature/x", url: "https://github.com/octocat/hello-world.git", is_fork: true, upstream: { owner: "github", name: "hello-world" } },
    provider: "lxc",
    image: "images:debian/12",
    config: { version: 1, services: { web: { command: "npm run dev", port: 3000 } } },
    clone_token: "ghp_TOPSECRET",
  };
  const parsed = CreateWorkspaceBodySchema.parse(body);
  t.ok(parsed.clone_token instanceof Secret);
  t.equal(parsed.clone_token?.reveal(), "ghp_TOPSECRET");
  t.notMatch(JSON.stringify(parsed), /TOPSECRET/, "a logged body shows no token");
  t.notMatch(inspect(parsed, { depth: 10 }), /TOPSECRET/);
  t.same(z.encode(CreateWorkspaceBodySchema, parsed), body, "encoding gives back the wire form, token included");
  t.ok(CreateWorkspaceBodySchema.safeParse({ repo: { owner: "o", name: "r" } }).success, "only repo owner and name are required");

  const bad: [string, unknown][] = [
    ["workspace_name with _", { ...body, workspace_name: "my_ws" }],
    ["workspace_name too long", { ...body, workspace_name: "a".repeat(64) }],
    ["workspace_name traversal", { ...body, workspace_name: "../etc" }],
    ["owner with shell metacharacters", { ...body, repo: { ...body.repo, owner: "a;rm -rf" } }],
    ["owner unicode", { ...body, repo: { ...body.repo, owner: "ｏｃｔｏ" } }],
    ["repo name ..", { ...body, repo: { ...body.repo, name: ".." } }],
    ["repo name traversal", { ...body, repo: { ...body.repo, name: "../../etc" } }],
    ["repo name .git", { ...body, repo: { ...body.repo, name: "x.git" } }],
    ["branch leading -", { ...body, repo: { ...body.repo, branch: "--upload-pack=sh" } }],
    ["branch ..", { ...body, repo: { ...body.repo, branch: "a..b" } }],
    ["branch with space", { ...body, repo: { ...body.repo, branch: "a b" } }],
    ["url ext::", { ...body, repo: { ...body.repo, url: "ext::sh -c id" } }],
    ["url leading -", { ...body, repo: { ...body.repo, url: "--upload-pack=id" } }],
    ["url with credentials", { ...body, repo: { ...body.repo, url: "https://u:p@github.com/o/r" } }],
    ["provider not kebab", { ...body, provider: "LXC" }],
    ["image path traversal", { ...body, image: "../../rootfs" }],
    ["image leading -", { ...body, image: "-v" }],
    ["empty clone_token", { ...body, clone_token: "" }],
    ["unknown field", { ...body, privileged: true }],
  ];
  for (const [what, value] of bad) {
    const result = CreateWorkspaceBodySchema.safeParse(value);
    t.notOk(result.success, `${what} is rejected`);
  }
  const issue = CreateWorkspaceBodySchema.safeParse({ ...body, repo: { ...body.repo, branch: "a..b" } }).error?.issues[0];
  t.same(issue?.path, ["repo", "branch"]);
  t.match(issue?.message, /branch name cannot contain '\.\.'/);
});

t.test("create 202, list, detail: SPEC examples", async (t) => {
  t.ok(CreateWorkspaceResponseSchema.parse({
    workspace_id: "ws_7f3a9c", workspace_name: "hello", status: "pending", ssh_port: 2222,
    polling_url: "/api/v1/workspaces/ws_7f3a9c", estimated_time_seconds: 4, created_at: now,
  }));
  const list = {
    workspaces: [{ workspace_id: "ws_1", workspace_name: "hello", status: "running", provider: "lxc", node: "node-1", ssh_port: 2222, created_at: now, services_count: 2 }],
    total: 1, limit: 50, offset: 0,
  };
  t.same(ListWorkspacesResponseSchema.parse(list), list);
  const detail = {
    workspace_id: "ws_1", workspace_name: "hello", status: "running", health: "degraded", provider: "docker", node: "node-1",
    created_at: now, updated_at: now,
    phases: [{ name: "scheduled", started_at: now, duration_ms: 3 }, { name: "container_created", started_at: now, duration_ms: 310 }],
    ssh: { host: "10.0.0.5", port: 2222, user: "dev", host_key: "ssh-ed25519 AAAAC3Nz", path: "/home/dev/hello-world" },
    services: {
      web: { name: "web", status: "running", health: "healthy", port: 3000, local_port: 23000, url: "http://localhost:23000", last_check: now, last_error: null },
      api: { name: "api", status: "unhealthy", health: "unhealthy", port: 4000, local_port: 23001, url: null, last_check: now, last_error: "connection refused" },
    },
    repository: { owner: "octocat", name: "hello-world", branch: "main", commit: "a1b2c3d", url: "https://github.com/octocat/hello-world.git", upstream: { owner: "github", name: "hello-world", url: "https://github.com/github/hello-world.git" } },
  };
  t.same(WorkspaceDetailSchema.parse(detail), detail);
  const failed = { ...detail, status: "error", health: "unknown", error: { code: "clone_failed", message: "authentication failed", phase: "repo_cloned" } };
  t.same(WorkspaceDetailSchema.parse(failed).error, failed.error);
  t.notOk(WorkspaceDetailSchema.safeParse({ ...detail, ssh: { ...detail.ssh, user: "root" } }).success, "the SSH user is dev");
  t.notOk(WorkspaceDetailSchema.safeParse({ ...detail, phases: [{ name: "warming_up", started_at: now, duration_ms: 1 }] }).success);
});

t.test("query strings: defaults and limits", async (t) => {
  t.same(ListWorkspacesQuerySchema.parse({}), { limit: 50, offset: 0 });
  t.same(ListWorkspacesQuerySchema.parse({ status: "running", limit: "10", offset: "20" }), { status: "running", limit: 10, offset: 20 });
  for (const bad of [{ limit: "0" }, { limit: "201" }, { limit: "1.5" }, { offset: "-1" }, { status: "sleeping" }, { limit: "ten" }]) {
    t.notOk(ListWorkspacesQuerySchema.safeParse(bad).success, JSON.stringify(bad));
  }
  t.notOk(ListWorkspacesQuerySchema.safeParse({ offset: "" }).success, "an empty value is not 0");
  t.same(ListWorkspacesQuerySchema.parse({ limit: 10 }), { limit: 10, offset: 0 }, "typed callers pass numbers");
  t.same(z.encode(ListWorkspacesQuerySchema, { limit: 10, offset: 0 }), { limit: 10, offset: 0 });
  t.same(LogsQuerySchema.parse({}), { tail: 200, follow: false });
  t.same(LogsQuerySchema.parse({ follow: true }), { tail: 200, follow: true }, "typed callers pass booleans");
  t.notOk(LogsQuerySchema.safeParse({ follow: "maybe" }).success);
  t.same(LogsQuerySchema.parse({ service: "web", tail: "5", follow: "true" }), { service: "web", tail: 5, follow: true });
  t.notOk(LogsQuerySchema.safeParse({ service: "../../etc/passwd" }).success);
  t.notOk(LogsQuerySchema.safeParse({ service: "-f" }).success);
  t.same(DeleteWorkspaceQuerySchema.parse({ force: "true" }), { force: true });
  t.same(DeleteWorkspaceQuerySchema.parse({ force: "false" }), { force: false });
  t.same(PollCommandsQuerySchema.parse({}), { wait: 25 });
  t.notOk(PollCommandsQuerySchema.safeParse({ wait: "600" }).success);
  t.ok(WorkspaceParamsSchema.safeParse({ id: "ws_abc123" }).success, "an id");
  t.ok(WorkspaceParamsSchema.safeParse({ id: "hello" }).success, "a name");
  t.notOk(WorkspaceParamsSchema.safeParse({ id: "..%2f" }).success);
});

t.test("SSE events: a discriminated union, framed for text/event-stream", async (t) => {
  const events = [
    { type: "phase", workspace_id: "ws_1", name: "ssh_ready", state: "completed", started_at: now, duration_ms: 812, at: now },
    { type: "status", workspace_id: "ws_1", status: "running", health: "healthy", at: now },
    { type: "service", workspace_id: "ws_1", name: "web", status: "running", health: "healthy", last_check: now, last_error: null, at: now },
  ] as const;
  for (const event of events) t.same(WorkspaceStreamEventSchema.parse(event), event, event.type);
  t.notOk(WorkspaceStreamEventSchema.safeParse({ ...events[0], type: "log" }).success);
  t.equal(encodeWorkspaceStreamEvent(events[1], 7), `id: 7\nevent: status\ndata: ${JSON.stringify(events[1])}\n\n`);
});

t.test("agent plane: register, commands, results, events", async (t) => {
  const register = { name: "node-1", providers: ["lxc", "docker"], ssh_host: "10.0.0.5", ssh_port_range: { start: 2222, end: 2299 }, capacity: { max_workspaces: 20, cpu: 2 }, version: "0.1.0" };
  t.same(RegisterNodeBodySchema.parse(register), register);
  t.notOk(RegisterNodeBodySchema.safeParse({ ...register, ssh_port_range: { start: 2299, end: 2222 } }).success, "an inverted range");
  t.notOk(RegisterNodeBodySchema.safeParse({ ...register, ssh_host: "host\nProxyCommand x" }).success, "ssh_host reaches users' SSH config");

  const key = ed25519PublicKey();
  const create = {
    id: "cmd_1", type: "create", workspace_id: "ws_1", created_at: now,
    payload: {
      provider: "lxc", name: "hello", ssh_port: 2222, authorized_keys: [key], resources: { cpu: 2, memory_bytes: 4 * 2 ** 30 },
      labels: { "nexus.test-run": "abc" },
      repo: { owner: "octocat", name: "hello-world", branch: "main", url: "https://github.com/octocat/hello-world.git" },
      clone_token: "ghp_TOPSECRET",
    },
  };
  const polled = PollCommandsResponseSchema.parse({
    commands: [create, { id: "cmd_2", type: "stop", workspace_id: "ws_1", created_at: now, payload: { force: true } }, { id: "cmd_3", type: "reconcile", workspace_id: null, created_at: now, payload: { workspace_ids: ["ws_1"] } }],
  });
  const [first] = polled.commands;
  t.equal(first?.type, "create");
  if (first?.type === "create") {
    t.ok(first.payload.clone_token instanceof Secret);
    t.notMatch(JSON.stringify(polled), /TOPSECRET/, "a logged command shows no token");
    t.match(JSON.stringify(z.encode(PollCommandsResponseSchema, polled)), /TOPSECRET/, "the server's encoded response carries it");
    t.same(workspaceSpecFromCreateCommand(first), {
      workspaceId: "ws_1", name: "hello", sshPort: 2222, authorizedKeys: [key], resources: { cpu: 2, memoryBytes: 4 * 2 ** 30 }, labels: { "nexus.test-run": "abc" },
    });
  }
  t.notOk(AgentCommandSchema.safeParse({ ...create, type: "format_disk" }).success);
  t.notOk(AgentCommandSchema.safeParse({ ...create, payload: { ...create.payload, authorized_keys: [`${key}\nssh-rsa AAAA`] } }).success);
  t.notOk(AgentCommandSchema.safeParse({ id: "cmd_4", type: "exec", workspace_id: "ws_1", created_at: now, payload: { argv: [] } }).success, "exec needs argv");

  const handle = { provider: "lxc", id: "nexus-hello-ws1", workspaceId: "ws_1", labels: { "nexus.workspace": "ws_1" }, hostKey: "ssh-ed25519 AAAA", sshPort: 2222 };
  t.ok(CommandResultBodySchema.parse({ ok: true, type: "create", data: { handle, host_key: "ssh-ed25519 AAAA" } }));
  t.ok(CommandResultBodySchema.parse({ ok: true, type: "exec", data: { exit_code: 0, stdout: "OK\n", stderr: "" } }));
  t.ok(CommandResultBodySchema.parse({ ok: false, type: "create", error: { code: "clone_failed", message: "auth failed", phase: "repo_cloned" } }));
  t.notOk(CommandResultBodySchema.safeParse({ ok: true, type: "exec", data: { handle, host_key: "x" } }).success, "data must fit the type");

  const events = {
    events: [
      { type: "phase", workspace_id: "ws_1", name: "repo_cloned", state: "failed", started_at: now, duration_ms: 40, error: { code: "clone_failed", message: "x", phase: "repo_cloned" }, at: now },
      { type: "service", workspace_id: "ws_1", name: "web", status: "starting", health: "unknown", last_check: null, last_error: null, at: now },
      { type: "workspace_status", workspace_id: "ws_1", status: "error", error: { code: "clone_failed", message: "x", phase: "repo_cloned" }, at: now },
      { type: "observed", complete: true, at: now, workspaces: [{ workspace_id: "ws_1", state: "running", handle }] },
    ],
  };
  t.same(NodeEventsBodySchema.parse(events), events);
  t.notOk(NodeEventsBodySchema.safeParse({ events: [] }).success, "at least one event");
});

t.test("admin: token body defaults apply even without a body", async (t) => {
  t.same(CreateNodeTokenBodySchema.parse(undefined), { ttl_seconds: 86_400 });
  t.notOk(CreateNodeTokenBodySchema.safeParse({ ttl_seconds: 10 }).success);
});

t.test("API_ROUTES: every route is mountable and documentable", async (t) => {
  const seen = new Set<string>();
  for (const [name, route] of Object.entries(API_ROUTES)) {
    t.match(route.path, /^\/(?:api\/v1\/)?[a-z0-9/:._-]+$/, `${name} path is fastify style`);
    t.notOk(seen.has(`${route.method} ${route.path}`), `${name} is unique`);
    seen.add(`${route.method} ${route.path}`);
    const params = [...route.path.matchAll(/:([a-z]+)/g)].map((m) => m[1]);
    const declared = "params" in route ? Object.keys((route.params as z.ZodObject).shape) : [];
    t.same(declared.sort(), params.sort(), `${name} declares exactly its path parameters`);
    for (const part of ["params", "query", "headers", "body"] as const) {
      const schema = (route as Record<string, unknown>)[part] as z.ZodType | undefined;
      if (schema) t.doesNotThrow(() => z.toJSONSchema(schema, { io: "input", target: "draft-2020-12" }), `${name}.${part} converts to JSON Schema`);
    }
    for (const [status, schema] of Object.entries(route.responses)) {
      t.ok(Number(status) >= 200 && Number(status) < 300, `${name} lists success statuses only`);
      t.doesNotThrow(() => z.toJSONSchema(schema as z.ZodType, { io: "input" }), `${name} ${status} converts to JSON Schema`);
      // How fastify-type-provider-zod converts responses: the decoded side, with custom types allowed.
      const output = JSON.stringify(z.toJSONSchema(schema as z.ZodType, { io: "output", unrepresentable: "any" }));
      if (name === "pollCommands") t.match(output, /"clone_token":\{"type":"string","format":"password"/, "secrets are documented as strings");
    }
    t.ok(routeErrorCodes(route).includes("internal_error"));
  }
  t.equal(API_ROUTES.createWorkspace.path, "/api/v1/workspaces/create-from-repo");
  t.equal(API_ROUTES.registerNode.auth, "join");
  t.ok(routeErrorCodes(API_ROUTES.getWorkspace).includes("workspace_not_found"));
  t.notOk(routeErrorCodes(API_ROUTES.health).includes("auth_required"));
});
