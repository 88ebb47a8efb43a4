// Waiting, retrying and time limits for the agent's loops and steps.
import type { Op } from "../contracts/common.js";
import { NexusError } from "../errors.js";
import type { CreatePhase } from "../state.js";

/** Resolves true after `ms`, or false as soon as the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (slept: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(slept);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Exponential backoff with jitter: initial, doubling, capped. */
export class Backoff {
  #attempt = 0;
  constructor(
    private readonly initialMs = 500,
    private readonly maxMs = 30_000,
  ) {}

  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    return Math.round(base * (0.75 + Math.random() * 0.5));
  }

  reset(): void {
    this.#attempt = 0;
  }
}

/**
 * Runs fn with a time limit on top of the caller's signal. Running out of time is a
 * `timeout` error that says what took too long (and in which create phase).
 */
export async function withDeadline<T>(op: Op, ms: number, what: string, fn: (op: Op) => Promise<T>, phase?: CreatePhase): Promise<T> {
  const timer = AbortSignal.timeout(ms);
  const signal = AbortSignal.any([op.signal, timer]);
  try {
    const result = await fn({ signal, log: op.log });
    // Some steps notice the signal only after finishing their current piece of work.
    if (timer.aborted && !op.signal.aborted) throw timedOut(what, ms, phase);
    return result;
  } catch (error) {
    if (timer.aborted && !op.signal.aborted) throw timedOut(what, ms, phase, error);
    throw error;
  }
}

function timedOut(what: string, ms: number, phase: CreatePhase | undefined, cause?: unknown): NexusError {
  return new NexusError("timeout", `${what} took longer than ${Math.round(ms / 1000)} s`, {
    ...(cause === undefined ? {} : { cause }),
    details: { timeout_ms: ms, ...(phase ? { phase } : {}) },
  });
}
