// Every error family the CLI can meet (SPEC §11): the exit code from the catalog, what
// failed, and the `next:` step — over HTTP from a tiny server answering with SPEC §5 error
// bodies, from workspaces that end in `error`, and from a server that is not there.
import t, { type Test } from "tap";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { ERROR_CATALOG, ErrorBodySchema, type ErrorCode } from "@nexus/core";
import { tempTree } from "@nexus/test-utils";
import { runCli } from "./helpers.js";
import { startFakeServer } from "./workspace-fake-server.js";

/** Answers every request with one error body (validated against the wire schema). */
async function erroringServer(t: Test, code: ErrorCode, options: { message?: string; hint?: string; headers?: Record<string, string> } = {}) {
  const body = ErrorBodySchema.parse({
    error: code,
    message: options.message ?? `${code} from the server`,
    details: {},
    ...(options.hint ? { hint: options.hint } : {}),
    request_id: "req_errors_test",
  });
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(ERROR_CATALOG[code].http, { "content-type": "application/json", "x-request-id": "req_errors_test", ...options.headers });
    res.end(JSON.stringify(body));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const home = tempTree({});
  t.teardown(home.cleanup);
  return { NEXUS_SERVER: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, NEXUS_TOKEN: "nxs_test", NEXUS_HOME: home.dir, HOME: home.dir };
}

