import type { Duplex } from "node:stream";
import { NexusError } from "@nexus/core";
import { Pool, type Dispatcher } from "undici";
import { describeEndpoint, type DockerEndpoint } from "../options.js";
import { DockerApiError, cancelled, transportErrorCode, unreachable } from "./errors.js";
import { StreamDemuxer, type Frame } from "./stream.js";

/** The API version this provider is written against (Engine 20.10); newer engines speak it too. */
export const PINNED_API_VERSION = "1.41";
/** The oldest API with everything used here (init, NanoCpus, network options, archive). */
export const MIN_API_VERSION = "1.40";

type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  /** JSON-serialised unless a Buffer (sent as application/x-tar). */
  body?: unknown;
  signal: AbortSignal;
  /** Names the call in errors ("create container"). */
  operation: string;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface ExecOutput {
  stdout: Buffer;
  stderr: Buffer;
}

export function compareApiVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

function withQuery(path: string, query: Query | undefined): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * A thin Engine API client over undici: versioned paths, JSON bodies, Engine errors
 * as DockerApiError, transport failures as provider_unavailable, cancellation as the
 * caller's reason. Nothing here knows about workspaces.
 */
export class DockerClient {
  readonly endpoint: string;
  readonly #pool: Pool;
  #apiVersion: Promise<string> | undefined;
  #closed: Promise<void> | undefined;

  constructor(endpoint: DockerEndpoint) {
    this.endpoint = describeEndpoint(endpoint);
    this.#pool = endpoint.kind === "unix"
      ? new Pool("http://docker.sock", { connect: { socketPath: endpoint.socketPath } })
      : new Pool(endpoint.origin, { connect: endpoint.tls ? { ...endpoint.tls } : {} });
  }

  /** `GET /_ping` (unversioned): the Engine's highest API version. */
  async ping(signal: AbortSignal): Promise<string> {
    const response = await this.#send("GET", "/_ping", { signal, operation: "ping" });
    if (response.status !== 200) throw parseApiError(response, "GET", "/_ping");
    const header = response.headers["api-version"];
    return (Array.isArray(header) ? header[0] : header) ?? PINNED_API_VERSION;
  }

