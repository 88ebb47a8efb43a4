// `nexus agent start` flags, and `nexus node list` / `nexus node token create` against a
// small admin API on 127.0.0.1.
import t, { type Test } from "tap";
import { createServer } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { makeContext } from "../src/io.js";
import { agentArgs } from "../src/commands/agent.js";
import { runCli } from "./helpers.js";

const ADMIN = "admin-secret";

async function adminApi(t: Test) {
  const seen: { method: string; url: string; body: string }[] = [];
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    seen.push({ method: req.method ?? "", url: req.url ?? "", body });
    res.setHeader("content-type", "application/json");
    if (req.headers.authorization !== `Bearer ${ADMIN}`) {
      res.statusCode = 401;
      res.end(JSON.stringify({ error: "auth_required", message: "admin token required", details: {}, request_id: "req_1" }));
    } else if (req.method === "POST" && req.url === "/api/v1/nodes/tokens") {
      res.statusCode = 201;
      res.end(JSON.stringify({ token: "nxj_fresh", expires_at: "2030-01-01T00:00:00.000Z", description: JSON.parse(body).description }));
    } else if (req.method === "GET" && req.url === "/api/v1/nodes") {
      res.end(JSON.stringify({ nodes: [{
        node_id: "node_1", name: "box-1", status: "online", providers: ["lxc"], ssh_host: "box-1.example.com", ssh_port_range: { start: 2222, end: 2299 },
        capacity: { max_workspaces: 78 }, version: "0.1.0", registered_at: "2030-01-01T00:00:00.000Z", last_heartbeat: "2030-01-01T00:00:10.000Z", workspaces: 3,
      }] }));
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ error: "not_found", message: "no route", details: {}, request_id: "req_2" }));
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

t.test("node token create prints the token; node list shows the nodes", async (t) => {
  const api = await adminApi(t);
  const created = await runCli(["--server", api.url, "node", "token", "create", "--admin-token", ADMIN, "--ttl", "600", "--description", "rack 4"]);
  t.equal(created.code, 0, created.stderr);
  t.equal(created.stdout, "nxj_fresh\n");
  t.match(created.stderr, /nexus agent start --server/);
  t.same(JSON.parse(api.seen[0]!.body), { ttl_seconds: 600, description: "rack 4" });

  const listed = await runCli(["--server", api.url, "node", "list"], { env: { NEXUS_ADMIN_TOKEN: ADMIN } });
  t.equal(listed.code, 0, listed.stderr);
  t.match(listed.stdout, /box-1\s+online\s+lxc\s+box-1\.example\.com:2222-2299\s+3\/78/);
  const json = await runCli(["--server", api.url, "--json", "node", "list", "--admin-token", ADMIN]);
  t.equal(JSON.parse(json.stdout).nodes[0].name, "box-1");

  const refused = await runCli(["--server", api.url, "node", "list", "--admin-token", "wrong"]);
  t.equal(refused.code, 3, "auth_required exit code");
});

t.test("agent start passes its flags on, and the join token only in the environment", async (t) => {
  const ctx = makeContext({ cwd: "/work", env: { HOME: "/home/u", NEXUS_JOIN_TOKEN: "nxj_env" }, stdout: process.stdout, stderr: process.stderr }, { json: false, quiet: true, verbose: false, color: false, server: "http://server:3001" });
  const { args, env } = agentArgs(ctx, { provider: "docker", name: "n1", sshHost: "n1.example.com", sshPorts: "3000-3010", data: "agent-data", allowLocalRepos: true });
  t.same(args, ["--server", "http://server:3001", "--provider", "docker", "--ssh-ports", "3000-3010", "--data", "/work/agent-data", "--name", "n1", "--ssh-host", "n1.example.com", "--allow-local-repos"]);
  t.same(env, { NEXUS_JOIN_TOKEN: "nxj_env" });
  const flagged = agentArgs(ctx, { joinToken: "nxj_flag" });
  t.notOk(flagged.args.includes("nxj_flag"), "not in argv");
  t.same(flagged.env, { NEXUS_JOIN_TOKEN: "nxj_flag" });
  t.match(flagged.args, ["--server", "http://server:3001", "--provider", "lxc", "--ssh-ports", "2222-2299", "--data", "/home/u/.nexus/agent"]);
});
