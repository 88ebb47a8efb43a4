// Everything the agent tells the server: events (in order, batched, retried while the
// server is unreachable) and command results (retried until the server has them).
import type { NodeClient } from "../client.js";
import { isNexusError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Secret } from "../secret.js";
import type { CommandResultBody, NodeEventsBody } from "../wire/nodes.js";
import { Backoff, sleep } from "./timing.js";

export type OutgoingEvent = NodeEventsBody["events"][number];

/** The agent's connection to the server: the client and the node identity of the moment. */
export interface ServerLink {
  readonly client: NodeClient;
  nodeId(): string;
  token(): Secret;
  /** Aborts when the agent stops for good. */
  readonly signal: AbortSignal;
}

const BATCH = 500;
/** Events kept while the server is unreachable; the oldest go first beyond this. */
const MAX_QUEUED = 20_000;

/** Worth retrying: the server or the network may get better. Anything else is a bug to report, not repeat. */
export function isTransient(error: unknown): boolean {
  if (!isNexusError(error)) return true;
  return error.retryable || error.code === "internal_error" || error.code === "auth_required";
}

export class Outbox {
  readonly #queue: OutgoingEvent[] = [];
  #draining: Promise<void> | undefined;

  constructor(
    private readonly link: ServerLink,
    private readonly log: Logger,
  ) {}

  event(event: OutgoingEvent): void {
    this.#queue.push(event);
    if (this.#queue.length > MAX_QUEUED) {
      const dropped = this.#queue.splice(0, this.#queue.length - MAX_QUEUED);
      this.log.warn({ dropped: dropped.length }, "the server has been unreachable for long: dropped the oldest events");
    }
    this.#drain();
  }

  /** Resolves when every event queued so far was delivered (or the agent stopped). */
  async flush(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  /**
   * Posts a command's result, retrying transient failures. `delivered` and `refused` (the
   * server will never take it) are final; `stopped` means the agent stopped first and the
   * result is still owed.
   */
  async result(commandId: string, body: CommandResultBody, signal: AbortSignal = this.link.signal): Promise<"delivered" | "refused" | "stopped"> {
    const backoff = new Backoff(250, 10_000);
    while (!signal.aborted) {
      try {
        const { accepted } = await this.link.client.postResult(this.link.nodeId(), commandId, body, { token: this.link.token(), signal });
        if (!accepted) this.log.debug({ command_id: commandId }, "the server already had this command's result");
        return "delivered";
      } catch (error) {
        if (signal.aborted) break;
        if (!isTransient(error)) {
          this.log.error({ err: error, command_id: commandId }, "the server refused the command's result");
          return "refused";
        }
        this.log.warn({ err: error, command_id: commandId }, "posting the command's result failed; retrying");
        await sleep(backoff.next(), signal);
      }
    }
    return "stopped";
  }

  #drain(): void {
    if (this.#draining) return;
    this.#draining = this.#send().finally(() => {
      this.#draining = undefined;
      if (this.#queue.length > 0 && !this.link.signal.aborted) this.#drain();
    });
  }

  async #send(): Promise<void> {
    const backoff = new Backoff(250, 10_000);
    while (this.#queue.length > 0 && !this.link.signal.aborted) {
      const batch = this.#queue.slice(0, BATCH);
      try {
        await this.link.client.postEvents(this.link.nodeId(), batch, { token: this.link.token(), signal: this.link.signal });
        this.#queue.splice(0, batch.length);
        backoff.reset();
      } catch (error) {
        if (this.link.signal.aborted) return;
        if (!isTransient(error)) {
          this.log.error({ err: error, events: batch.length }, "the server refused events; dropped them");
          this.#queue.splice(0, batch.length);
          continue;
        }
        this.log.warn({ err: error }, "posting events failed; retrying");
        await sleep(backoff.next(), this.link.signal);
      }
    }
  }
}
