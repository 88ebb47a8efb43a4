// The few Incus REST calls the image importer needs, over the unix socket with
// undici. Connection failures become provider_unavailable; API errors keep
// Incus's message.

import { Agent, request, type Dispatcher, type FormData } from "undici";
import { NexusError } from "@nexus/core";

export const DEFAULT_INCUS_SOCKET = "/var/lib/incus/unix.socket";

interface IncusEnvelope {
  type: "sync" | "async" | "error";
  status_code?: number;
  error_code?: number;
  error?: string;
  operation?: string;
  metadata?: unknown;
}

export interface IncusOperation {
  id: string;
  status: string;
  status_code: number;
  err: string;
  metadata: Record<string, unknown> | null;
}

export class IncusHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const CONNECT_ERRORS = new Set(["ECONNREFUSED", "ENOENT", "EACCES", "ECONNRESET", "EPIPE", "UND_ERR_SOCKET"]);

export class IncusImageApi {
  private readonly dispatcher: Agent;

  constructor(
    readonly socketPath: string = DEFAULT_INCUS_SOCKET,
    private readonly signal?: AbortSignal,
  ) {
    this.dispatcher = new Agent({ connect: { socketPath } });
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  /** A sync call's metadata, or an async call's operation path. */
  async call<T>(
    method: Dispatcher.HttpMethod,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ metadata: T; operation?: string }> {
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`http://incus${path}`, {
        dispatcher: this.dispatcher,
        method,
        headers: body === undefined || isFormData(body) ? headers : { "content-type": "application/json", ...headers },
        ...(body === undefined ? {} : { body: isFormData(body) ? body : JSON.stringify(body) }),
        ...(this.signal ? { signal: this.signal } : {}),
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "";
      if (CONNECT_ERRORS.has(code) || CONNECT_ERRORS.has(((error as Error).cause as NodeJS.ErrnoException)?.code ?? "")) {
        throw new NexusError("provider_unavailable", `Incus is not reachable on ${this.socketPath}: ${(error as Error).message}`, {
          details: { socket: this.socketPath },
          hint: "Start Incus (scripts/engines/setup.sh) or run `nexus doctor`.",
          cause: error,
        });
      }
      throw error;
    }
    const envelope = (await response.body.json()) as IncusEnvelope;
    if (response.statusCode >= 400 || envelope.type === "error") {
      throw new IncusHttpError(envelope.error_code ?? response.statusCode, envelope.error ?? `HTTP ${response.statusCode}`);
    }
    return { metadata: envelope.metadata as T, ...(envelope.operation ? { operation: envelope.operation } : {}) };
  }

  /** Waits for an operation; a failed one throws its error. */
  async wait(operationPath: string, timeoutSeconds = 900): Promise<IncusOperation> {
    const { metadata } = await this.call<IncusOperation>("GET", `${operationPath}/wait?timeout=${timeoutSeconds}`);
    if (metadata.status_code >= 400) throw new IncusHttpError(metadata.status_code, metadata.err || metadata.status);
    return metadata;
  }
}

function isFormData(value: unknown): value is FormData {
  return typeof value === "object" && value !== null && (value as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] === "FormData";
}
