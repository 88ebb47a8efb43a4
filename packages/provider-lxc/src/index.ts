// @nexus/provider-lxc: workspaces as Incus/LXD system containers.
import { PLUGIN_API_VERSION, defineProvider, type ProviderDescriptor } from "@nexus/core";
import { lxcOptionsSchema, type LxcOptions, type LxcOptionsInput } from "./options.js";

export const lxcProvider: ProviderDescriptor<LxcOptions> = defineProvider<LxcOptions>({
  name: "lxc",
  apiVersion: PLUGIN_API_VERSION,
  description: "Incus or LXD system containers over the REST API (unix socket or HTTPS)",
  capabilities: { exec: true, logs: false, snapshot: true },
  options: lxcOptionsSchema,
  async create(ctx, options) {
    const { LxcProvider } = await import("./provider.js");
    return new LxcProvider(ctx, options);
  },
});

/** `lxc({ storagePool: "nexus" })` → `[descriptor, options]`, the form plugin registration takes. */
export function lxc(options: LxcOptionsInput = {}): readonly [ProviderDescriptor<LxcOptions>, LxcOptionsInput] {
  return [lxcProvider, options] as const;
}

export default lxcProvider;
export { lxcOptionsSchema, DEFAULT_IMAGE, DEFAULT_SOCKET_PATHS, type LxcOptions, type LxcOptionsInput } from "./options.js";
export { detectSocket } from "./incus/endpoint.js";
export { SSH_DEVICE, instanceName } from "./naming.js";
export { waitForSshBanner, type SshBannerOptions } from "./ssh-ready.js";
export type { LxcProvider } from "./provider.js";
// The base-image builder (`nexus node image build`).
export * from "./image/index.js";