function localRepo(t: Test): string {
  const tree = tempTree({ app: { ".nexus": { "config.yaml": "version: 1\nservices:\n  api:\n    command: node api.js\n    port: 4000\n" } } });
  t.teardown(tree.cleanup);
  const dir = join(tree.dir, "app");
  for (const args of [["init", "-q", "-b", "main"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init"]]) {
    execFileSync("git", args, { cwd: dir, stdio: "pipe" });
  }
  return dir;
}

interface Case {
  code: ErrorCode;
  argv: string[];
  exit: number;
  next: RegExp;
  headers?: Record<string, string>;
  /** Sent by the server (codes without a catalog hint: the server says what to do). */
  hint?: string;
}

const HTTP_CASES: Case[] = [
  { code: "invalid_request", argv: ["workspace", "list"], exit: 2, next: /next: Use one of the listed states\./, hint: "Use one of the listed states." },
  { code: "invalid_config", argv: ["workspace", "status", "api"], exit: 2, next: /next: Fix the file .*nexus config validate/ },
  { code: "auth_required", argv: ["workspace", "list"], exit: 3, next: /next: Run `nexus auth github`/ },
  { code: "forbidden", argv: ["workspace", "status", "api"], exit: 3, next: /next: Ask an admin for access\./, hint: "Ask an admin for access." },
  { code: "workspace_not_found", argv: ["workspace", "status", "api"], exit: 4, next: /next: Run `nexus workspace list`/ },
  { code: "user_not_found", argv: ["workspace", "list"], exit: 4, next: /next: Run `nexus ssh setup`/ },
  { code: "invalid_transition", argv: ["workspace", "start", "api"], exit: 5, next: /next: Only a stopped workspace can be started; .*nexus workspace status api/ },
  { code: "invalid_transition", argv: ["workspace", "delete", "api", "--force"], exit: 5, next: /next: The workspace is busy; .*nexus workspace status api/ },
  { code: "rate_limited", argv: ["workspace", "list"], exit: 6, next: /next: Wait for the time given in Retry-After/, headers: { "retry-after": "12" } },
  { code: "provider_unavailable", argv: ["workspace", "logs", "api"], exit: 8, next: /next: Run `nexus doctor`/ },
  { code: "internal_error", argv: ["workspace", "list"], exit: 1, next: /next: Run again with `--verbose`/ },
];

for (const c of HTTP_CASES) {
  t.test(`${c.code} from \`nexus ${c.argv.join(" ")}\`: exit ${c.exit} and the next step`, async (t) => {
    const env = await erroringServer(t, c.code, { ...(c.headers ? { headers: c.headers } : {}), ...(c.hint ? { hint: c.hint } : {}) });
    const r = await runCli(c.argv, { env });
    t.equal(r.code, c.exit);
    t.equal(r.code, ERROR_CATALOG[c.code].exit, "the catalog's exit code");
    t.match(r.stderr, new RegExp(`error \\[${c.code}\\] ${c.code} from the server`));
    t.match(r.stderr, c.next);
    t.match(r.stderr, /request id: req_errors_test/);
    t.equal(r.stdout, "");
    const j = await runCli([...c.argv, "--json"], { env });
    t.equal(j.code, c.exit);
    const doc = JSON.parse(j.stdout);
    t.equal(doc.error, c.code, "--json prints the error as one document");
    if (c.headers?.["retry-after"]) t.equal(doc.details.retry_after_seconds, 12);
  });
}

t.test("create errors the server answers with: workspace_exists 5, no_node_available 8, port_pool_exhausted 8, repo_not_found 4", async (t) => {
  const repo = localRepo(t);
  const expectations: Array<[ErrorCode, number, RegExp]> = [
    ["workspace_exists", 5, /next: Choose another name with `--name`/],
    ["no_node_available", 8, /next: Start an agent \(`nexus agent start`\)/],
    ["port_pool_exhausted", 8, /next: Delete unused workspaces/],
    ["repo_not_found", 4, /next: Check the owner\/name/],
  ];
  for (const [code, exit, next] of expectations) {
    const env = await erroringServer(t, code);
    const r = await runCli(["workspace", "create", repo], { env });
    t.equal(r.code, exit, code);
    t.match(r.stderr, `[${code}]`);
    t.match(r.stderr, next);
  }
});

t.test("server unreachable: exit 7 and `nexus server start`", async (t) => {
  const env = await erroringServer(t, "internal_error");
  const closed = createServer();
  closed.listen(0, "127.0.0.1");
  await once(closed, "listening");
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  for (const argv of [["workspace", "list"], ["workspace", "status", "api"], ["workspace", "stop", "api"]]) {
    const r = await runCli(argv, { env: { ...env, NEXUS_SERVER: `http://127.0.0.1:${port}` } });
    t.equal(r.code, 7, argv.join(" "));
    t.match(r.stderr, /\[server_unreachable\] cannot reach the nexus server at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    t.match(r.stderr, /next: Start it with `nexus server start`/);
  }
});

const PHASE_FAILURES: Array<{ code: ErrorCode; phase: "ssh_ready" | "repo_cloned" | "services_healthy" | "container_created"; message: string; exit: number; next: RegExp }> = [
  { code: "timeout", phase: "ssh_ready", message: "sshd did not answer within 30 s", exit: 9, next: /next: Run `nexus workspace status app` to see the phases/ },
  { code: "clone_failed", phase: "repo_cloned", message: "git fetch: repository not found", exit: 10, next: /next: Check that the repository and branch exist/ },
  { code: "service_failed", phase: "services_healthy", message: "api exited with status 1", exit: 10, next: /next: Run `nexus workspace logs app api`/ },
  { code: "provision_failed", phase: "container_created", message: "image nexus/debian-12 not found", exit: 10, next: /next: Run `nexus doctor`; `nexus node image build`/ },
];

for (const f of PHASE_FAILURES) {
  t.test(`a create failing with ${f.code} in ${f.phase}: exit ${f.exit}, the phase and the reason named`, async (t) => {
    const server = await startFakeServer({ singleMachine: true, fail: { phase: f.phase, code: f.code, message: f.message } });
    t.teardown(() => server.close());
    const home = tempTree({});
    t.teardown(home.cleanup);
    const env = { NEXUS_SERVER: server.url, NEXUS_TOKEN: server.options.token, NEXUS_HOME: home.dir, HOME: home.dir };
    const r = await runCli(["workspace", "create", localRepo(t)], { env });
    t.equal(r.code, f.exit);
    t.equal(r.code, ERROR_CATALOG[f.code].exit);
    t.match(r.stderr, `[${f.code}] workspace app failed to create in phase ${f.phase}`);
    t.match(r.stderr, f.message);
    t.match(r.stderr, f.next);
  });
}

t.test("usage errors exit 2 and --json still prints one document", async (t) => {
  const r = await runCli(["workspace", "logs", "api", "--tail", "many"]);
  t.equal(r.code, 2);
  t.match(r.stderr, /must be a whole number/);
  const j = await runCli(["workspace", "create", "--json"]);
  t.equal(j.code, 2);
  t.equal(JSON.parse(j.stdout).error, "invalid_request");
});
