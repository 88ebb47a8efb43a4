// Whether the local OpenSSH can share one connection per workspace (ControlMaster).
// It needs Unix domain sockets (Windows' OpenSSH has none) and `%C` in ControlPath
// (OpenSSH 6.7+); the socket path must also fit in sun_path.
import { execFile } from "node:child_process";
import { silentLogger, type Op } from "@nexus/core";
import { childEnv, findExecutable, type Env } from "./executables.js";

export interface ConnectionSharingSupport {
  supported: boolean;
  /** `ssh -V`, e.g. `OpenSSH_9.2p1 Debian-2+deb12u6, OpenSSL 3.0.19`. */
  version?: string;
  reason?: string;
}

const MIN_VERSION: readonly [number, number] = [6, 7];
// sun_path is 104 bytes on macOS/BSD (108 on Linux); ssh first binds `<path>.<16 random chars>`.
const MAX_SOCKET_PATH = 103;
const CONTROL_PATH_HASH_LENGTH = 40;
const TEMP_SOCKET_SUFFIX_LENGTH = 17;

/** Support judged from `ssh -V` output and the platform (pure, for tests). */
export function connectionSharingFromVersion(versionOutput: string, platform: NodeJS.Platform = process.platform): ConnectionSharingSupport {
  const version = versionOutput.split(/\r?\n/)[0]?.trim() ?? "";
  if (platform === "win32" || /for_Windows/i.test(version)) return { supported: false, version, reason: "Windows OpenSSH has no connection sharing" };
  const match = /^OpenSSH_(\d+)\.(\d+)/.exec(version);
  if (!match) return { supported: false, version, reason: "not OpenSSH" };
  const [major, minor] = [Number(match[1]), Number(match[2])];
  if (major < MIN_VERSION[0] || (major === MIN_VERSION[0] && minor < MIN_VERSION[1])) {
    return { supported: false, version, reason: `OpenSSH ${major}.${minor} is older than ${MIN_VERSION.join(".")}` };
  }
  return { supported: true, version };
}

/** Whether a ControlPath of `<dir>/cm-%C` fits in a Unix socket address. */
export function controlPathFits(controlPath: string): boolean {
  const expanded = Buffer.byteLength(controlPath.replace("%C", "x".repeat(CONTROL_PATH_HASH_LENGTH)));
  return expanded + TEMP_SOCKET_SUFFIX_LENGTH <= MAX_SOCKET_PATH;
}

/** Runs `ssh -V` (found on `env.PATH`) and judges support. Never throws. */
export function detectConnectionSharing(env: Env = process.env, op: Op = { signal: AbortSignal.timeout(5000), log: silentLogger }): Promise<ConnectionSharingSupport> {
  const ssh = findExecutable("ssh", env);
  if (!ssh) return Promise.resolve({ supported: false, reason: "ssh is not on PATH" });
  return new Promise((resolve) => {
    execFile(ssh, ["-V"], { timeout: 3000, killSignal: "SIGKILL", signal: op.signal, env: childEnv(env), windowsHide: true, encoding: "utf8" }, (error, stdout, stderr) => {
      const output = `${stderr}${stdout}`.trim();
      if (error && !output) {
        resolve({ supported: false, reason: `ssh -V failed: ${error.message}` });
        return;
      }
      resolve(connectionSharingFromVersion(output));
    });
  });
}
