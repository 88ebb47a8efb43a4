import type { Logger } from "../logger.js";

/** Every plugin call is cancellable and gets a scoped logger. */
export interface Op {
  signal: AbortSignal;
  log: Logger;
}

/** What a plugin factory receives: a logger, the environment, and where it may keep files. */
export interface PluginContext {
  log: Logger;
  env: Readonly<Record<string, string | undefined>>;
  /** A directory the plugin owns for caches (e.g. NEXUS_HOME/cache/<plugin>). */
  dataDir: string;
}

/** Contract version checked at registration; bump on a breaking change. */
export const PLUGIN_API_VERSION = 1 as const;
