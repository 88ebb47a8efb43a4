// In-process fan-out of workspace events to SSE subscribers (SPEC §5 `/events`). Each
// event gets a sequence number, usable as Last-Event-ID: a short history per workspace
// lets a reconnecting client catch up. Numbers start from the boot time in microseconds,
// so ids after a restart are larger than any from before it.
import type { WorkspaceStreamEvent } from "../wire/events.js";

export interface StreamedEvent {
  id: number;
  event: WorkspaceStreamEvent;
}

export interface WorkspaceSubscriber {
  onEvent(entry: StreamedEvent): void;
  /** The stream is over: the workspace was deleted, or the server is shutting down. */
  onEnd(reason: "deleted" | "shutdown"): void;
}

const HISTORY_PER_WORKSPACE = 256;

export class WorkspaceEvents {
  #next: number;
  readonly #subscribers = new Map<string, Set<WorkspaceSubscriber>>();
  readonly #history = new Map<string, StreamedEvent[]>();

  constructor(bootTime: Date = new Date()) {
    this.#next = bootTime.getTime() * 1000;
  }

  publish(event: WorkspaceStreamEvent): StreamedEvent {
    const entry = { id: ++this.#next, event };
    const history = this.#history.get(event.workspace_id) ?? [];
    history.push(entry);
    if (history.length > HISTORY_PER_WORKSPACE) history.shift();
    this.#history.set(event.workspace_id, history);
    for (const subscriber of this.#subscribers.get(event.workspace_id) ?? []) subscriber.onEvent(entry);
    return entry;
  }

  /** Events of the workspace after `lastId` still in the history, oldest first. */
  since(workspaceId: string, lastId: number): StreamedEvent[] {
    return (this.#history.get(workspaceId) ?? []).filter((entry) => entry.id > lastId);
  }

  subscribe(workspaceId: string, subscriber: WorkspaceSubscriber): () => void {
    let set = this.#subscribers.get(workspaceId);
    if (!set) {
      set = new Set();
      this.#subscribers.set(workspaceId, set);
    }
    set.add(subscriber);
    return () => {
      set.delete(subscriber);
      if (set.size === 0 && this.#subscribers.get(workspaceId) === set) this.#subscribers.delete(workspaceId);
    };
  }

  subscriberCount(workspaceId?: string): number {
    if (workspaceId !== undefined) return this.#subscribers.get(workspaceId)?.size ?? 0;
    let total = 0;
    for (const set of this.#subscribers.values()) total += set.size;
    return total;
  }

  /** The workspace is gone: its streams end and its history is dropped. */
  end(workspaceId: string): void {
    const set = this.#subscribers.get(workspaceId);
    this.#subscribers.delete(workspaceId);
    this.#history.delete(workspaceId);
    for (const subscriber of set ?? []) subscriber.onEnd("deleted");
  }

  /** Shutdown: every stream ends. */
  endAll(): void {
    const all = [...this.#subscribers.values()];
    this.#subscribers.clear();
    for (const set of all) for (const subscriber of set) subscriber.onEnd("shutdown");
  }
}
