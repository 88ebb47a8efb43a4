// A tiny in-process Incus daemon on a unix socket in a temp dir, speaking the REST
// shapes measured against Incus 6.0: sync envelopes, async operations with
// `/1.0/operations/<id>/wait`, error envelopes, files and exec-output logs.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  body: Buffer;
  json?: any;
}

export interface FakeInstance {
  name: string;
  status: "Running" | "Stopped";
  config: Record<string, string>;
  devices: Record<string, Record<string, string>>;
  files: Map<string, { data: Buffer; headers: IncomingMessage["headers"] }>;
  address?: string;
}

export interface ExecReply {
  return: number;
  stdout?: string;
  stderr?: string;
}

type OperationOutcome = { ok: true; metadata: Record<string, unknown> | null } | { ok: false; err: string };

interface FakeOperation {
  id: string;
  status_code: number;
  outcome?: OperationOutcome;
  settle: (outcome: OperationOutcome) => void;
  done: Promise<void>;
  cancelled: boolean;
}

export class FakeIncus {
  readonly dir = mkdtempSync(join(tmpdir(), "nexus-fake-incus-"));
  readonly socketPath = join(this.dir, "unix.socket");
  readonly requests: RecordedRequest[] = [];
  readonly instances = new Map<string, FakeInstance>();
  readonly aliases = new Set<string>(["nexus/debian-12"]);
  readonly logs = new Map<string, string>();
  readonly operations = new Map<string, FakeOperation>();
  pools: Record<string, string> = { nexus: "btrfs" };
  profileDevices: Record<string, Record<string, string>> = {
    eth0: { name: "eth0", network: "nexusbr0", type: "nic" },
    root: { path: "/", pool: "nexus", type: "disk" },
  };
  /** Answers exec requests; the default plays the setup script's happy path. */
  onExec: (instance: FakeInstance, command: string[], body: any) => ExecReply = (instance, command) =>
    command.includes("nexus-setup") && command.includes("provision")
      ? { return: 0, stdout: instance.files.get("/etc/ssh/ssh_host_ed25519_key.pub")?.data.toString() ?? "" }
      : { return: 0 };
  /** When set, new operations stay running until settled or cancelled. */
  holdOperations = false;
  /** Like holdOperations, for exec operations only. */
  holdExec = false;
  /** Fails instance starts with this message. */
  startFailure: string | undefined;
  /** Fails this many instance creates (as an operation) with createFailure's message. */
  createFailures = 0;
  createFailure = "context deadline exceeded";
  /** Fails attaching a proxy device with this message (e.g. a busy SSH port). */
  proxyFailure: string | undefined;
  /** Clean (non-forced) stops that fail, as when the container's init ignores the halt signal. */
  cleanStopFailures = 0;
  /** Files every new container starts with (its image's content). */
  imageFiles = new Map<string, string>();
  #server: Server = createServer((req, res) => void this.#handle(req, res));

  static async start(): Promise<FakeIncus> {
    const fake = new FakeIncus();
    await new Promise<void>((resolve) => fake.#server.listen(fake.socketPath, resolve));
    return fake;
  }

  async close(): Promise<void> {
    for (const op of this.operations.values()) op.settle({ ok: false, err: "daemon shutting down" });
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Requests matching method and a path prefix. */
  find(method: string, pathPrefix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(pathPrefix));
  }

  #send(res: ServerResponse, status: number, doc: unknown): void {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(doc));
  }

