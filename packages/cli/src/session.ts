// Which server the CLI talks to, and with which token. Shared by every server-facing command.
//   server: --server / NEXUS_SERVER → NEXUS_HOME/config.yaml `server` → the local single-machine server
//   token:  NEXUS_TOKEN → credentials.json servers[url].api_token → the local server's token file → the stored GitHub token
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient, type NexusClient } from "@nexus/core";
import type { CommandContext } from "./io.js";
import { nexusHome, readCredentials, readUserConfig } from "./home.js";

export const DEFAULT_LOCAL_SERVER = "http://127.0.0.1:3001";

export interface ServerSession {
  url: string;
  /** Where the token came from, for `auth status` and error hints; never the token itself. */
  tokenSource: "env" | "credentials" | "local" | "github" | "none";
  client: NexusClient;
  home: string;
}

/** The token file a single-machine server writes: `{ "url": ..., "token": ... }` (0600). */
export function readLocalServerToken(home: string): { url: string; token: string } | undefined {
  try {
    const parsed = JSON.parse(readFileSync(join(home, "server", "local-token"), "utf8")) as { url?: unknown; token?: unknown };
    if (typeof parsed.url === "string" && typeof parsed.token === "string") return { url: parsed.url, token: parsed.token };
  } catch {
    // absent or unreadable: no local server
  }
  return undefined;
}

function sameServer(a: string, b: string): boolean {
  return a.replace(/\/+$/, "") === b.replace(/\/+$/, "");
}

export function serverSession(ctx: CommandContext): ServerSession {
  const home = nexusHome(ctx.io.env);
  const local = readLocalServerToken(home);
  const url = (ctx.server ?? readUserConfig(home).server ?? local?.url ?? DEFAULT_LOCAL_SERVER).replace(/\/+$/, "");
  const credentials = readCredentials(home);
  let token: string | undefined;
  let tokenSource: ServerSession["tokenSource"] = "none";
  if (ctx.io.env.NEXUS_TOKEN) {
    token = ctx.io.env.NEXUS_TOKEN;
    tokenSource = "env";
  } else if (credentials.servers[url]?.api_token) {
    token = credentials.servers[url]!.api_token;
    tokenSource = "credentials";
  } else if (local && sameServer(local.url, url)) {
    token = local.token;
    tokenSource = "local";
  } else if (credentials.github?.token) {
    token = credentials.github.token;
    tokenSource = "github";
  }
  return { url, tokenSource, home, client: createClient({ server: url, ...(token ? { token } : {}) }) };
}
