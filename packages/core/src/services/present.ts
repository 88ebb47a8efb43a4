// Store records → wire responses (SPEC §5 field names and nullability).
import { isErrorCode } from "../errors.js";
import type { NodeRecord, ServiceRecord, WorkspaceErrorInfo, WorkspaceHealth, WorkspaceRecord } from "../contracts/store.js";
import { CREATE_PHASES, type CreatePhase } from "../state.js";
import type { Phase, WorkspaceError } from "../wire/common.js";
import { parseRepositoryUrl } from "../wire/repo-url.js";
import type { ServiceListItem, ServiceStatus, WorkspaceDetail, WorkspaceSummary } from "../wire/workspaces.js";

export function wireError(error: WorkspaceErrorInfo): WorkspaceError {
  return {
    code: isErrorCode(error.code) ? error.code : "internal_error",
    message: error.message,
    ...((CREATE_PHASES as readonly string[]).includes(error.phase ?? "") ? { phase: error.phase as CreatePhase } : {}),
  };
}

export function serviceUrl(service: Pick<ServiceRecord, "local_port">): string | null {
  return service.local_port === null ? null : `http://localhost:${service.local_port}`;
}

export function serviceStatus(service: ServiceRecord): ServiceStatus {
  return {
    name: service.name,
    status: service.status,
    health: service.health,
    port: service.port,
    local_port: service.local_port,
    url: serviceUrl(service),
    last_check: service.last_check,
    last_error: service.last_error,
  };
}

export function serviceListItem(service: ServiceRecord): ServiceListItem {
  return { ...serviceStatus(service), depends_on: [...service.depends_on] };
}

/** `degraded` = running with at least one unhealthy service (SPEC §3). */
export function workspaceHealth(status: WorkspaceRecord["status"], services: readonly ServiceRecord[]): WorkspaceHealth {
  if (status === "error") return "unhealthy";
  if (status !== "running") return "unknown";
  if (services.some((s) => s.health === "unhealthy" || s.status === "unhealthy" || s.status === "error")) return "degraded";
  return services.every((s) => s.health === "healthy") ? "healthy" : "unknown";
}

function upstreamInfo(url: string): { owner: string; name: string; url: string } {
  const parsed = parseRepositoryUrl(url);
  if (parsed.ok && parsed.value.owner !== undefined && parsed.value.name !== undefined) {
    return { owner: parsed.value.owner, name: parsed.value.name, url };
  }
  const segments = (parsed.ok ? parsed.value.path : url).split("/").filter(Boolean);
  return { owner: segments.at(-2) ?? "", name: (segments.at(-1) ?? "").replace(/\.git$/i, ""), url };
}

export function workspaceSummary(workspace: WorkspaceRecord, nodeName: string | null, servicesCount: number): WorkspaceSummary {
  return {
    workspace_id: workspace.workspace_id,
    workspace_name: workspace.workspace_name,
    status: workspace.status,
    provider: workspace.provider,
    node: nodeName,
    ssh_port: workspace.ssh_port,
    created_at: workspace.created_at,
    services_count: servicesCount,
  };
}

export function workspaceDetail(workspace: WorkspaceRecord, node: NodeRecord | undefined, phases: readonly Phase[], services: readonly ServiceRecord[]): WorkspaceDetail {
  const { repo } = workspace;
  return {
    workspace_id: workspace.workspace_id,
    workspace_name: workspace.workspace_name,
    status: workspace.status,
    health: workspace.health,
    provider: workspace.provider,
    node: node?.name ?? null,
    created_at: workspace.created_at,
    updated_at: workspace.updated_at,
    ...(workspace.status === "error" && workspace.error ? { error: wireError(workspace.error) } : {}),
    phases: [...phases],
    ssh: {
      host: node?.ssh_host ?? null,
      port: workspace.ssh_port,
      user: "dev",
      host_key: workspace.host_key,
      path: `/home/dev/${repo.name}`,
    },
    services: Object.fromEntries(services.map((service) => [service.name, serviceStatus(service)])),
    repository: {
      owner: repo.owner,
      name: repo.name,
      branch: repo.branch,
      commit: repo.commit ?? null,
      url: repo.url,
      ...(repo.upstream === undefined ? {} : { upstream: upstreamInfo(repo.upstream) }),
    },
  };
}
