// Files the server keeps next to its database or in NEXUS_HOME: the admin token it
// generates when none is configured, and in single-machine mode the local user's token
// file (read by the CLI) and the public keys the CLI registers locally. Secrets are
// 0600 in 0700 directories, written atomically.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { newToken } from "@nexus/core";

export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
}

export function writePrivateFile(path: string, content: string): void {
  ensurePrivateDir(dirname(path));
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, content, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** The admin token in `<dataDir>/admin-token`, generated on first start. */
export function loadOrCreateAdminToken(dataDir: string): string {
  const file = join(dataDir, "admin-token");
  const existing = readOptional(file)?.trim();
  if (existing) return existing;
  const token = newToken("admin");
  writePrivateFile(file, `${token}\n`);
  return token;
}

/** `<NEXUS_HOME>/server/local-token`: `{ url, token, user_id, username }` for the CLI. */
export interface LocalTokenFile {
  url: string;
  token: string;
  user_id: string;
  username: string;
}

export function localTokenPath(nexusHome: string): string {
  return join(nexusHome, "server", "local-token");
}

export function readLocalToken(nexusHome: string): LocalTokenFile | undefined {
  const text = readOptional(localTokenPath(nexusHome));
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<LocalTokenFile>;
    return typeof parsed.token === "string" ? (parsed as LocalTokenFile) : undefined;
  } catch {
    return undefined;
  }
}

export function writeLocalToken(nexusHome: string, file: LocalTokenFile): void {
  writePrivateFile(localTokenPath(nexusHome), `${JSON.stringify(file, null, 2)}\n`);
}

/** `<NEXUS_HOME>/server/authorized_keys`: public keys the CLI registers for the local user (one per line). */
export function localKeysPath(nexusHome: string): string {
  return join(nexusHome, "server", "authorized_keys");
}

export function readLocalKeys(nexusHome: string): string[] {
  return (readOptional(localKeysPath(nexusHome)) ?? "").split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"));
}
