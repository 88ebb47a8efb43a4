// The in-process parts: the command queue's long-poll (wake, interrupt, result waiters)
// and the workspace event bus (fan-out, history, end).
import t from "tap";
import { CommandQueue, NexusError, WorkspaceEvents, type WorkspaceStreamEvent } from "@nexus/core";
import { MemoryStore } from "@nexus/testkit";

async function storeWithNode() {
  const store = new MemoryStore();
  const node = await store.nodes.register({ name: "n", providers: ["fake"], ssh_host: "h", ssh_port_range: [2222, 2223], capacity: { max_workspaces: 1 } });
  return { store, nodeId: node.node_id };
}

t.test("poll: returns queued commands at once, sleeps until one is enqueued, and honours its wait", async (t) => {
  const { store, nodeId } = await storeWithNode();
  const queue = new CommandQueue(store, 60_000);
  t.same(await queue.poll(nodeId, 0), [], "nothing queued, no wait");
  const waiting = queue.poll(nodeId, 30_000);
  await new Promise((r) => setImmediate(r));
  const command = await queue.enqueue({ node_id: nodeId, type: "reconcile", payload: { workspace_ids: [] } });
  t.same((await waiting).map((c) => c.command_id), [command.command_id], "woken by the enqueue");
  t.same(await queue.poll(nodeId, 0), [], "delivered once (within the redelivery window)");
  const aborted = new AbortController();
  const sleeping = queue.poll(nodeId, 30_000, aborted.signal);
  aborted.abort();
  t.same(await sleeping, [], "an aborted poll returns empty");
});

t.test("interrupt: every sleeping poll answers, and later polls do not sleep", async (t) => {
  const { store, nodeId } = await storeWithNode();
  const queue = new CommandQueue(store, 60_000);
  const polls = [queue.poll(nodeId, 60_000), queue.poll(nodeId, 60_000)];
  await new Promise((r) => setImmediate(r));
  queue.interrupt();
  t.same(await Promise.all(polls), [[], []]);
  t.same(await queue.poll(nodeId, 60_000), []);
});

t.test("waitForResult: settled by the result, or a timeout error naming what was awaited", async (t) => {
  const { store, nodeId } = await storeWithNode();
  const queue = new CommandQueue(store, 60_000);
  const command = await queue.enqueue({ node_id: nodeId, type: "logs", payload: { tail: 1 } });
  const waiting = queue.waitForResult(command.command_id, 30_000, "the logs");
  const done = await store.commands.complete(nodeId, command.command_id, { ok: true, result: { text: "x" } });
  queue.settle(done);
  t.same((await waiting).result, { text: "x" });
  const late = await queue.waitForResult("cmd_never", 10, "the logs request").catch((e: unknown) => e);
  t.ok(late instanceof NexusError);
  t.equal((late as NexusError).code, "timeout");
  t.match((late as NexusError).message, "the logs request");
});

t.test("event bus: fan-out per workspace, numbered history, end", async (t) => {
  const bus = new WorkspaceEvents(new Date("2026-01-01T00:00:00Z"));
  const event = (workspace_id: string, status: "creating" | "running"): WorkspaceStreamEvent => ({ type: "status", workspace_id, status, health: "unknown", at: "2026-01-01T00:00:00.000Z" });
  const got: number[] = [];
  let ended: string | undefined;
  const unsubscribe = bus.subscribe("ws_a", { onEvent: (e) => got.push(e.id), onEnd: (why) => (ended = why) });
  const first = bus.publish(event("ws_a", "creating"));
  bus.publish(event("ws_b", "creating"));
  const third = bus.publish(event("ws_a", "running"));
  t.same(got, [first.id, third.id], "only its workspace");
  t.ok(third.id > first.id);
  t.equal(first.id, Date.parse("2026-01-01T00:00:00Z") * 1000 + 1, "ids continue from the boot time");
  t.same(bus.since("ws_a", first.id).map((e) => e.id), [third.id]);
  t.equal(bus.subscriberCount("ws_a"), 1);
  bus.end("ws_a");
  t.equal(ended, "deleted");
  t.same(bus.since("ws_a", 0), [], "history dropped");
  t.equal(bus.subscriberCount(), 0);
  unsubscribe();
  let shutdown: string | undefined;
  bus.subscribe("ws_b", { onEvent: () => undefined, onEnd: (why) => (shutdown = why) });
  bus.endAll();
  t.equal(shutdown, "shutdown");
});
