// Fast regression check for what the load suite found: the agent reported a service only
// when its status, health or error changed, so the server's `last_check` froze at the
// first report while the health checks kept running. An unchanged service is now reported
// again once its checks have moved on by LAST_CHECK_REFRESH_MS, and not on every check.
import t from "tap";
import type { Handle, ProviderInstance } from "@nexus/core";
import { silentLogger } from "@nexus/core";
import { LAST_CHECK_REFRESH_MS, ServiceWatcher } from "../../packages/core/src/agent/watcher.js";
import type { OutgoingEvent } from "../../packages/core/src/agent/outbox.js";
import type { SupervisorStatus } from "../../packages/core/src/agent/supervisor/types.js";

const HANDLE: Handle = { provider: "fake", id: "c1", workspaceId: "ws_load", labels: {} };

function status(lastCheck: Date, health: "healthy" | "unhealthy" = "healthy"): SupervisorStatus {
  const now = new Date().toISOString();
  return {
    pid: 10,
    state: "running",
    started_at: now,
    updated_at: now,
    services: {
      web: {
        status: "running", health, pid: 11, restarts: 0, started_at: now, healthy_at: now,
        last_check: lastCheck.toISOString(), last_error: null, exit_code: null, failed: false,
      },
    },
  };
}

t.test("an unchanged service is reported again as its checks move on, not on every check", async (t) => {
  const events: OutgoingEvent[] = [];
  const watcher = new ServiceWatcher({} as ProviderInstance, (event) => events.push(event), silentLogger, 5_000);
  const first = new Date("2030-01-01T00:00:00.000Z");
  const at = (ms: number) => new Date(first.getTime() + ms);
  const lastChecks = () => events.map((e) => (e.type === "service" ? e.last_check : null));

  watcher.watch(HANDLE.workspaceId, HANDLE, status(first));
  t.same(lastChecks(), [first.toISOString()], "the first status is reported");

  for (let ms = 2_000; ms < LAST_CHECK_REFRESH_MS; ms += 2_000) watcher.report(HANDLE.workspaceId, status(at(ms)));
  t.equal(events.length, 1, "checks within the refresh period send nothing");

  watcher.report(HANDLE.workspaceId, status(at(LAST_CHECK_REFRESH_MS)));
  t.same(lastChecks(), [first.toISOString(), at(LAST_CHECK_REFRESH_MS).toISOString()], "a check a refresh period later is reported");

  watcher.report(HANDLE.workspaceId, status(at(LAST_CHECK_REFRESH_MS + 2_000), "unhealthy"));
  t.equal(events.length, 3, "a change of health is reported at once");
  t.match(events[2], { type: "service", name: "web", health: "unhealthy" });
});
