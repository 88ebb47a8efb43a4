// NEXUS_HOME (default ~/.nexus): the user's config, credentials and nexus-owned SSH files.
// The directory is 0700 and secret files 0600, written atomically (temp file + rename).
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { parse, stringify } from "yaml";
import { z } from "zod";
import { NexusError, zodIssuesToDetails } from "@nexus/core";

export function nexusHome(env: Readonly<Record<string, string | undefined>>): string {
  const configured = env.NEXUS_HOME;
  if (configured) {
    if (!isAbsolute(configured)) return resolve(configured);
    return configured;
  }
  return join(env.HOME || homedir(), ".nexus");
}

export function ensureDir(path: string, mode = 0o700): string {
  mkdirSync(path, { recursive: true, mode });
  chmodSync(path, mode);
  return path;
}

/** Writes a file atomically with the given mode: readers never see half a file. */
export function writeFileAtomic(path: string, content: string, mode = 0o600): void {
  ensureDir(dirname(path));
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

export const userConfigSchema = z
  .object({
    server: z.url().optional(),
    repo: z.string().optional(),
    editor: z.string().optional(),
  })
  .loose();
export type UserConfig = z.infer<typeof userConfigSchema>;

export function readUserConfig(home: string): UserConfig {
  const file = join(home, "config.yaml");
  const text = readOptional(file);
  if (text === undefined) return {};
  const parsed = userConfigSchema.safeParse(parse(text) ?? {});
  if (!parsed.success) {
    throw new NexusError("invalid_config", `${file} is invalid`, { details: { file, issues: zodIssuesToDetails(parsed.error.issues) } });
  }
  return parsed.data;
}

export function updateUserConfig(home: string, patch: Partial<UserConfig>): UserConfig {
  const next = { ...readUserConfig(home), ...patch };
  for (const [k, v] of Object.entries(next)) if (v === undefined) delete (next as Record<string, unknown>)[k];
  writeFileAtomic(join(home, "config.yaml"), stringify(next), 0o600);
  return next;
}

const credentialsSchema = z
  .object({
    github: z.object({ token: z.string(), source: z.string(), login: z.string().optional(), api_url: z.string().optional() }).optional(),
    servers: z.record(z.string(), z.object({ api_token: z.string(), user_id: z.string().optional(), github_username: z.string().optional() })).default({}),
  })
  .loose();
export type StoredCredentials = z.infer<typeof credentialsSchema>;

/** credentials.json holds tokens: file 0600 in a 0700 directory, never printed. */
export function readCredentials(home: string): StoredCredentials {
  const file = join(home, "credentials.json");
  const text = readOptional(file);
  if (text === undefined) return { servers: {} };
  try {
    return credentialsSchema.parse(JSON.parse(text));
  } catch (cause) {
    throw new NexusError("invalid_config", `${file} is not valid credentials JSON`, { cause, hint: "Run `nexus auth logout` and log in again." });
  }
}

export function writeCredentials(home: string, credentials: StoredCredentials): void {
  ensureDir(home);
  writeFileAtomic(join(home, "credentials.json"), `${JSON.stringify(credentials, null, 2)}\n`, 0o600);
}
