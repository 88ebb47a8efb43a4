import t from "tap";
import type { WorkspaceDetail } from "@nexus/core";
import { editorTargetFromWorkspace, forwardsFromWorkspace, sshEntryFromWorkspace } from "@nexus/editors";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const NOW = "2026-01-01T00:00:00.000Z";
const service = (name: string, port: number | null, local: number | null) =>
  ({ name, status: "running", health: "healthy", port, local_port: local, url: null, last_check: null, last_error: null }) as const;

function detail(overrides: Partial<WorkspaceDetail> = {}): WorkspaceDetail {
  return {
    workspace_id: "ws_1",
    workspace_name: "shop",
    status: "running",
    health: "healthy",
    provider: "lxc",
    node: "n1",
    created_at: NOW,
    updated_at: NOW,
    phases: [],
    ssh: { host: "192.168.1.9", port: 2201, user: "dev", host_key: KEY, path: "/home/dev/shop-web" },
    services: { web: service("web", 3000, 3000), api: service("api", 8080, 18080), queue: service("queue", null, null) },
    repository: { owner: "acme", name: "shop-web", branch: "main", commit: null, url: "https://github.com/acme/shop-web" },
    ...overrides,
  };
}

t.test("a running workspace becomes an SSH entry and an editor target", async (t) => {
  t.same(sshEntryFromWorkspace(detail(), { identityFile: "/k/id" }), {
    workspace: "shop",
    hostName: "192.168.1.9",
    port: 2201,
    hostKey: KEY,
    identityFile: "/k/id",
    forwards: [
      { localPort: 3000, remotePort: 3000, service: "web" },
      { localPort: 18080, remotePort: 8080, service: "api" },
    ],
  });
  t.same(editorTargetFromWorkspace(detail()), { host: "nexus-shop", workspaceName: "shop", remotePath: "/home/dev/shop-web" });
  t.same(editorTargetFromWorkspace(detail({ ssh: { ...detail().ssh, path: "" } })).remotePath, "/home/dev/shop-web", "falls back to /home/dev/<repo>");
  t.same(forwardsFromWorkspace(detail({ services: {} })), []);
});

t.test("no entry for a workspace that is not running or has no endpoint yet", async (t) => {
  t.throws(() => sshEntryFromWorkspace(detail({ status: "stopped" })), { code: "invalid_transition", hint: /nexus workspace start shop/ });
  t.throws(() => sshEntryFromWorkspace(detail({ status: "creating" })), { code: "invalid_transition", hint: /--watch/ });
  t.throws(() => sshEntryFromWorkspace(detail({ ssh: { ...detail().ssh, host_key: null } })), { code: "invalid_transition", message: /host key unknown/ });
  t.throws(() => sshEntryFromWorkspace(detail({ ssh: { ...detail().ssh, port: null } })), { code: "invalid_transition" });
});

t.test("a path from the server is validated like any other", async (t) => {
  t.throws(() => editorTargetFromWorkspace(detail({ ssh: { ...detail().ssh, path: "/home/dev/$(reboot)" } })), { code: "invalid_request" });
});
