// From a workspace as the API reports it (GET /workspaces/{id}) to what the editors
// and the SSH config need: the `nexus-<ws>` entry and the folder to open.
import { NexusError, type EditorTarget, type WorkspaceDetail } from "@nexus/core";
import type { PortForward, WorkspaceSshEntry } from "./ssh-config.js";
import { assertRemotePath, assertWorkspaceName, hostAlias } from "./validate.js";

/** The folder an editor opens: the API's `ssh.path`, else `/home/dev/<repo>`. */
export function editorTargetFromWorkspace(detail: WorkspaceDetail): EditorTarget {
  const workspaceName = assertWorkspaceName(detail.workspace_name);
  const remotePath = assertRemotePath(detail.ssh.path || `/home/dev/${detail.repository.name}`);
  return { host: hostAlias(workspaceName), workspaceName, remotePath };
}

/** Services with both a workspace port and a local port, as LocalForwards. */
export function forwardsFromWorkspace(detail: WorkspaceDetail): PortForward[] {
  return Object.values(detail.services)
    .filter((s) => s.port !== null && s.local_port !== null)
    .map((s) => ({ localPort: s.local_port!, remotePort: s.port!, service: s.name }))
    .sort((a, b) => a.localPort - b.localPort);
}

/**
 * The SSH entry for a running workspace. A workspace that is not running, or whose
 * node has not reported its SSH endpoint and host key yet, has none.
 */
export function sshEntryFromWorkspace(detail: WorkspaceDetail, options: { identityFile?: string } = {}): WorkspaceSshEntry {
  const name = detail.workspace_name;
  if (detail.status !== "running") {
    throw new NexusError("invalid_transition", `workspace ${name} is ${detail.status}, not running`, {
      details: { workspace: name, status: detail.status },
      hint: detail.status === "stopped" ? `Start it with \`nexus workspace start ${name}\`.` : `Run \`nexus workspace status ${name} --watch\` and try again once it is running.`,
    });
  }
  const { host, port, host_key: hostKey } = detail.ssh;
  if (host === null || port === null || hostKey === null) {
    throw new NexusError("invalid_transition", `workspace ${name} has no SSH endpoint yet (host ${host ?? "?"}, port ${port ?? "?"}, host key ${hostKey ? "known" : "unknown"})`, {
      details: { workspace: name },
      hint: `Run \`nexus workspace status ${name}\`; the node reports the endpoint once the container's sshd is up.`,
    });
  }
  return {
    workspace: name,
    hostName: host,
    port,
    hostKey,
    ...(options.identityFile ? { identityFile: options.identityFile } : {}),
    forwards: forwardsFromWorkspace(detail),
  };
}
