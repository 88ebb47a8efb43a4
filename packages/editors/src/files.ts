// Small file primitives for configuration that other programs read while nexus writes
// it: atomic replacement (temp file in the same directory + fsync + rename, so OpenSSH
// never sees half a file) and a lock file so two nexus processes never interleave a
// read-modify-write.
import { randomUUID } from "node:crypto";
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { NexusError } from "@nexus/core";

export function readOptional(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Replaces `path` with `content` atomically; the file gets exactly `mode`. */
export function writeFileAtomic(path: string, content: string | Buffer, mode = 0o600): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
  const fd = openSync(tmp, "wx", mode);
  try {
    writeSync(fd, typeof content === "string" ? Buffer.from(content, "utf8") : content);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(tmp);
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (error) {
    unlinkSync(tmp);
    throw error;
  }
}

export interface FileLockOptions {
  /** How long to wait for another holder (default 10 s). */
  timeoutMs?: number;
  /** A lock older than this is abandoned even if its holder cannot be checked (default 30 s). */
  staleMs?: number;
}

const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
const DEFAULT_STALE_MS = 30_000;

function processIsGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/**
 * A lock whose holder died (same host, pid gone) or that is older than `staleMs` is
 * removed — but only if it still has the content judged stale, so a lock that another
 * waiter has just re-created is never taken away from it.
 */
function removeIfStale(lockPath: string, staleMs: number): boolean {
  let content: string;
  let ageMs: number;
  try {
    content = readFileSync(lockPath, "utf8");
    ageMs = Date.now() - statSync(lockPath).mtimeMs;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw error;
  }
  const [pid, host] = content.split(" ");
  const holderDied = host === hostname() && Number.isInteger(Number(pid)) && Number(pid) > 0 && processIsGone(Number(pid));
  if (!holderDied && ageMs < staleMs) return false;
  try {
    if (readFileSync(lockPath, "utf8") !== content) return false;
    unlinkSync(lockPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  return true;
}

/** Runs `critical` while holding `lockPath` (created with O_EXCL), then releases it. */
export async function withFileLock<T>(lockPath: string, critical: () => T | Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
  const token = `${process.pid} ${hostname()} ${randomUUID()}\n`;
  for (;;) {
    try {
      const fd = openSync(lockPath, "wx", 0o600);
      try {
        writeSync(fd, token);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      if (removeIfStale(lockPath, options.staleMs ?? DEFAULT_STALE_MS)) continue;
      if (Date.now() > deadline) {
        throw new NexusError("timeout", `another nexus process holds ${lockPath}`, {
          details: { lock: lockPath },
          hint: `Wait for the other nexus command to finish; if none is running, delete ${lockPath}.`,
        });
      }
      await sleep(5 + Math.floor(Math.random() * 20));
    }
  }
  try {
    return await critical();
  } finally {
    try {
      if (readFileSync(lockPath, "utf8") === token) unlinkSync(lockPath);
    } catch {
      // Already gone (removed as stale after a very long hold): nothing to release.
    }
  }
}
