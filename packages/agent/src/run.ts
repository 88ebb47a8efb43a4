// Starts the node agent from parsed flags: the chosen provider is loaded by package name
// through the plugin registry, then core's runtime takes over.
import { createNexus, startAgentRuntime, type AgentRuntime, type Logger, type PluginRegistry } from "@nexus/core";
import type { AgentArgs } from "./args.js";

export interface RunningAgent {
  runtime: AgentRuntime;
  registry: PluginRegistry;
  /** Stops the runtime, then disposes the provider. */
  stop(): Promise<void>;
}

export async function runAgent(args: AgentArgs, log: Logger, importer?: (specifier: string) => Promise<unknown>): Promise<RunningAgent> {
  const registry = createNexus(importer ? { importer } : {});
  await registry.load([[args.providerPackage, args.providerOptions]]);
  const failure = registry.failures()[0];
  if (failure) throw failure.error;
  const runtime = await startAgentRuntime({
    server: args.server,
    ...(args.joinToken ? { joinToken: args.joinToken } : {}),
    name: args.name,
    registry,
    providerName: args.provider,
    sshHost: args.sshHost,
    sshPorts: args.sshPorts,
    dataDir: args.dataDir,
    log,
    allowLocalRepos: args.allowLocalRepos,
    ...(args.maxWorkspaces === undefined ? {} : { capacity: { max_workspaces: args.maxWorkspaces } }),
    ...(args.githubHost === undefined ? {} : { githubHost: args.githubHost }),
    allowedRepoHosts: args.allowedRepoHosts,
    allowHttpRepos: args.allowHttpRepos,
    ...(args.caBundle === undefined ? {} : { caBundle: args.caBundle }),
    labels: args.labels,
  });
  return {
    runtime,
    registry,
    async stop() {
      await runtime.stop();
      await registry.dispose();
    },
  };
}
