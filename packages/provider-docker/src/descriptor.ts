import { defineProvider, PLUGIN_API_VERSION, type ProviderDescriptor } from "@nexus/core";
import { dockerOptionsSchema, type DockerOptions, type DockerOptionsInput } from "./options.js";

export const dockerProvider: ProviderDescriptor<DockerOptions> = defineProvider<DockerOptions>({
  name: "docker",
  apiVersion: PLUGIN_API_VERSION,
  description: "Workspaces as Docker Engine containers (API over the unix socket or DOCKER_HOST), SSH published on a node port",
  capabilities: { exec: true, logs: true, snapshot: false },
  options: dockerOptionsSchema,
  async create(ctx, options) {
    // The implementation (undici, tar) loads only when a docker provider is instantiated.
    const { createDockerProvider } = await import("./provider.js");
    return createDockerProvider(ctx, options);
  },
});

/** `createNexus({ providers: [docker({ network: "ws" })] })`: the descriptor with its options. */
export function docker(options: DockerOptionsInput = {}): readonly [ProviderDescriptor<DockerOptions>, DockerOptionsInput] {
  return [dockerProvider, options] as const;
}