  #sync(res: ServerResponse, metadata: unknown): void {
    this.#send(res, 200, { type: "sync", status: "Success", status_code: 200, operation: "", error_code: 0, error: "", metadata });
  }

  #error(res: ServerResponse, code: number, error: string): void {
    this.#send(res, code, { type: "error", status: "", status_code: 0, operation: "", error_code: code, error, metadata: null });
  }

  /** Starts an operation; `work` runs now unless operations are held. */
  #async(res: ServerResponse, work: () => OperationOutcome, hold = this.holdOperations): void {
    const id = randomUUID();
    let settle!: (o: OperationOutcome) => void;
    const op: FakeOperation = {
      id,
      status_code: 103,
      cancelled: false,
      settle: (o) => settle(o),
      done: new Promise<void>((resolve) => {
        settle = (outcome) => {
          if (op.outcome) return;
          op.outcome = outcome;
          op.status_code = outcome.ok ? 200 : op.cancelled ? 401 : 400;
          resolve();
        };
      }),
    };
    this.operations.set(id, op);
    if (!hold) op.settle(work());
    this.#send(res, 202, {
      type: "async",
      status: "Operation created",
      status_code: 100,
      operation: `/1.0/operations/${id}`,
      error_code: 0,
      error: "",
      metadata: { id, class: "task", status: "Running", status_code: 103, metadata: null, may_cancel: true, err: "" },
    });
  }

  #opDoc(op: FakeOperation): unknown {
    const outcome = op.outcome;
    return {
      id: op.id,
      class: "task",
      status: op.status_code === 200 ? "Success" : op.status_code === 103 ? "Running" : op.cancelled ? "Cancelled" : "Failure",
      status_code: op.status_code,
      metadata: outcome?.ok ? outcome.metadata : null,
      err: outcome && !outcome.ok ? outcome.err : "",
      may_cancel: true,
    };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? "/", "http://fake");
    const recorded: RecordedRequest = { method: req.method ?? "GET", path: decodeURIComponent(url.pathname), query: url.searchParams, headers: req.headers, body };
    if (String(req.headers["content-type"]).includes("json") && body.length) recorded.json = JSON.parse(body.toString("utf8"));
    this.requests.push(recorded);
    const { method, path, json } = recorded;
    const parts = path.split("/").filter(Boolean); // ["1.0", "instances", name, ...]

    if (method === "GET" && path === "/1.0") {
      return this.#sync(res, { auth: "trusted", api_version: "1.0", environment: { server: "incus", server_version: "6.0.4", firewall: "xtables" } });
    }
    if (method === "GET" && path === "/1.0/profiles/default") return this.#sync(res, { name: "default", config: {}, devices: this.profileDevices });
    if (method === "GET" && parts[1] === "storage-pools" && parts[2]) {
      const driver = this.pools[parts[2]];
      return driver ? this.#sync(res, { name: parts[2], driver, config: {} }) : this.#error(res, 404, "Storage pool not found");
    }
    if (method === "GET" && path.startsWith("/1.0/images/aliases/")) {
      const alias = path.slice("/1.0/images/aliases/".length);
      return this.aliases.has(alias) ? this.#sync(res, { name: alias, target: "abc123" }) : this.#error(res, 404, "Image alias not found");
    }
    if (parts[1] === "operations" && parts[2]) {
      const op = this.operations.get(parts[2]);
      if (!op) return this.#error(res, 404, "Operation not found");
      if (method === "DELETE") {
        op.cancelled = true;
        op.settle({ ok: false, err: "Operation cancelled" });
        return this.#sync(res, null);
      }
      if (method === "GET" && parts[3] === "wait") {
        const timeout = Number(url.searchParams.get("timeout") ?? "-1");
        await Promise.race([op.done, ...(timeout >= 0 ? [new Promise((r) => setTimeout(r, Math.min(timeout, 1) * 1000))] : [])]);
        if (res.destroyed) return;
        // Incus answers a failed operation's wait with an error envelope carrying its message.
        if (op.outcome && !op.outcome.ok) return this.#error(res, 500, op.outcome.err);
        return this.#sync(res, this.#opDoc(op));
      }
    }
    if (parts[1] === "instances") return this.#instances(req, res, recorded, parts, json);
    return this.#error(res, 404, "not found");
  }

  #instances(req: IncomingMessage, res: ServerResponse, recorded: RecordedRequest, parts: string[], json: any): void {
    const { method, query } = recorded;
    const name = parts[2];
    if (!name) {
      if (method === "GET") return this.#sync(res, [...this.instances.values()].map((i) => this.#instanceDoc(i, false)));
      if (method === "POST") {
        if (this.instances.has(json.name)) return this.#error(res, 409, `Instance "${json.name}" already exists`);
        return this.#async(res, () => {
          if (!json.source?.server && !this.aliases.has(json.source?.alias)) return { ok: false, err: "Image not provided for instance creation" };
          if (this.createFailures > 0) {
            this.createFailures--;
            return { ok: false, err: this.createFailure };
          }
          const files = new Map([...this.imageFiles].map(([path, data]) => [path, { data: Buffer.from(data), headers: {} }]));
          const instance: FakeInstance = { name: json.name, status: "Stopped", config: { ...json.config }, devices: { ...json.devices }, files, address: "10.213.0.50" };
          this.instances.set(instance.name, instance);
          if (json.start) {
            if (this.startFailure) return { ok: false, err: this.startFailure };
            instance.status = "Running";
          }
          return { ok: true, metadata: null };
        });
      }
    }
    const instance = name ? this.instances.get(name) : undefined;
    if (!instance) return this.#error(res, 404, `Failed to fetch instance "${name}" in project "default": Instance not found`);
    const sub = parts[3];
    if (!sub) {
      if (method === "GET") return this.#sync(res, this.#instanceDoc(instance, query.get("recursion") === "1"));
      if (method === "DELETE") {
        if (instance.status === "Running") return this.#error(res, 400, "Instance is running");
        return this.#async(res, () => (this.instances.delete(instance.name), { ok: true, metadata: null }));
      }
      if (method === "PATCH") {
        return this.#async(res, () => {
          const proxy = Object.values<Record<string, string>>(json.devices ?? {}).some((d) => d.type === "proxy");
          if (proxy && this.proxyFailure) return { ok: false, err: this.proxyFailure };
          Object.assign(instance.devices, json.devices ?? {});
          return { ok: true, metadata: null };
        });
      }
    }
    if (sub === "state" && method === "GET") return this.#sync(res, this.#stateDoc(instance));
    if (sub === "state" && method === "PUT") {
      return this.#async(res, () => {
        if (json.action === "start") {
          if (this.startFailure) return { ok: false, err: this.startFailure };
          instance.status = "Running";
        }
        if (json.action === "stop") {
          if (!json.force && this.cleanStopFailures > 0) {
            this.cleanStopFailures--;
            return { ok: false, err: 'Failed shutting down instance, status is "Running": context deadline exceeded' };
          }
          instance.status = "Stopped";
        }
        return { ok: true, metadata: null };
      });
    }
    if (sub === "files") {
      const path = query.get("path") ?? "";
      if (method === "POST") {
        instance.files.set(path, { data: recorded.body, headers: req.headers });
        return this.#sync(res, {});
      }
      const file = instance.files.get(path);
      if (!file) return this.#error(res, 404, "Not found");
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.end(file.data);
      return;
    }
    if (sub === "exec" && method === "POST") {
      if (instance.status !== "Running") return this.#error(res, 400, "Instance is not running");
      return this.#async(res, () => {
        const reply = this.onExec(instance, json.command, json);
        const id = randomUUID();
        const stdout = `/1.0/instances/${instance.name}/logs/exec-output/exec_${id}.stdout`;
        const stderr = `/1.0/instances/${instance.name}/logs/exec-output/exec_${id}.stderr`;
        this.logs.set(stdout, reply.stdout ?? "");
        this.logs.set(stderr, reply.stderr ?? "");
        return { ok: true, metadata: { return: reply.return, output: { "1": stdout, "2": stderr } } };
      }, this.holdOperations || this.holdExec);
    }
    if (sub === "logs") {
      const path = recorded.path;
      if (!this.logs.has(path)) return this.#error(res, 404, "Not found");
      if (method === "DELETE") {
        this.logs.delete(path);
        return this.#sync(res, {});
      }
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.end(this.logs.get(path));
      return;
    }
    if (sub === "snapshots" && method === "POST") return this.#async(res, () => ({ ok: true, metadata: null }));
    return this.#error(res, 404, "not found");
  }

  #stateDoc(instance: FakeInstance): unknown {
    return {
      status: instance.status,
      status_code: instance.status === "Running" ? 103 : 102,
      network:
        instance.status === "Running"
          ? {
              lo: { addresses: [{ family: "inet", address: "127.0.0.1", netmask: "8", scope: "local" }] },
              eth0: { addresses: [{ family: "inet", address: instance.address, netmask: "24", scope: "global" }] },
            }
          : null,
    };
  }

  #instanceDoc(instance: FakeInstance, full: boolean): unknown {
    return {
      name: instance.name,
      status: instance.status,
      status_code: instance.status === "Running" ? 103 : 102,
      type: "container",
      config: instance.config,
      devices: instance.devices,
      ...(full ? { state: this.#stateDoc(instance) } : {}),
    };
  }
}
