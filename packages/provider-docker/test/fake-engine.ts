// An in-process stand-in for the Docker Engine: node:http on a unix socket in a temp
// dir, speaking the API v1.41 shapes the provider uses (JSON errors as {message},
// multiplexed exec/logs streams, the Upgrade: tcp hijack, tar for the archive API).
// Containers "boot" by writing a host key and opening a TCP port that sends an SSH
// banner, so the provider's readiness wait runs for real.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import type { Duplex } from "node:stream";
import { buildTar, readTar } from "../src/tar.js";

export const FAKE_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeHostKeyForTestsOnlyxxxxxxxxxxxxxxxxxxxx";

export interface FakeFile {
  data: Buffer;
  mode: number | undefined;
  uid: number | undefined;
  gid: number | undefined;
  type: string;
}

export interface FakeContainer {
  Id: string;
  Name: string;
  body: Record<string, any>;
  Labels: Record<string, string>;
  State: { Status: string; Running: boolean; ExitCode: number; Error: string; OOMKilled: boolean };
  files: Map<string, FakeFile>;
  ssh?: TcpServer;
  ip: string;
  logs: Array<{ stream: "stdout" | "stderr"; text: string }>;
}

export interface ExecRun {
  container: FakeContainer;
  body: Record<string, any>;
  stdin: Buffer;
}

export interface ExecOutcome {
  stdout?: string;
  stderr?: string;
  exitCode: number;
  /** Splits every frame into chunks of this many bytes, to exercise reassembly. */
  chunkBytes?: number;
}

export interface RecordedRequest {
  method: string;
  /** Path without the version prefix. */
  path: string;
  version: string | undefined;
  query: URLSearchParams;
  json?: any;
  tar?: Awaited<ReturnType<typeof readTar>>;
  upgrade: boolean;
}

export interface EngineFailure {
  status: number;
  message: string;
}

