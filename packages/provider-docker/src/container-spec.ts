// Pure translation of a WorkspaceSpec into the Engine's create-container body.
import { LABELS, type WorkspaceSpec } from "@nexus/core";
import { BOOT_COMMAND, CA_BUNDLE_PATH } from "./boot.js";

/** Docker-only label: the published SSH port, so `list` knows it for stopped containers too. */
export const SSH_PORT_LABEL = "nexus.ssh-port";
export const SSH_CONTAINER_PORT = "22/tcp";

/** `nx-<name>-<last 8 id characters>`: readable in `docker ps`, distinct per workspace. */
export function containerName(spec: Pick<WorkspaceSpec, "name" | "workspaceId">): string {
  const shortId = spec.workspaceId.toLowerCase().replace(/[^a-z0-9]/g, "").slice(-8);
  return `nx-${spec.name}-${shortId}`;
}

export function containerLabels(spec: WorkspaceSpec): Record<string, string> {
  return {
    ...spec.labels,
    [LABELS.managed]: "true",
    [LABELS.workspace]: spec.workspaceId,
    [LABELS.name]: spec.name,
    [SSH_PORT_LABEL]: String(spec.sshPort),
  };
}

export interface CreateBodyInput {
  spec: WorkspaceSpec;
  image: string;
  network: string;
  /** Whether extra CA certificates are injected (then Node is told where they are). */
  withCaBundle: boolean;
}

export function createContainerBody({ spec, image, network, withCaBundle }: CreateBodyInput): Record<string, unknown> {
  const hostConfig: Record<string, unknown> = {
    PortBindings: { [SSH_CONTAINER_PORT]: [{ HostIp: spec.sshBindAddress ?? "0.0.0.0", HostPort: String(spec.sshPort) }] },
    NetworkMode: network,
    // tini as PID 1: reaps the zombies of everything users start, forwards SIGTERM to sshd.
    Init: true,
    RestartPolicy: { Name: "no" },
  };
  if (spec.resources?.cpu !== undefined) hostConfig.NanoCpus = Math.round(spec.resources.cpu * 1e9);
  if (spec.resources?.memoryBytes !== undefined) hostConfig.Memory = spec.resources.memoryBytes;
  return {
    Image: image,
    Hostname: spec.name,
    // The base image is an imported rootfs without ENTRYPOINT/CMD; setting Entrypoint
    // also keeps any image's own entrypoint from wrapping the boot script.
    Entrypoint: BOOT_COMMAND,
    Cmd: null,
    Env: withCaBundle ? [`NODE_EXTRA_CA_CERTS=${CA_BUNDLE_PATH}`] : [],
    Labels: containerLabels(spec),
    ExposedPorts: { [SSH_CONTAINER_PORT]: {} },
    HostConfig: hostConfig,
    NetworkingConfig: { EndpointsConfig: { [network]: {} } },
  };
}
