// The two streaming answers: workspace events as Server-Sent Events, and followed logs
// as chunked text. Both end when the client goes away, when the workspace is deleted,
// and when the server shuts down (`closing`), so a graceful close never waits on them.
import { PassThrough } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import { encodeWorkspaceStreamEvent, wireError, type LogsInput, type NexusServices, type UserRecord, type WorkspaceRecord } from "@nexus/core";

export interface StreamContext {
  services: NexusServices;
  request: FastifyRequest;
  reply: FastifyReply;
  /** Aborted when the server starts shutting down. */
  closing: AbortSignal;
}

/**
 * Aborted when the client disconnects before the response is complete, and, when
 * `closing` is given, when the server starts shutting down (for answers that may wait
 * indefinitely; ordinary requests are left to finish).
 */
export function requestSignal(reply: FastifyReply, closing?: AbortSignal): AbortSignal {
  const gone = new AbortController();
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) gone.abort(new Error("the client went away"));
  });
  return closing ? AbortSignal.any([gone.signal, closing]) : gone.signal;
}

export function sendWorkspaceEvents(ctx: StreamContext, workspace: WorkspaceRecord, heartbeatMs: number): FastifyReply {
  const { services, request, reply, closing } = ctx;
  const id = workspace.workspace_id;
  const stream = new PassThrough();
  const write = (text: string) => {
    if (!stream.writableEnded) stream.write(text);
  };
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearInterval(heartbeat);
    unsubscribe();
    closing.removeEventListener("abort", finish);
    stream.end();
  };
  const unsubscribe = services.events.subscribe(id, {
    onEvent: (entry) => write(encodeWorkspaceStreamEvent(entry.event, entry.id)),
    onEnd: finish,
  });
  const lastEventId = request.headers["last-event-id"];
  const resumeAfter = typeof lastEventId === "string" && /^\d{1,20}$/.test(lastEventId) ? Number(lastEventId) : undefined;
  if (resumeAfter !== undefined) {
    for (const entry of services.events.since(id, resumeAfter)) write(encodeWorkspaceStreamEvent(entry.event, entry.id));
  } else {
    // Where the workspace stands now, so a client that connects late need not poll first.
    write(
      encodeWorkspaceStreamEvent({
        type: "status",
        workspace_id: id,
        status: workspace.status,
        health: workspace.health,
        ...(workspace.status === "error" && workspace.error ? { error: wireError(workspace.error) } : {}),
        at: services.clock.now().toISOString(),
      }),
    );
  }
  const heartbeat = setInterval(() => write(": keep-alive\n\n"), heartbeatMs);
  heartbeat.unref();
  reply.raw.once("close", finish);
  closing.addEventListener("abort", finish, { once: true });
  // Deleted between the look-up and the subscription: nothing more will come.
  void services.store.workspaces.get(id).then((current) => {
    if (!current || current.status === "deleted") finish();
  });
  return reply
    .header("content-type", "text/event-stream; charset=utf-8")
    .header("cache-control", "no-cache")
    .header("x-accel-buffering", "no")
    .send(stream);
}

export async function sendFollowedLogs(ctx: StreamContext, user: UserRecord, ref: string, query: LogsInput, intervalMs: number): Promise<FastifyReply> {
  const { services, request, reply, closing } = ctx;
  const signal = requestSignal(reply, closing);
  const chunks = services.workspaces.followLogs(user, ref, query, intervalMs, signal)[Symbol.asyncIterator]();
  // The first chunk is fetched before answering, so "not found" or "node offline" are proper errors.
  const first = await chunks.next();
  const stream = new PassThrough();
  if (!first.done && first.value) stream.write(first.value);
  void (async () => {
    try {
      for (;;) {
        const next = await chunks.next();
        if (next.done || stream.writableEnded) break;
        if (next.value) stream.write(next.value);
      }
    } catch (error) {
      if (!signal.aborted) request.log.info({ err: error }, "log follow ended by an error");
    } finally {
      await chunks.return?.(undefined);
      stream.end();
    }
  })();
  return reply.type("text/plain; charset=utf-8").header("cache-control", "no-cache").send(stream);
}
