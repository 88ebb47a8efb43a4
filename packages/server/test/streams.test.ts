// Logs (one-shot, timeout, follow) and the SSE event stream, over a listening server and
// the SDK client, so server and client agree on the wire.
import t, { type Test } from "tap";
import { request } from "undici";
import { createClient, isNexusError, type NexusClient } from "@nexus/core";
import { createdResult, harness, type Harness, type HarnessOptions, type RegisteredNode, type RegisteredUser } from "./harness.js";

interface Live {
  h: Harness;
  url: string;
  alice: RegisteredUser;
  node: RegisteredNode;
  client: NexusClient;
  workspaceId: string;
}

async function live(t: Test, options: HarnessOptions = {}): Promise<Live> {
  const h = await harness(t, options);
  const url = await h.app.listen({ port: 0, host: "127.0.0.1" });
  const alice = await h.user("alice");
  const node = await h.node("node-1");
  const ws = await h.create(alice, { repo: { owner: "octocat", name: "hello" } });
  const [create] = await h.poll(node);
  await h.result(node, create!.id, createdResult(ws.workspace_id));
  return { h, url, alice, node, client: createClient({ server: url, token: alice.apiToken }), workspaceId: ws.workspace_id };
}

/** Plays the agent: answers every logs command with `text()` until stopped. */
function answerLogs(h: Harness, node: RegisteredNode, text: (payload: Record<string, unknown>) => string): { stop(): Promise<void>; payloads: Record<string, unknown>[] } {
  let stopped = false;
  const payloads: Record<string, unknown>[] = [];
  const loop = (async () => {
    while (!stopped) {
      for (const command of await h.poll(node, 1)) {
        if (command.type !== "logs") continue;
        payloads.push(command.payload);
        await h.result(node, command.id, { ok: true, type: "logs", data: { text: text(command.payload) } });
      }
    }
  })();
  return {
    payloads,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

t.test("logs: the agent's tail as text/plain", async (t) => {
  const { h, node, client, workspaceId } = await live(t);
  const agent = answerLogs(h, node, () => "line one\nline two\n");
  t.teardown(() => agent.stop());
  const text = await client.logs("hello", { service: "web", tail: 20 });
  t.equal(text, "line one\nline two\n");
  t.match(agent.payloads[0], { service: "web", tail: 20, handle: { workspaceId } });
});

t.test("logs: no answer from the node → 504 timeout; an offline node → 503 provider_unavailable", async (t) => {
  const { h, client } = await live(t, { services: { commandTimeoutMs: 150 } });
  const error = await client.logs("hello").catch((e: unknown) => e);
  t.ok(isNexusError(error));
  t.equal((error as { code: string }).code, "timeout");
  h.clock.advance(31_000);
  await h.services.tick();
  const offline = await client.logs("hello").catch((e: unknown) => e);
  t.equal((offline as { code: string }).code, "provider_unavailable");
});

t.test("logs follow: chunked text with only the new lines, until the client stops", async (t) => {
  const { h, node, client } = await live(t, { server: { logsFollowIntervalMs: 20 } });
  const lines = ["boot"];
  const agent = answerLogs(h, node, (payload) => `${lines.slice(-(payload.tail as number)).join("\n")}\n`);
  t.teardown(() => agent.stop());
  const controller = new AbortController();
  const seen: string[] = [];
  const reading = (async () => {
    try {
      for await (const chunk of client.streamLogs("hello", { tail: 10 }, { signal: controller.signal })) {
        seen.push(chunk);
        if (seen.join("").includes("third")) controller.abort();
        else if (seen.join("").includes("second")) lines.push("third");
        else if (seen.join("").includes("boot")) lines.push("second");
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
  })();
  await reading;
  t.equal(seen.join(""), "boot\nsecond\nthird\n", "every line exactly once");
});

t.test("SSE: a status snapshot, then phase/service/status events; deletion ends the stream", async (t) => {
  const { h, node, client, alice, workspaceId } = await live(t);
  const events: { type: string; [k: string]: unknown }[] = [];
  const done = (async () => {
    for await (const event of client.events(workspaceId)) events.push(event);
  })();
  while (h.services.events.subscriberCount(workspaceId) === 0) await new Promise((r) => setTimeout(r, 5));
  const now = h.clock.now().toISOString();
  await h.events(node, [
    { type: "phase", workspace_id: workspaceId, name: "services_started", state: "completed", started_at: now, duration_ms: 12, at: now },
    { type: "service", workspace_id: workspaceId, name: "web", status: "running", health: "healthy", last_check: now, last_error: null, at: now },
  ]);
  await h.request({ method: "DELETE", url: `/api/v1/workspaces/${workspaceId}?force=true`, token: alice.apiToken });
  const [del] = await h.poll(node);
  await h.result(node, del!.id, { ok: true, type: "delete", data: {} });
  await done;
  t.same(
    events.map((e) => [e.type, e.type === "status" ? e.status : e.name]),
    [
      ["status", "running"],
      ["phase", "services_started"],
      ["service", "web"],
      ["status", "deleting"],
      ["status", "deleted"],
    ],
  );
  t.equal(h.services.events.subscriberCount(), 0, "the subscription is gone");
});

t.test("SSE: keep-alive comments, ids, and Last-Event-ID resumes after the last seen event", async (t) => {
  const { h, node, url, alice, workspaceId } = await live(t, { server: { sseHeartbeatMs: 20 } });
  const now = h.clock.now().toISOString();
  await h.events(node, [
    { type: "phase", workspace_id: workspaceId, name: "setup_done", state: "completed", started_at: now, duration_ms: 5, at: now },
    { type: "phase", workspace_id: workspaceId, name: "services_started", state: "completed", started_at: now, duration_ms: 6, at: now },
  ]);
  const history = h.services.events.since(workspaceId, 0);
  const setupId = history.find((e) => e.event.type === "phase" && e.event.name === "setup_done")!.id;
  const controller = new AbortController();
  const res = await request(`${url}/api/v1/workspaces/${workspaceId}/events`, {
    headers: { authorization: `Bearer ${alice.apiToken}`, "last-event-id": String(setupId) },
    signal: controller.signal,
  });
  t.equal(res.statusCode, 200);
  t.match(res.headers["content-type"], /^text\/event-stream/);
  t.match(res.headers["x-request-id"], /^req_/);
  let text = "";
  for await (const chunk of res.body) {
    text += chunk.toString();
    if (text.includes(": keep-alive")) break;
  }
  controller.abort();
  t.notMatch(text, "setup_done", "events up to Last-Event-ID are not repeated");
  t.match(text, /id: \d+\nevent: phase\ndata: \{"type":"phase","workspace_id":"ws_[a-z0-9]+","name":"services_started"/);
  t.match(text, ": keep-alive\n\n");
});

// The 20 s limit is well under the 60 s poll: a close that waited for the poll would fail it.
t.test("shutdown ends event streams and long-polls at once", { timeout: 20_000 }, async (t) => {
  const { h, node, client, workspaceId } = await live(t);
  const stream = (async () => {
    const seen = [];
    for await (const event of client.events(workspaceId)) seen.push(event);
    return seen;
  })();
  while (h.services.events.subscriberCount(workspaceId) === 0) await new Promise((r) => setTimeout(r, 5));
  const poll = h.request({ method: "GET", url: `/api/v1/nodes/${node.node_id}/commands?wait=60`, token: node.token });
  await new Promise((r) => setTimeout(r, 20));
  await h.app.close();
  t.equal((await stream).length, 1, "the stream ended after its snapshot");
  t.same((await poll).json(), { commands: [] }, "the poll answered empty");
});