export function frame(stream: "stdout" | "stderr", data: string | Buffer): Buffer {
  const body = Buffer.from(data);
  const header = Buffer.alloc(8);
  header[0] = stream === "stdout" ? 1 : 2;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

export class FakeEngine {
  readonly socketPath: string;
  readonly requests: RecordedRequest[] = [];
  readonly containers = new Map<string, FakeContainer>();
  readonly networks = new Map<string, Record<string, any>>();
  readonly images = new Set<string>(["nexus/debian-12:latest"]);
  readonly execs = new Map<string, { container: FakeContainer; body: Record<string, any>; exitCode: number | null; runs: number }>();
  apiVersion = "1.41";
  /** Decides what an exec prints; the default echoes argv and stdin. */
  onExec: (run: ExecRun) => ExecOutcome = ({ body, stdin }) => ({ stdout: `${(body.Cmd as string[]).join(" ")}\n${stdin.toString()}`, exitCode: 0 });
  /** Lets a test make one route fail: return a failure for the request to fail with it. */
  failWith: ((request: RecordedRequest) => EngineFailure | undefined) | undefined;
  /** Exec inspections that still report Running before the exit code appears. */
  execRunningPolls = 0;
  /** Delay before answering a container create (to cancel a provision mid-request). */
  createDelayMs = 0;
  /** When false, started containers open no SSH port (sshd "never comes up"). */
  sshComesUp = true;
  readonly #dir: string;
  readonly #server: Server;
  readonly #sockets = new Set<Socket | Duplex>();

  private constructor() {
    this.#dir = mkdtempSync(join(tmpdir(), "nexus-fake-docker-"));
    this.socketPath = join(this.#dir, "docker.sock");
    this.#server = createHttpServer((req, res) => {
      void this.#handle(req, res);
    });
    this.#server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
      void this.#handleUpgrade(req, socket, head);
    });
    this.#server.on("connection", (socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
  }

  static async start(): Promise<FakeEngine> {
    const engine = new FakeEngine();
    await new Promise<void>((resolve) => engine.#server.listen(engine.socketPath, resolve));
    return engine;
  }

  async close(): Promise<void> {
    for (const container of this.containers.values()) await this.#stopSsh(container);
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** Requests matching a method and a path pattern. */
  calls(method: string, path: RegExp | string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && (typeof path === "string" ? r.path === path : path.test(r.path)));
  }

  async #record(req: IncomingMessage, body: Buffer, upgrade: boolean): Promise<RecordedRequest> {
    const url = new URL(req.url ?? "/", "http://docker");
    const match = /^\/v(\d+\.\d+)(\/.*)$/.exec(url.pathname);
    const recorded: RecordedRequest = {
      method: req.method ?? "GET",
      path: match ? match[2]! : url.pathname,
      version: match?.[1],
      query: url.searchParams,
      upgrade,
    };
    const type = req.headers["content-type"] ?? "";
    if (body.length > 0 && type.includes("json")) recorded.json = JSON.parse(body.toString());
    if (body.length > 0 && type.includes("tar")) recorded.tar = await readTar(body);
    this.requests.push(recorded);
    return recorded;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request = await this.#record(req, Buffer.concat(chunks), false);
    const reply = (status: number, json?: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { ...(json === undefined ? {} : { "content-type": "application/json" }), ...headers });
      res.end(json === undefined ? undefined : JSON.stringify(json));
    };
    const failure = this.failWith?.(request);
    if (failure) return reply(failure.status, { message: failure.message });
    if (request.path === "/_ping") return reply(200, undefined, { "api-version": this.apiVersion });
    if (request.version === undefined) return reply(400, { message: "unversioned path" });
    try {
      await this.#route(request, res, reply);
    } catch (error) {
      reply(500, { message: (error as Error).message });
    }
  }

  async #route(request: RecordedRequest, res: ServerResponse, reply: (status: number, json?: unknown) => void): Promise<void> {
    const { method, path, query } = request;
    let m: RegExpExecArray | null;
    if (method === "GET" && path === "/version") return reply(200, { Version: "20.10.24-fake", ApiVersion: this.apiVersion, Os: "linux", Arch: "amd64" });
    if (method === "GET" && (m = /^\/images\/(.+)\/json$/.exec(path))) {
      const name = decodeURIComponent(m[1]!);
      const full = name.includes(":") ? name : `${name}:latest`;
      return this.images.has(full) ? reply(200, { Id: "sha256:fake", RepoTags: [full] }) : reply(404, { message: `No such image: ${full}` });
    }
    if (method === "GET" && (m = /^\/networks\/([^/]+)$/.exec(path))) {
      const network = this.networks.get(decodeURIComponent(m[1]!));
      return network ? reply(200, network) : reply(404, { message: `network ${m[1]} not found` });
    }
    if (method === "POST" && path === "/networks/create") {
      const body = request.json;
      if (this.networks.has(body.Name)) return reply(409, { message: `network with name ${body.Name} already exists` });
      this.networks.set(body.Name, { Name: body.Name, Id: randomBytes(32).toString("hex"), Driver: body.Driver, Options: body.Options ?? {}, Labels: body.Labels ?? {} });
      return reply(201, { Id: "net", Warning: "" });
    }
    if (method === "GET" && path === "/containers/json") {
      const filters = JSON.parse(query.get("filters") ?? "{}") as { label?: string[] };
      const wanted = filters.label ?? [];
      const list = [...this.containers.values()]
        .filter((c) => wanted.every((pair) => {
          const [key, value] = pair.split("=");
          return value === undefined ? key! in c.Labels : c.Labels[key!] === value;
        }))
        .map((c) => ({ Id: c.Id, Names: [`/${c.Name}`], Labels: c.Labels, State: c.State.Status, Ports: c.State.Running ? [{ PrivatePort: 22, PublicPort: Number(this.#binding(c).HostPort), Type: "tcp", IP: "0.0.0.0" }] : [] }));
      return reply(200, list);
    }
    if (method === "POST" && path === "/containers/create") {
      if (this.createDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.createDelayMs));
      const body = request.json;
      const image = body.Image.includes(":") ? body.Image : `${body.Image}:latest`;
      if (!this.images.has(image)) return reply(404, { message: `No such image: ${image}` });
      const network = body.HostConfig?.NetworkMode;
      if (network && !this.networks.has(network)) return reply(404, { message: `network ${network} not found` });
      const name = query.get("name") ?? randomBytes(4).toString("hex");
      if ([...this.containers.values()].some((c) => c.Name === name)) {
        return reply(409, { message: `Conflict. The container name "/${name}" is already in use by container "x". You have to remove (or rename) that container to be able to reuse that name.` });
      }
      const id = randomBytes(32).toString("hex");
      this.containers.set(id, {
        Id: id,
        Name: name,
        body,
        Labels: { ...(body.Labels ?? {}) },
        State: { Status: "created", Running: false, ExitCode: 0, Error: "", OOMKilled: false },
        files: new Map(),
        ip: `172.30.0.${this.containers.size + 2}`,
        logs: [{ stream: "stderr", text: "Server listening on 0.0.0.0 port 22.\n" }],
      });
      return reply(201, { Id: id, Warnings: [] });
    }
    if ((m = /^\/containers\/([^/]+)(\/.*)?$/.exec(path))) {
      const container = this.#container(decodeURIComponent(m[1]!));
      if (!container) return reply(404, { message: `No such container: ${decodeURIComponent(m[1]!)}` });
      const action = m[2] ?? "";
      if (method === "GET" && action === "/json") return reply(200, this.#inspect(container));
      if (method === "PUT" && action === "/archive") {
        const dir = query.get("path") ?? "/";
        if (!this.#isDirectory(container, dir)) return reply(404, { message: `Could not find the file ${dir} in container ${container.Name}` });
        for (const entry of request.tar ?? []) {
          const target = posix.join(dir, entry.path).replace(/\/$/, "");
          container.files.set(target, { data: entry.data, mode: entry.mode, uid: entry.uid, gid: entry.gid, type: entry.type });
        }
        return reply(200);
      }
      if (method === "GET" && action === "/archive") {
        const file = container.files.get(query.get("path") ?? "");
        if (!file) return reply(404, { message: `Could not find the file ${query.get("path")} in container ${container.Name}` });
        res.writeHead(200, { "content-type": "application/x-tar" });
        return void res.end(buildTar([{ path: posix.basename(query.get("path")!), type: "file", data: file.data, mode: file.mode ?? 0o644, uid: file.uid ?? 0, gid: file.gid ?? 0 }]));
      }
      if (method === "POST" && action === "/start") {
        if (container.State.Running) return reply(304);
        const binding = this.#binding(container);
        const taken = [...this.containers.values()].some((c) => c !== container && c.State.Running && this.#binding(c).HostPort === binding.HostPort);
        if (taken) return reply(500, { message: `driver failed programming external connectivity on endpoint ${container.Name}: Bind for 0.0.0.0:${binding.HostPort} failed: port is already allocated` });
        container.files.set("/etc/ssh/ssh_host_ed25519_key.pub", { data: Buffer.from(`${FAKE_HOST_KEY} root@fake\n`), mode: 0o644, uid: 0, gid: 0, type: "File" });
        container.State = { ...container.State, Status: "running", Running: true };
        if (this.sshComesUp) await this.#startSsh(container, Number(binding.HostPort));
        return reply(204);
      }
      if (method === "POST" && action === "/stop") {
        if (!container.State.Running) return reply(304);
        await this.#stopSsh(container);
        container.State = { ...container.State, Status: "exited", Running: false, ExitCode: 255 };
        return reply(204);
      }
      if (method === "DELETE" && action === "") {
        if (container.State.Running && query.get("force") !== "true") return reply(409, { message: "You cannot remove a running container" });
        await this.#stopSsh(container);
        this.containers.delete(container.Id);
        return reply(204);
      }
      if (method === "POST" && action === "/exec") {
        if (!container.State.Running) return reply(409, { message: `Container ${container.Id} is not running` });
        const id = randomBytes(32).toString("hex");
        this.execs.set(id, { container, body: request.json, exitCode: null, runs: 0 });
        return reply(201, { Id: id });
      }
      if (method === "GET" && action === "/logs") {
        res.writeHead(200, { "content-type": "application/vnd.docker.raw-stream" });
        const tail = Number(query.get("tail") ?? "all");
        const lines = Number.isFinite(tail) ? container.logs.slice(-tail) : container.logs;
        for (const line of lines) res.write(frame(line.stream, line.text));
        if (query.get("follow") === "true") return;
        return void res.end();
      }
    }
    if (method === "GET" && (m = /^\/exec\/([^/]+)\/json$/.exec(path))) {
      const exec = this.execs.get(m[1]!);
      if (!exec) return reply(404, { message: `No such exec instance: ${m[1]}` });
      exec.runs++;
      const running = exec.exitCode === null || exec.runs <= this.execRunningPolls;
      return reply(200, { Running: running, ExitCode: running ? null : exec.exitCode });
    }
    reply(404, { message: `page not found: ${method} ${path}` });
  }

  async #handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const length = Number(req.headers["content-length"] ?? 0);
    let buffered = head;
    const wantBody = (): Promise<void> => new Promise((resolve) => {
      if (buffered.length >= length) return resolve();
      const onData = (chunk: Buffer): void => {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length >= length) {
          socket.off("data", onData);
          resolve();
        }
      };
      socket.on("data", onData);
    });
    await wantBody();
    const body = buffered.subarray(0, length);
    let stdinSoFar = buffered.subarray(length);
    const request = await this.#record(req, body, true);
    const fail = (status: number, message: string): void => {
      const json = JSON.stringify({ message });
      socket.end(`HTTP/1.1 ${status} Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
    };
    const failure = this.failWith?.(request);
    if (failure) return fail(failure.status, failure.message);
    const m = /^\/exec\/([^/]+)\/start$/.exec(request.path);
    const exec = m ? this.execs.get(m[1]!) : undefined;
    if (!exec) return fail(404, `No such exec instance: ${m?.[1] ?? request.path}`);
    socket.write("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
    if (exec.body.AttachStdin) {
      await new Promise<void>((resolve) => {
        socket.on("data", (chunk: Buffer) => { stdinSoFar = Buffer.concat([stdinSoFar, chunk]); });
        socket.on("end", () => resolve());
      });
    }
    const outcome = this.onExec({ container: exec.container, body: exec.body, stdin: stdinSoFar });
    const frames = Buffer.concat([
      ...(outcome.stdout ? [frame("stdout", outcome.stdout)] : []),
      ...(outcome.stderr ? [frame("stderr", outcome.stderr)] : []),
    ]);
    const step = outcome.chunkBytes ?? frames.length;
    for (let offset = 0; offset < frames.length; offset += step) {
      socket.write(frames.subarray(offset, offset + step));
      await new Promise((resolve) => setImmediate(resolve));
    }
    exec.exitCode = outcome.exitCode;
    socket.end();
  }

  #container(ref: string): FakeContainer | undefined {
    return this.containers.get(ref) ?? [...this.containers.values()].find((c) => c.Name === ref || c.Id.startsWith(ref));
  }

  #binding(container: FakeContainer): { HostIp: string; HostPort: string } {
    return container.body.HostConfig.PortBindings["22/tcp"][0];
  }

  #isDirectory(container: FakeContainer, dir: string): boolean {
    if (["/", "/etc", "/home", "/home/dev", "/tmp", "/etc/ssh"].includes(dir)) return true;
    return container.files.get(dir)?.type === "Directory";
  }

  #inspect(container: FakeContainer): Record<string, unknown> {
    const binding = this.#binding(container);
    return {
      Id: container.Id,
      Name: `/${container.Name}`,
      State: container.State,
      Config: { Labels: container.Labels, Image: container.body.Image },
      HostConfig: { PortBindings: container.body.HostConfig.PortBindings },
      NetworkSettings: {
        Networks: { [container.body.HostConfig.NetworkMode]: { IPAddress: container.State.Running ? container.ip : "" } },
        Ports: container.State.Running ? { "22/tcp": [binding] } : {},
      },
    };
  }

  async #startSsh(container: FakeContainer, port: number): Promise<void> {
    const server = createTcpServer((socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
      socket.end("SSH-2.0-OpenSSH_9.2p1 FakeEngine\r\n");
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    container.ssh = server;
  }

  async #stopSsh(container: FakeContainer): Promise<void> {
    const server = container.ssh;
    container.ssh = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
