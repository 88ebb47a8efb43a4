// Commands to agents (SPEC §5 agent plane): enqueued in the Store, handed out by
// long-poll (a poll sleeps until a command for its node is enqueued, its wait runs out,
// or the server shuts down), and awaited by requests that need an agent's answer (logs).
import { NexusError } from "../errors.js";
import type { CommandRecord, NewCommand, Store } from "../contracts/store.js";

/** Most commands one poll returns. */
const CLAIM_LIMIT = 20;

export class CommandQueue {
  readonly #sleepers = new Map<string, Set<() => void>>();
  /** Bumped on every enqueue per node, so a poll notices an enqueue that raced its claim. */
  readonly #generation = new Map<string, number>();
  readonly #waiters = new Map<string, Set<(record: CommandRecord) => void>>();
  #interrupted = false;

  constructor(
    private readonly store: Store,
    private readonly redeliverAfterMs: number,
  ) {}

  async enqueue(command: NewCommand): Promise<CommandRecord> {
    const record = await this.store.commands.enqueue(command);
    this.#wake(command.node_id);
    return record;
  }

  /** Claims the node's commands, waiting up to `waitMs` for one when none is queued. */
  async poll(nodeId: string, waitMs: number, signal?: AbortSignal): Promise<CommandRecord[]> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const generation = this.#generation.get(nodeId);
      const claimed = await this.store.commands.claim(nodeId, { limit: CLAIM_LIMIT, redeliverAfterMs: this.redeliverAfterMs });
      const left = deadline - Date.now();
      if (claimed.length > 0 || left <= 0 || this.#interrupted || signal?.aborted) return claimed;
      if (this.#generation.get(nodeId) !== generation) continue;
      await this.#sleep(nodeId, left, signal);
    }
  }

  /** Resolves with the command once its result is recorded; `timeout` after `timeoutMs`. */
  waitForResult(commandId: string, timeoutMs: number, what: string, signal?: AbortSignal): Promise<CommandRecord> {
    return new Promise((resolve, reject) => {
      let set = this.#waiters.get(commandId);
      if (!set) {
        set = new Set();
        this.#waiters.set(commandId, set);
      }
      const waiters = set;
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        waiters.delete(onResult);
        if (waiters.size === 0) this.#waiters.delete(commandId);
      };
      const onResult = (record: CommandRecord) => {
        done();
        resolve(record);
      };
      const onAbort = () => {
        done();
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new NexusError("timeout", `the node did not answer ${what} within ${Math.round(timeoutMs / 1000)} s`, {
            details: { command_id: commandId, timeout_ms: timeoutMs },
            hint: "Check the node with `nexus node list`; its agent may be offline.",
          }),
        );
      }, timeoutMs);
      waiters.add(onResult);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** A result was recorded: wakes whoever waits for it. */
  settle(record: CommandRecord): void {
    for (const waiter of [...(this.#waiters.get(record.command_id) ?? [])]) waiter(record);
  }

  /** Shutdown: every poll returns what it has, at once and from now on. */
  interrupt(): void {
    this.#interrupted = true;
    for (const nodeId of [...this.#sleepers.keys()]) this.#wake(nodeId);
  }

  #wake(nodeId: string): void {
    this.#generation.set(nodeId, (this.#generation.get(nodeId) ?? 0) + 1);
    const sleepers = this.#sleepers.get(nodeId);
    this.#sleepers.delete(nodeId);
    for (const wake of sleepers ?? []) wake();
  }

  #sleep(nodeId: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let set = this.#sleepers.get(nodeId);
      if (!set) {
        set = new Set();
        this.#sleepers.set(nodeId, set);
      }
      const sleepers = set;
      const wake = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", wake);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      signal?.addEventListener("abort", wake, { once: true });
      sleepers.add(wake);
    });
  }
}
