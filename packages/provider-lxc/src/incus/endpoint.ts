import { stat } from "node:fs/promises";
import { NexusError } from "@nexus/core";
import { DEFAULT_SOCKET_PATHS, type LxcOptions } from "../options.js";
import type { IncusEndpoint } from "./client.js";

async function isSocket(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isSocket();
  } catch {
    return false;
  }
}

/** The first candidate path that is a unix socket (Incus first, then LXD, then the LXD snap). */
export async function detectSocket(candidates: readonly string[] = DEFAULT_SOCKET_PATHS): Promise<string | undefined> {
  for (const path of candidates) if (await isSocket(path)) return path;
  return undefined;
}

/** Where to send API requests, from the options; auto-detects the local socket. */
export async function resolveEndpoint(options: Pick<LxcOptions, "socket" | "remote">, candidates: readonly string[] = DEFAULT_SOCKET_PATHS): Promise<IncusEndpoint> {
  if (options.remote) return { kind: "remote", ...options.remote };
  if (options.socket) return { kind: "socket", socketPath: options.socket };
  const found = await detectSocket(candidates);
  if (found) return { kind: "socket", socketPath: found };
  throw new NexusError("provider_unavailable", `lxc: no Incus or LXD socket found (looked in ${candidates.join(", ")})`, {
    details: { plugin: "lxc", candidates: [...candidates] },
    hint: "Install and start Incus (or LXD), or set the lxc provider's `socket` option. Run `nexus doctor`.",
  });
}
