// `GET /api/v1/metrics` in the Prometheus text format (0.0.4): request counts and a
// latency histogram by route and status, plus gauges read from the services at scrape
// time. Routes are labelled by their pattern (`/api/v1/workspaces/:id`), never by the
// raw URL, so ids cannot blow up the number of series.
import type { ServicesSnapshot } from "@nexus/core";

const BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Series {
  count: number;
  sum: number;
  buckets: number[];
}

function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

export class HttpMetrics {
  readonly #series = new Map<string, { method: string; route: string; status: number; data: Series }>();

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`;
    let entry = this.#series.get(key);
    if (!entry) {
      entry = { method, route, status, data: { count: 0, sum: 0, buckets: BUCKETS_SECONDS.map(() => 0) } };
      this.#series.set(key, entry);
    }
    entry.data.count++;
    entry.data.sum += seconds;
    BUCKETS_SECONDS.forEach((bound, i) => {
      if (seconds <= bound) entry.data.buckets[i]!++;
    });
  }

  render(snapshot: ServicesSnapshot, uptimeSeconds: number): string {
    const out: string[] = [];
    out.push("# HELP nexus_http_requests_total HTTP requests answered, by method, route and status.");
    out.push("# TYPE nexus_http_requests_total counter");
    for (const { method, route, status, data } of this.#series.values()) {
      out.push(`nexus_http_requests_total{method="${label(method)}",route="${label(route)}",status="${status}"} ${data.count}`);
    }
    out.push("# HELP nexus_http_request_duration_seconds Time to answer HTTP requests.");
    out.push("# TYPE nexus_http_request_duration_seconds histogram");
    for (const { method, route, status, data } of this.#series.values()) {
      const labels = `method="${label(method)}",route="${label(route)}",status="${status}"`;
      BUCKETS_SECONDS.forEach((bound, i) => out.push(`nexus_http_request_duration_seconds_bucket{${labels},le="${bound}"} ${data.buckets[i]}`));
      out.push(`nexus_http_request_duration_seconds_bucket{${labels},le="+Inf"} ${data.count}`);
      out.push(`nexus_http_request_duration_seconds_sum{${labels}} ${data.sum}`);
      out.push(`nexus_http_request_duration_seconds_count{${labels}} ${data.count}`);
    }
    out.push("# HELP nexus_workspaces Workspaces by status.");
    out.push("# TYPE nexus_workspaces gauge");
    for (const [status, count] of Object.entries(snapshot.workspacesByStatus)) out.push(`nexus_workspaces{status="${status}"} ${count}`);
    out.push("# HELP nexus_nodes Registered nodes by status.");
    out.push("# TYPE nexus_nodes gauge");
    out.push(`nexus_nodes{status="online"} ${snapshot.nodesOnline}`);
    out.push(`nexus_nodes{status="offline"} ${snapshot.nodesOffline}`);
    out.push("# HELP nexus_commands Agent commands not yet completed, by status.");
    out.push("# TYPE nexus_commands gauge");
    out.push(`nexus_commands{status="queued"} ${snapshot.commandsQueued}`);
    out.push(`nexus_commands{status="delivered"} ${snapshot.commandsDelivered}`);
    out.push("# HELP nexus_event_streams Open workspace event streams.");
    out.push("# TYPE nexus_event_streams gauge");
    out.push(`nexus_event_streams ${snapshot.sseSubscribers}`);
    out.push("# HELP nexus_uptime_seconds Seconds since the server started.");
    out.push("# TYPE nexus_uptime_seconds gauge");
    out.push(`nexus_uptime_seconds ${uptimeSeconds}`);
    return `${out.join("\n")}\n`;
  }
}
