// Shared by the real-Incus suites: the run label, a sweep, raw API access for decoys,
// and an OpenSSH client login.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { LABELS, silentLogger, type Op, type ProviderInstance } from "@nexus/core";
import { IncusClient } from "../src/incus/client.js";
import { detectSocket } from "../src/incus/endpoint.js";
import { LxcProvider } from "../src/provider.js";
import { lxcOptionsSchema, type LxcOptionsInput } from "../src/options.js";

const run = promisify(execFile);

/** Every container these suites create carries `nexus.test-run=<this>`. */
export const TEST_RUN = `lxc-${randomUUID()}`;

export function op(ms = 120_000): Op {
  return { signal: AbortSignal.timeout(ms), log: silentLogger };
}

/** The local daemon's socket; the real suites need one (they are not optional). */
export async function requireSocket(): Promise<string> {
  const socket = await detectSocket();
  if (!socket) throw new Error("no Incus/LXD socket: start the engines (scripts/engines/setup.sh) before `npm run test:real`");
  return socket;
}

export function realProvider(options: LxcOptionsInput = {}): LxcProvider {
  return new LxcProvider({ log: silentLogger, env: process.env, dataDir: tmpdir() }, lxcOptionsSchema.parse(options));
}

export function rawClient(socketPath: string): IncusClient {
  return new IncusClient({ kind: "socket", socketPath });
}

/** Destroys every container of this run (and only those). */
export async function sweep(provider: ProviderInstance): Promise<string[]> {
  const mine = (await provider.list(op())).filter((h) => h.labels[LABELS.testRun] === TEST_RUN);
  for (const handle of mine) await provider.destroy(handle, op());
  return mine.map((h) => h.id);
}

/** A throwaway OpenSSH key pair made by ssh-keygen, in a temp dir removed by cleanup(). */
export async function sshKeyPair(): Promise<{ dir: string; keyFile: string; publicKey: string; cleanup(): void }> {
  const dir = mkdtempSync(join(tmpdir(), "nexus-lxc-ssh-"));
  const keyFile = join(dir, "id_ed25519");
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "nexus-lxc-test", "-f", keyFile]);
  return { dir, keyFile, publicKey: readFileSync(`${keyFile}.pub`, "utf8").trim(), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Logs in with the OpenSSH client as dev and runs a (constant) remote shell command;
 * returns stdout and the host key the client recorded in a fresh known_hosts file.
 */
export async function sshAsDev(keyFile: string, port: number, command: string, knownHosts: string): Promise<{ stdout: string; hostKey: string }> {
  const { stdout } = await run(
    "ssh",
    [
      "-i", keyFile,
      "-p", String(port),
      "-o", `UserKnownHostsFile=${knownHosts}`,
      "-o", "StrictHostKeyChecking=accept-new",
      "-o", "HashKnownHosts=no",
      "-o", "GlobalKnownHostsFile=/dev/null",
      "-o", "BatchMode=yes",
      "-o", "IdentitiesOnly=yes",
      "-o", "ConnectTimeout=10",
      "-o", "LogLevel=ERROR",
      "dev@127.0.0.1",
      "--",
      command,
    ],
    { timeout: 30_000 },
  );
  const line = readFileSync(knownHosts, "utf8").split("\n").find((l) => l.includes(" ssh-ed25519 "));
  return { stdout, hostKey: line ? line.split(/\s+/).slice(1, 3).join(" ") : "" };
}
