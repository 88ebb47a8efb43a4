import t from "tap";
import { WORKSPACE_EVENTS, WORKSPACE_STATES, isNexusError, transition, type WorkspaceEvent, type WorkspaceEventType, type WorkspaceState } from "@nexus/core";

// The whole lifecycle of SPEC §3 as a table: [state, event] → next state and effects.
// Every pair not listed must be rejected with invalid_transition.
const ALLOWED: Array<[WorkspaceState, WorkspaceEvent, WorkspaceState, string[]]> = [
  ["pending", { type: "schedule" }, "creating", ["provision"]],
  ["creating", { type: "created" }, "running", []],
  ["running", { type: "stop" }, "stopping", ["stop"]],
  ["stopping", { type: "stopped" }, "stopped", []],
  ["stopped", { type: "start" }, "starting", ["start"]],
  ["starting", { type: "started" }, "running", []],
  ["error", { type: "retry" }, "creating", ["provision"]],
  ["stopped", { type: "delete" }, "deleting", ["destroy"]],
  ["error", { type: "delete" }, "deleting", ["destroy"]],
  ["running", { type: "delete", force: true }, "deleting", ["destroy"]],
  ["deleting", { type: "deleted" }, "deleted", ["release"]],
  // any non-terminal state → error
  ...WORKSPACE_STATES.filter((s) => s !== "deleted").map((s): [WorkspaceState, WorkspaceEvent, WorkspaceState, string[]] => [s, { type: "fail", reason: "boom" }, "error", ["record_error"]]),
];

function eventFor(type: WorkspaceEventType, force = false): WorkspaceEvent {
  if (type === "fail") return { type, reason: "boom" };
  if (type === "delete") return { type, force };
  return { type } as WorkspaceEvent;
}

t.test("every (state, event) pair is either allowed as listed or a 409 invalid_transition", async (t) => {
  let checked = 0;
  for (const state of WORKSPACE_STATES) {
    for (const type of WORKSPACE_EVENTS) {
      for (const force of type === "delete" ? [false, true] : [false]) {
        const event = eventFor(type, force);
        const row = ALLOWED.find(([s, e]) => s === state && e.type === type && Boolean((e as { force?: boolean }).force) === force)
          // a plain delete is also accepted where a forced one is listed only for running
          ?? (type === "delete" && force && state !== "running" ? ALLOWED.find(([s, e]) => s === state && e.type === "delete") : undefined);
        checked++;
        if (row) {
          const result = transition(state, event);
          t.equal(result.next, row[2], `${state} --${type}${force ? "(force)" : ""}--> ${row[2]}`);
          t.same(result.effects.map((e) => e.type), row[3], `${state} --${type}--> effects`);
        } else {
          t.throws(() => transition(state, event), { code: "invalid_transition", http: 409 }, `${state} --${type}${force ? "(force)" : ""}--> rejected`);
        }
      }
    }
  }
  t.equal(checked, WORKSPACE_STATES.length * (WORKSPACE_EVENTS.length + 1));
});

t.test("rejections explain themselves", async (t) => {
  try {
    transition("running", { type: "delete" });
    t.fail("should throw");
  } catch (e) {
    t.ok(isNexusError(e));
    if (isNexusError(e)) {
      t.match(e.message, /running workspace cannot delete without force/);
      t.match(e.hint ?? "", /--force/);
      t.same(e.details.allowed_from, ["running", "stopped", "error"]);
    }
  }
  t.same(transition("creating", { type: "fail", reason: "ssh_ready timed out" }).effects, [{ type: "record_error", reason: "ssh_ready timed out" }]);
  t.same(transition("pending", "schedule").next, "creating", "string shorthand works");
  t.throws(() => transition("bogus" as WorkspaceState, "schedule"), /unknown workspace state/);
});
