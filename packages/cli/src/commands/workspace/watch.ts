// Following a workspace until it reaches the state a command waits for. The detail
// (GET /workspaces/{id}) is the source of truth; the SSE event stream only wakes the
// loop up early. Without events (an older server, a proxy that buffers SSE) the loop
// polls every `pollMs`; while events flow it still re-reads now and then, so a lost
// event can only delay an update, never hide it.
import { isNexusError, type NexusClient, type WorkspaceDetail, type WorkspaceStreamEvent } from "@nexus/core";

export const POLL_INTERVAL_MS = 250;
/** Re-read interval while the event stream is delivering. */
const SAFETY_POLL_MS = 2000;

export interface WatchOptions {
  /** True when the wait is over. */
  done(detail: WorkspaceDetail): boolean;
  /** Every fresh detail, in order (for progress views). */
  onUpdate?(detail: WorkspaceDetail): void;
  onEvent?(event: WorkspaceStreamEvent): void;
  signal?: AbortSignal | undefined;
  pollMs?: number;
}

export type WatchOutcome =
  | { kind: "done"; detail: WorkspaceDetail }
  /** The workspace no longer exists (404). */
  | { kind: "gone"; last: WorkspaceDetail | undefined }
  /** The caller's signal fired (Ctrl-C). */
  | { kind: "interrupted"; last: WorkspaceDetail | undefined };

export async function watchWorkspace(client: NexusClient, ref: string, options: WatchOptions): Promise<WatchOutcome> {
  const pollMs = options.pollMs ?? POLL_INTERVAL_MS;
  const stop = new AbortController();
  const onAbort = () => stop.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let wake: (() => void) | undefined;
  let flowing = false;
  let dirty = false;

  const stream = (async () => {
    try {
      for await (const event of client.events(ref, { signal: stop.signal })) {
        flowing = true;
        dirty = true;
        options.onEvent?.(event);
        wake?.();
      }
    } catch {
      // No usable event stream: polling carries on alone.
    }
    flowing = false;
  })();

  let last: WorkspaceDetail | undefined;
  try {
    for (;;) {
      if (options.signal?.aborted) return { kind: "interrupted", last };
      dirty = false;
      try {
        last = await client.getWorkspace(ref, { signal: stop.signal });
      } catch (error) {
        if (options.signal?.aborted) return { kind: "interrupted", last };
        if (isNexusError(error) && error.code === "workspace_not_found") return { kind: "gone", last };
        throw error;
      }
      options.onUpdate?.(last);
      if (options.done(last)) return { kind: "done", detail: last };
      if (!dirty) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(finish, flowing ? SAFETY_POLL_MS : pollMs);
          function finish() {
            clearTimeout(timer);
            wake = undefined;
            stop.signal.removeEventListener("abort", finish);
            resolve();
          }
          wake = finish;
          stop.signal.addEventListener("abort", finish, { once: true });
        });
      }
    }
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    stop.abort();
    await stream;
  }
}
