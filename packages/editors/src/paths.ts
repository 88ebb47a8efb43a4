// Where nexus keeps its SSH files. Every path is absolute: OpenSSH expands `~` from
// the password database, not from $HOME, so a `~` written into a config file could
// point somewhere else than nexus meant.
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { NexusError } from "@nexus/core";
import type { Env } from "./executables.js";
import { assertLocalPath } from "./validate.js";

/** NEXUS_HOME, default `~/.nexus` — the same rule as the CLI's. */
export function resolveNexusHome(env: Env): string {
  return env.NEXUS_HOME ? resolve(env.NEXUS_HOME) : join(env.HOME || homedir(), ".nexus");
}

/** The user's `~/.ssh` (from $HOME, like every other nexus path). */
export function userSshDir(env: Env): string {
  return join(env.HOME || homedir(), ".ssh");
}

export interface NexusSshPaths {
  /** NEXUS_HOME/ssh (0700). */
  dir: string;
  /** NEXUS_HOME/ssh/config: the file `~/.ssh/config` includes. */
  config: string;
  /** NEXUS_HOME/ssh/known_hosts: pinned host keys of the workspaces. */
  knownHosts: string;
  /** ControlPath for connection sharing; `%C` is a fixed-length hash, keeping the socket path short. */
  controlPath: string;
  /** Held while config and known_hosts are rewritten. */
  lock: string;
}

// Glob characters would make `Include` match other files; the rest cannot be written safely.
const UNSAFE_INCLUDE_PATH = /[*?[\]]/;

export function nexusSshPaths(nexusHome: string): NexusSshPaths {
  const home = assertLocalPath(resolve(nexusHome), "NEXUS_HOME");
  if (UNSAFE_INCLUDE_PATH.test(home)) {
    throw new NexusError("invalid_config", `NEXUS_HOME ${JSON.stringify(home)} contains a glob character (* ? [ ])`, {
      details: { field: "NEXUS_HOME", value: home },
      hint: "OpenSSH would treat it as a pattern in `Include`; choose a NEXUS_HOME without * ? [ ].",
    });
  }
  const dir = join(home, "ssh");
  return { dir, config: join(dir, "config"), knownHosts: join(dir, "known_hosts"), controlPath: join(dir, "cm-%C"), lock: join(dir, ".lock") };
}