  /** Negotiated once per client: the pinned version, or the Engine's if it is older (and still new enough). */
  apiVersion(signal: AbortSignal): Promise<string> {
    this.#apiVersion ??= this.ping(signal).then((engineVersion) => {
      if (compareApiVersions(engineVersion, MIN_API_VERSION) < 0) {
        throw new NexusError("provider_unavailable", `docker: the Engine at ${this.endpoint} speaks API ${engineVersion}; nexus needs ${MIN_API_VERSION} or newer`, {
          details: { provider: "docker", endpoint: this.endpoint, apiVersion: engineVersion },
          hint: "Upgrade Docker Engine to 19.03 or newer.",
        });
      }
      return compareApiVersions(engineVersion, PINNED_API_VERSION) < 0 ? engineVersion : PINNED_API_VERSION;
    });
    this.#apiVersion.catch(() => { this.#apiVersion = undefined; });
    return this.#apiVersion;
  }

  /** A versioned call; any status in `accept` (besides 2xx) is returned, everything else ≥ 300 throws DockerApiError. */
  async call(method: string, path: string, options: RequestOptions & { accept?: number[] }): Promise<RawResponse> {
    const versioned = `/v${await this.apiVersion(options.signal)}${path}`;
    const response = await this.#send(method, withQuery(versioned, options.query), options);
    if ((response.status >= 200 && response.status < 300) || options.accept?.includes(response.status)) return response;
    throw parseApiError(response, method, path);
  }

  /** A versioned call whose answer is JSON. */
  async json<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    const response = await this.call(method, path, options);
    return (response.body.length === 0 ? undefined : JSON.parse(response.body.toString("utf8"))) as T;
  }

  /**
   * Starts an exec on a hijacked connection (`Upgrade: tcp`), writes `stdin` then
   * half-closes so the process sees EOF, and collects the demultiplexed output until
   * the Engine closes the stream.
   */
  async execStart(execId: string, stdin: Uint8Array | undefined, signal: AbortSignal): Promise<ExecOutput> {
    const path = `/exec/${encodeURIComponent(execId)}/start`;
    const versioned = `/v${await this.apiVersion(signal)}${path}`;
    let socket: Duplex;
    try {
      socket = await this.#hijack(versioned, JSON.stringify({ Detach: false, Tty: false }), signal);
    } catch (error) {
      if (error instanceof DockerApiError) throw new DockerApiError(error.status, error.message, { method: "POST", path });
      throw this.#transportError(error, signal, "exec start");
    }
    return await collectFrames(socket, stdin, signal);
  }

  /** POSTs with `Upgrade: tcp` and hands back the raw connection once the Engine answers 101. */
  #hijack(path: string, body: string, signal: AbortSignal): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      let status = 0;
      const errorBody: Buffer[] = [];
      // Removed once the request is over: a listener left on a long-lived signal (a command's
      // deadline) would keep this request's socket and output alive until that signal fires.
      let onAbort: (() => void) | undefined;
      const release = () => {
        if (onAbort) signal.removeEventListener("abort", onAbort);
      };
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(controller) {
          if (signal.aborted) return controller.abort(signal.reason);
          onAbort = () => controller.abort(signal.reason);
          signal.addEventListener("abort", onAbort, { once: true });
        },
        onRequestUpgrade(_controller, _statusCode, _headers, socket) {
          // From here on collectFrames answers the signal.
          release();
          resolve(socket);
        },
        onResponseStart(_controller, statusCode) {
          status = statusCode;
        },
        onResponseData(_controller, chunk) {
          errorBody.push(chunk);
        },
        onResponseEnd() {
          release();
          const response = { status, headers: {}, body: Buffer.concat(errorBody) };
          reject(status >= 300 ? parseApiError(response, "POST", path) : new Error(`exec start answered ${status} instead of switching protocols`));
        },
        onResponseError(_controller, error) {
          release();
          reject(error);
        },
      };
      this.#pool.dispatch({ method: "POST", path, headers: { "content-type": "application/json" }, body, upgrade: "tcp" }, handler);
    });
  }

  /** Follows a multiplexed stream (logs) frame by frame until it ends or the signal fires. */
  async *frames(path: string, query: Query, signal: AbortSignal, operation: string): AsyncGenerator<Frame> {
    const versioned = withQuery(`/v${await this.apiVersion(signal)}${path}`, query);
    let response;
    try {
      response = await this.#pool.request({ method: "GET", path: versioned, signal, bodyTimeout: 0 });
    } catch (error) {
      throw this.#transportError(error, signal, operation);
    }
    if (response.statusCode >= 300) {
      const body = Buffer.from(await response.body.arrayBuffer());
      throw parseApiError({ status: response.statusCode, headers: response.headers, body }, "GET", path);
    }
    const demuxer = new StreamDemuxer();
    try {
      for await (const chunk of response.body) yield* demuxer.push(chunk as Buffer);
      demuxer.end();
    } catch (error) {
      if (signal.aborted) return;
      throw this.#transportError(error, signal, operation);
    } finally {
      response.body.destroy();
    }
  }

  /** Idempotent: undici rejects a second close of the same pool. */
  close(): Promise<void> {
    this.#closed ??= this.#pool.close();
    return this.#closed;
  }

  async #send(method: string, path: string, options: { body?: unknown; signal: AbortSignal; operation: string }): Promise<RawResponse> {
    const isTar = Buffer.isBuffer(options.body);
    const body = options.body === undefined ? undefined : isTar ? (options.body as Buffer) : JSON.stringify(options.body);
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = isTar ? "application/x-tar" : "application/json";
    try {
      const response = await this.#pool.request({ method: method as "GET", path, body, headers, signal: options.signal });
      const bytes = Buffer.from(await response.body.arrayBuffer());
      return { status: response.statusCode, headers: response.headers, body: bytes };
    } catch (error) {
      throw this.#transportError(error, options.signal, options.operation);
    }
  }

  #transportError(error: unknown, signal: AbortSignal, operation: string): Error {
    if (signal.aborted) return cancelled(signal, operation);
    const code = transportErrorCode(error);
    if (code) return unreachable(this.endpoint, error, code);
    return error instanceof Error ? error : new Error(String(error));
  }
}

function parseApiError(response: RawResponse, method: string, path: string): DockerApiError {
  const text = response.body.toString("utf8");
  let message = text.trim() || `HTTP ${response.status}`;
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === "string") message = parsed.message;
  } catch {
    // Not JSON (a proxy in between, or an old Engine): keep the text.
  }
  return new DockerApiError(response.status, message, { method, path });
}

function collectFrames(socket: Duplex, stdin: Uint8Array | undefined, signal: AbortSignal): Promise<ExecOutput> {
  return new Promise((resolve, reject) => {
    const demuxer = new StreamDemuxer();
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      if (error) {
        socket.destroy();
        reject(error);
        return;
      }
      resolve({ stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) });
    };
    const onAbort = (): void => finish(cancelled(signal, "exec"));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    socket.on("data", (chunk: Buffer) => {
      try {
        for (const frame of demuxer.push(chunk)) (frame.stream === "stdout" ? stdout : stderr).push(frame.data);
      } catch (error) {
        finish(error as Error);
      }
    });
    socket.on("end", () => {
      try {
        demuxer.end();
        finish();
      } catch (error) {
        finish(error as Error);
      }
    });
    socket.on("close", () => finish());
    socket.on("error", (error) => finish(error));
    // The half-close is what tells the Engine that stdin is finished.
    if (stdin && stdin.length > 0) socket.end(Buffer.from(stdin));
    else socket.end();
  });
}
