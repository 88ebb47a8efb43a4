// One-at-a-time execution for read-then-write sequences over the Store that must not
// interleave inside this process (placing a workspace reads every node's load, then
// allocates; applying an agent result reads a status, then moves it).

export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn, fn);
    // The next caller waits for this one whatever its outcome.
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
