// A small client for the Incus/LXD REST API: sync responses, background operations
// awaited through `/1.0/operations/<id>/wait`, and raw bodies for the files and logs
// endpoints. It knows nothing about workspaces; the provider maps its errors.
import { readFile } from "node:fs/promises";
import { Agent, request, type Dispatcher } from "undici";
import { NexusError } from "@nexus/core";
import { abortedError } from "./abort.js";

/** The daemon answered with an error document (or an operation failed). */
export class IncusApiError extends Error {
  override readonly name = "IncusApiError";
  constructor(
    readonly status: number,
    readonly backendMessage: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path}: ${backendMessage} (${status})`);
  }
}

export interface IncusOperation {
  id: string;
  class: string;
  status: string;
  status_code: number;
  metadata: Record<string, unknown> | null;
  err: string;
  may_cancel?: boolean;
}

interface IncusEnvelope {
  type: "sync" | "async" | "error";
  status_code?: number;
  error_code?: number;
  error?: string;
  operation?: string;
  metadata?: unknown;
}

export type IncusEndpoint =
  | { kind: "socket"; socketPath: string }
  | { kind: "remote"; url: string; cert: string; key: string; ca?: string };

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Raw bytes sent as application/octet-stream instead of a JSON body. */
  rawBody?: Uint8Array;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Names the step in errors ("create instance", "exec"...). */
  phase?: string;
}

/** Operation status codes (lxc/incus shared/api/status_code.go). */
const OPERATION_SUCCESS = 200;
const OPERATION_FAILURE = 400;
const OPERATION_CANCELLED = 401;
/** How long one `/wait` call may block before we ask again (seconds). */
const WAIT_SLICE_SECONDS = 30;
const CONNECT_ERROR_CODES = new Set(["ENOENT", "ECONNREFUSED", "EACCES", "EPERM", "ECONNRESET", "ENOTSOCK", "EHOSTUNREACH", "ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_SOCKET", "UND_ERR_CLOSED", "ECONNABORTED"]);

async function pem(value: string): Promise<string> {
  return value.startsWith("-----BEGIN") ? value : await readFile(value, "utf8");
}

export class IncusClient {
  readonly #origin: string;
  readonly #dispatcher: Promise<Dispatcher>;
  readonly #project: string | undefined;
  readonly #describe: string;
  /** The daemon runs on this machine (unix socket): node ports can be checked locally. */
  readonly local: boolean;

  constructor(endpoint: IncusEndpoint, project?: string) {
    this.#project = project;
    this.local = endpoint.kind === "socket";
    if (endpoint.kind === "socket") {
      // The host part is ignored on a unix socket; it only has to be a valid origin.
      this.#origin = "http://incus.socket";
      this.#describe = endpoint.socketPath;
      this.#dispatcher = Promise.resolve(new Agent({ connect: { socketPath: endpoint.socketPath } }));
    } else {
      this.#origin = new URL(endpoint.url).origin;
      this.#describe = this.#origin;
      this.#dispatcher = (async () => {
        const [cert, key, ca] = await Promise.all([pem(endpoint.cert), pem(endpoint.key), endpoint.ca ? pem(endpoint.ca) : undefined]);
        return new Agent({ connect: { cert, key, ...(ca ? { ca } : {}), rejectUnauthorized: true } });
      })();
      // A bad certificate path surfaces on the first request; don't crash the process before that.
      this.#dispatcher.catch(() => undefined);
    }
  }

  /** Where requests go (socket path or HTTPS origin), for messages. */
  get endpoint(): string {
    return this.#describe;
  }

  #url(path: string, query: RequestOptions["query"] = {}): string {
    const url = new URL(path, this.#origin);
    const scoped = this.#project && path !== "/1.0" && !path.startsWith("/1.0/operations/");
    if (scoped && !url.searchParams.has("project")) url.searchParams.set("project", this.#project!);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url.toString();
  }

  async #send(method: Dispatcher.HttpMethod, path: string, options: RequestOptions): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
    let dispatcher: Dispatcher;
    try {
      dispatcher = await this.#dispatcher;
    } catch (error) {
      throw new NexusError("provider_unavailable", `lxc: cannot load the client certificate for ${this.#describe}: ${(error as Error).message}`, {
        cause: error,
        details: { plugin: "lxc", endpoint: this.#describe },
      });
    }
    const headers: Record<string, string> = { ...options.headers };
    let body: string | Uint8Array | undefined;
    if (options.rawBody) {
      headers["content-type"] = "application/octet-stream";
      body = options.rawBody;
    } else if (options.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    try {
      const res = await request(this.#url(path, options.query), { method, headers, body, dispatcher, signal: options.signal });
      const buf = Buffer.from(await res.body.arrayBuffer());
      return { status: res.statusCode, headers: res.headers, body: buf };
    } catch (error) {
      if (options.signal?.aborted) throw abortedError(options.phase ?? `${method} ${path}`, options.signal.reason);
      throw this.#transportError(error, method, path);
    }
  }

  #transportError(error: unknown, method: string, path: string): NexusError {
    const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;
    const message = (error as Error).message ?? String(error);
    const unavailable = code !== undefined && CONNECT_ERROR_CODES.has(code);
    return new NexusError(unavailable ? "provider_unavailable" : "internal_error", `lxc: cannot reach the Incus/LXD daemon at ${this.#describe}: ${message}`, {
      cause: error,
      details: { plugin: "lxc", endpoint: this.#describe, method, path, ...(code ? { code } : {}) },
      ...(unavailable ? { hint: "Is the Incus (or LXD) daemon running? Run `nexus doctor`." } : {}),
    });
  }

  #envelope(method: string, path: string, status: number, body: Buffer): IncusEnvelope {
    let doc: IncusEnvelope;
    try {
      doc = JSON.parse(body.toString("utf8")) as IncusEnvelope;
    } catch {
      throw new IncusApiError(status, `unexpected non-JSON answer: ${body.toString("utf8").slice(0, 200)}`, method, path);
    }
    if (doc.type === "error" || status >= 400) {
      throw new IncusApiError(doc.error_code ?? status, doc.error ?? `HTTP ${status}`, method, path);
    }
    return doc;
  }

  /** A request answered synchronously; returns its metadata. */
  async sync<T>(method: Dispatcher.HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.#send(method, path, options);
    return this.#envelope(method, path, res.status, res.body).metadata as T;
  }

  /** A request that starts a background operation; waits for it and returns the finished operation. */
  async operation(method: Dispatcher.HttpMethod, path: string, options: RequestOptions = {}): Promise<IncusOperation> {
    const res = await this.#send(method, path, options);
    const doc = this.#envelope(method, path, res.status, res.body);
    if (doc.type !== "async" || !doc.operation) {
      // Some endpoints finish synchronously on some versions; treat it as a finished operation.
      return { id: "", class: "task", status: "Success", status_code: OPERATION_SUCCESS, metadata: (doc.metadata ?? null) as Record<string, unknown> | null, err: "" };
    }
    return this.waitOperation(doc.operation, options.signal, options.phase ?? `${method} ${path}`, { method, path });
  }

  /**
   * Waits for an operation to finish. When the signal aborts, asks the daemon to
   * cancel it (operations that cannot be cancelled run on) and throws.
   */
  async waitOperation(
    operationPath: string,
    signal: AbortSignal | undefined,
    phase: string,
    origin: { method: string; path: string } = { method: "GET", path: operationPath },
  ): Promise<IncusOperation> {
    const opPath = new URL(operationPath, this.#origin).pathname;
    for (;;) {
      let op: IncusOperation;
      try {
        op = await this.sync<IncusOperation>("GET", `${opPath}/wait`, { query: { timeout: WAIT_SLICE_SECONDS }, signal, phase });
      } catch (error) {
        if (signal?.aborted) {
          await this.cancelOperation(opPath);
          throw abortedError(phase, signal.reason);
        }
        throw error;
      }
      if (op.status_code === OPERATION_SUCCESS) return op;
      if (op.status_code === OPERATION_FAILURE || op.status_code === OPERATION_CANCELLED) {
        throw new IncusApiError(op.status_code, op.err || op.status, origin.method, origin.path);
      }
      // Still running after a wait slice: ask again.
    }
  }

  /** Best effort: an operation that is already gone or not cancellable is left alone. */
  async cancelOperation(operationPath: string): Promise<void> {
    try {
      await this.#send("DELETE", operationPath, { signal: AbortSignal.timeout(5_000) });
    } catch {
      // Cancellation is advisory; the caller already reports the abort.
    }
  }

  /** Raw body of a GET (files, logs); throws IncusApiError on an error status. */
  async raw(method: Dispatcher.HttpMethod, path: string, options: RequestOptions = {}): Promise<{ body: Buffer; headers: Record<string, unknown> }> {
    const res = await this.#send(method, path, options);
    if (res.status >= 400) this.#envelope(method, path, res.status, res.body);
    return { body: res.body, headers: res.headers };
  }

  async close(): Promise<void> {
    const dispatcher = await this.#dispatcher.catch(() => undefined);
    await dispatcher?.close();
  }
}
