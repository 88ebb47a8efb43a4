// nexus workspace forward against an in-process SSH server (ssh2) that accepts the test
// user's key and implements direct-tcpip to local HTTP servers standing in for the
// workspace's services.
import t, { type Test } from "tap";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { createServer as createHttpServer, get as httpGet, type Server as HttpServer } from "node:http";
import { createConnection, createServer, type AddressInfo, type Server } from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { timingSafeEqual } from "node:crypto";
import ssh2 from "ssh2";
import { generateEd25519Pair } from "@nexus/github";
import { Capture, tempTree } from "@nexus/test-utils";
import { isNexusError, type WorkspaceDetail } from "@nexus/core";
import { makeContext } from "../src/io.js";
import { findPortOwner, forwardWorkspace, startForwarding } from "../src/commands/forward.js";
import { runCli } from "./helpers.js";
import { startFakeServer } from "./workspace-fake-server.js";

const NOW = new Date().toISOString();
const CLI_MAIN = join(import.meta.dirname, "..", "src", "main.ts");

interface FakeSshd {
  port: number;
  hostKey: string;
  /** direct-tcpip requests received, as `host:port`. */
  opened: string[];
  /** Ends every client connection (a dropped network). */
  dropClients(): void;
}

async function startSshd(t: Test, userKey: string): Promise<FakeSshd> {
  const host = generateEd25519Pair();
  const allowed = ssh2.utils.parseKey(userKey);
  if (allowed instanceof Error) throw allowed;
  const opened: string[] = [];
  const clients = new Set<ssh2.Connection>();
  const server = new ssh2.Server({ hostKeys: [host.private] }, (client) => {
    clients.add(client);
    client.on("close", () => clients.delete(client));
    client.on("error", () => {});
    client.on("authentication", (ctx) => {
      if (ctx.method !== "publickey" || ctx.username !== "dev") return ctx.reject(["publickey"]);
      const key = allowed.getPublicSSH();
      if (ctx.key.algo !== allowed.type || ctx.key.data.length !== key.length || !timingSafeEqual(ctx.key.data, key)) return ctx.reject(["publickey"]);
      if (ctx.signature && allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(["publickey"]);
      ctx.accept();
    });
    client.on("tcpip", (accept, reject, info) => {
      opened.push(`${info.destIP}:${info.destPort}`);
      const upstream = createConnection({ host: info.destIP, port: info.destPort });
      upstream.once("error", () => reject());
      upstream.once("connect", () => {
        const channel = accept();
        channel.on("error", () => upstream.destroy());
        upstream.pipe(channel).pipe(upstream);
      });
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.teardown(() => {
    for (const c of clients) c.end();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    port: (server.address() as AddressInfo).port,
    hostKey: host.public.split(" ").slice(0, 2).join(" "),
    opened,
    dropClients: () => {
      for (const c of clients) c.end();
    },
  };
}

async function httpService(t: Test, body: string): Promise<number> {
  const server: HttpServer = createHttpServer((req, res) => res.end(`${body} ${req.url}`));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on now (the kernel picked it; taken again only by chance). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One GET on a new connection (no keep-alive: each request is its own forwarded socket). */
async function get(port: number, path = "/"): Promise<string> {
  return new Promise((resolve, reject) => {
    httpGet({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

async function harness(t: Test) {
  const tree = tempTree({ home: { ".ssh": {} } });
  t.teardown(tree.cleanup);
  const home = join(tree.dir, "home");
  const user = generateEd25519Pair();
  writeFileSync(join(home, ".ssh", "id_ed25519"), user.private, { mode: 0o600 });
  const sshd = await startSshd(t, user.private);
  const webPort = await httpService(t, "web says hi");
  const apiPort = await httpService(t, "api says hi");
  const deadPort = await freePort();
  const local = { web: await freePort(), api: await freePort(), dead: await freePort() };
  const server = await startFakeServer({ ssh: { host: "127.0.0.1", port: sshd.port, hostKey: sshd.hostKey } });
  t.teardown(() => server.close());
  const service = (name: string, port: number | null, localPort: number | null) => ({ name, status: "running" as const, health: "healthy" as const, port, local_port: localPort, url: localPort ? `http://localhost:${localPort}` : null, last_check: NOW, last_error: null });
  const detail = server.seed("my-app", "running", {
    services: {
      web: service("web", webPort, local.web),
      api: service("api", apiPort, local.api),
      dead: service("dead", deadPort, local.dead),
      worker: service("worker", null, null),
    },
  });
  const env = { HOME: home, NEXUS_HOME: join(home, ".nexus"), NEXUS_SERVER: server.url, NEXUS_TOKEN: server.options.token, PATH: process.env.PATH };
  return { sshd, server, detail, local, env, home, privateKey: user.private, webPort, apiPort };
}

async function canListen(port: number): Promise<boolean> {
  const probe: Server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once("error", reject);
      probe.listen(port, "127.0.0.1", () => resolve());
    });
    return true;
  } catch {
    return false;
  } finally {
    if (probe.listening) await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
}

t.test("every service is reachable on its local port through one SSH connection; close() frees the ports", async (t) => {
  const h = await harness(t);
  const changes: number[] = [];
  const handle = await startForwarding({ detail: h.detail, privateKey: h.privateKey, onChange: (f) => changes.push(f.length) });
  t.same(handle.ports, { web: h.local.web, api: h.local.api, dead: h.local.dead }, "services without a port are left out");

  t.equal(await get(h.local.web, "/index.html"), "web says hi /index.html");
  t.equal(await get(h.local.api, "/v1"), "api says hi /v1");
  t.equal(await get(h.local.web, "/again"), "web says hi /again");
  t.same(h.sshd.opened, [`127.0.0.1:${h.webPort}`, `127.0.0.1:${h.apiPort}`, `127.0.0.1:${h.webPort}`], "each socket is a direct-tcpip channel to 127.0.0.1:<service port>");

  // A service that does not listen in the workspace: the socket is closed and the error counted.
  const refused = createConnection({ host: "127.0.0.1", port: h.local.dead });
  refused.on("error", () => {});
  await once(refused, "close");
  const states = Object.fromEntries(handle.forwards().map((f) => [f.service, f]));
  t.match(states.web, { local_port: h.local.web, remote_port: h.webPort, url: `http://localhost:${h.local.web}`, state: "listening", errors: 0 });
  t.equal(states.web!.total, 2);
  t.equal(states.dead!.errors, 1);
  t.type(states.dead!.last_error, "string");
  t.ok(changes.length > 0, "changes are reported");

  t.equal(await canListen(h.local.web), false, "the port is held while forwarding");
  await handle.close();
  await handle.done;
  t.equal(await canListen(h.local.web), true, "closed: the port is free again");
  t.equal(await canListen(h.local.api), true);
  t.ok(handle.forwards().every((f) => f.state === "closed"));
});

t.test("a local port already taken: the error names the process holding it, and nothing stays bound", async (t) => {
  const h = await harness(t);
  const holder = createServer();
  holder.listen(h.local.api, "127.0.0.1");
  await once(holder, "listening");
  t.teardown(() => new Promise<void>((resolve) => holder.close(() => resolve())));

  const error = await startForwarding({ detail: h.detail, privateKey: h.privateKey }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(isNexusError(error));
  if (!isNexusError(error)) return;
  t.equal(error.code, "invalid_request");
  t.match(error.message, new RegExp(`local port ${h.local.api} for service api is already in use by \\S+ \\(pid ${process.pid}\\)`));
  t.match(error.details, { service: "api", port: h.local.api, pid: process.pid });
  t.match(error.hint, `kill ${process.pid}`);
  t.equal(await canListen(h.local.web), true, "the ports bound before the failure are released");
  t.same(h.sshd.opened, []);

  const owner = await findPortOwner(h.local.api);
  t.equal(owner?.pid, process.pid);
  t.equal(await findPortOwner(await freePort()), undefined, "a free port has no owner");
});

t.test("the host key must be the one the node reported; a refused key is auth_required", async (t) => {
  const h = await harness(t);
  const otherKey = generateEd25519Pair().public.split(" ").slice(0, 2).join(" ");
  const wrongHost: WorkspaceDetail = { ...h.detail, ssh: { ...h.detail.ssh, host_key: otherKey } };
  const mismatch = await startForwarding({ detail: wrongHost, privateKey: h.privateKey }).catch((e: unknown) => e);
  t.match(mismatch, { code: "forbidden", details: { reason: "host_key_mismatch" } });
  t.equal(await canListen(h.local.web), true, "nothing stays bound");

  const stranger = generateEd25519Pair().private;
  const refused = await startForwarding({ detail: h.detail, privateKey: stranger }).catch((e: unknown) => e);
  t.match(refused, { code: "auth_required", details: { reason: "auth_failed" } });
  t.equal(await canListen(h.local.web), true);
});

t.test("a dropped SSH connection ends forwarding with an error and frees the ports", async (t) => {
  const h = await harness(t);
  const handle = await startForwarding({ detail: h.detail, privateKey: h.privateKey });
  t.equal(await get(h.local.web), "web says hi /");
  h.sshd.dropClients();
  const error = await handle.done.catch((e: unknown) => e);
  t.match(error, { code: "provider_unavailable", message: /SSH connection to workspace my-app .* ended/ });
  await handle.close();
  t.equal(await canListen(h.local.web), true);
});

t.test("forwardWorkspace: plain lines when not on a terminal, stops cleanly on its signal, --json document", async (t) => {
  const h = await harness(t);
  const stdout = new Capture();
  const stderr = new Capture();
  const ctx = makeContext({ cwd: h.home, env: { ...h.env, NO_COLOR: "1" }, stdout, stderr }, { json: false, quiet: false, verbose: false, color: false, server: h.server.url });
  const controller = new AbortController();
  let failure: unknown;
  const running = forwardWorkspace(ctx, "my-app", { signal: controller.signal });
  running.catch((e: unknown) => (failure = e));
  for (let i = 0; i < 500 && !stdout.text.includes("Ctrl-C") && failure === undefined; i++) await sleep(10);
  t.equal(failure, undefined, stderr.text);
  t.equal(await get(h.local.api, "/x"), "api says hi /x");
  controller.abort();
  const result = await running;
  t.equal(result.workspace, "my-app");
  t.equal(result.forwards.find((f) => f.service === "api")?.total, 1);
  t.match(stdout.text, /Forwarding 3 service\(s\) of my-app through one SSH connection\. Ctrl-C to stop\./);
  t.match(stdout.text, new RegExp(`web  http://localhost:${h.local.web}  listening`));
  t.match(stdout.text, new RegExp(`api  http://localhost:${h.local.api}  1 active`));
  t.match(stdout.text, /Forwarding stopped\./);
  t.equal(await canListen(h.local.api), true);

  // --json: nothing while forwarding, one document at the end.
  const jsonOut = new Capture();
  const jsonCtx = makeContext({ cwd: h.home, env: h.env, stdout: jsonOut, stderr: new Capture() }, { json: true, quiet: false, verbose: false, color: false, server: h.server.url });
  const jsonStop = new AbortController();
  const jsonRun = forwardWorkspace(jsonCtx, "my-app", { signal: jsonStop.signal });
  // Nothing is printed to wait for: retry until the port answers (binding it to probe would race).
  let answer: string | undefined;
  for (let i = 0; i < 500 && answer === undefined; i++) answer = await get(h.local.web, "/j").catch(() => sleep(10).then(() => undefined));
  t.equal(answer, "web says hi /j");
  jsonStop.abort();
  await jsonRun;
  const doc = JSON.parse(jsonOut.text);
  t.equal(doc.workspace, "my-app");
  t.match(doc.forwards.find((f: { service: string }) => f.service === "web"), { local_port: h.local.web, remote_port: h.webPort, total: 1, state: "closed" });

  // On a terminal the table is redrawn in place.
  const ttyOut = Object.assign(new Capture(), { isTTY: true });
  const ttyCtx = makeContext({ cwd: h.home, env: h.env, stdout: ttyOut, stderr: Object.assign(new Capture(), { isTTY: true }) }, { json: false, quiet: false, verbose: false, color: false, server: h.server.url });
  const ttyStop = new AbortController();
  const ttyRun = forwardWorkspace(ttyCtx, "my-app", { signal: ttyStop.signal });
  for (let i = 0; i < 500 && !ttyOut.text.includes("Ctrl-C"); i++) await sleep(10);
  await get(h.local.web, "/t");
  ttyStop.abort();
  await ttyRun;
  t.match(ttyOut.text, /SERVICE\s+LOCAL\s+WORKSPACE PORT\s+STATE/);
  t.match(ttyOut.text, /\x1b\[\d+F\x1b\[0J/, "cursor up and clear: redrawn, not appended");

  const stopped = await runCli(["workspace", "forward", "nope"], { env: h.env });
  t.equal(stopped.code, 4, "an unknown workspace is workspace_not_found");
  h.server.seed("idle", "stopped");
  const idle = await runCli(["workspace", "forward", "idle"], { env: h.env });
  t.equal(idle.code, 5);
  t.match(idle.stderr, /nexus workspace start idle/);
});

t.test("the nexus process: Ctrl-C (SIGINT) closes everything and exits 0", async (t) => {
  const h = await harness(t);
  const child = spawn(process.execPath, ["--import=tsx", "--conditions=nexus-source", CLI_MAIN, "workspace", "forward", "my-app"], {
    env: { ...h.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.teardown(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const exited = once(child, "exit");
  for (let i = 0; i < 1500 && !out.includes("Ctrl-C") && child.exitCode === null; i++) await sleep(20);
  t.match(out, /Ctrl-C to stop/, err);
  t.equal(await get(h.local.web), "web says hi /");
  child.kill("SIGINT");
  const [code] = await exited;
  t.equal(code, 0, err);
  t.match(out, /Forwarding stopped\./);
  t.equal(await canListen(h.local.web), true);
});

t.test("no key and no agent is a clear error", async (t) => {
  const h = await harness(t);
  const r = await runCli(["workspace", "forward", "my-app"], { env: { ...h.env, HOME: join(h.home, "elsewhere") } });
  t.equal(r.code, 2);
  t.match(r.stderr, /no SSH key to connect with/);
  t.match(r.stderr, /nexus ssh setup/);
});

