// Helpers for the install.sh tests: run the installer with a chosen PATH and HOME, serve a
// release directory over HTTP on 127.0.0.1, and build a fake `nexus`.
import { spawn, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, normalize } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");
export const INSTALL_SH = join(ROOT, "install.sh");

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `sh install.sh ARGS` asynchronously (the release server lives in this process). */
export function runInstaller(args: string[], env: Record<string, string>, cwd = tmpdir()): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", [INSTALL_SH, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Where a command lives on this machine's PATH, or undefined. */
export function which(tool: string): string | undefined {
  try {
    return execFileSync("/bin/sh", ["-c", `command -v "$1"`, "sh", tool], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

// What install.sh itself calls, besides git, ssh and curl.
export const BASE_TOOLS = ["sh", "uname", "awk", "sed", "tr", "grep", "head", "cat", "mktemp", "rm", "rmdir", "mkdir", "cp", "mv", "chmod", "sha256sum"];

/** A temp bin directory holding symlinks to exactly these tools (missing ones are skipped). */
export function toolDir(tools: string[], extra: Record<string, string> = {}): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "nexus-install-bin-"));
  for (const tool of tools) {
    const path = which(tool);
    if (path) symlinkSync(path, join(dir, tool));
  }
  for (const [name, script] of Object.entries(extra)) {
    writeFileSync(join(dir, name), script);
    chmodSync(join(dir, name), 0o755);
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A stand-in for the nexus binary: prints VERSION for --version, appends other argv to $FAKE_NEXUS_LOG. */
export function fakeNexus(version: string, marker = ""): string {
  return `#!/bin/sh
# fake nexus ${marker}
if [ "\${1:-}" = --version ]; then echo ${version}; exit 0; fi
printf '%s\\n' "$*" >> "\${FAKE_NEXUS_LOG:-/dev/null}"
`;
}

export function sha256(content: string | Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

/** Writes <root>/<channel>/<name> files and a SHA256SUMS (overridable) for them. */
export function writeRelease(root: string, channel: string, files: Record<string, string | Buffer>, sums?: string): void {
  const dir = join(root, channel);
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  writeFileSync(join(dir, "SHA256SUMS"), sums ?? Object.entries(files).map(([name, content]) => `${sha256(content)}  ${name}\n`).join(""));
}

export interface ReleaseServer {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

/** Serves the files under `root` on 127.0.0.1 (GET only) and records every request path. */
export async function serveRelease(root: string): Promise<ReleaseServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    requests.push(path);
    const file = normalize(join(root, path));
    if (req.method !== "GET" || !file.startsWith(root) || !existsSync(file)) {
      res.writeHead(404).end("not found\n");
      return;
    }
    try {
      const body = readFileSync(file);
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": body.length }).end(body);
    } catch {
      res.writeHead(404).end("not found\n");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** /etc/os-release's ID and ID_LIKE words, to know which install hint to expect. */
export function osFamilyWords(): string[] {
  try {
    return readFileSync("/etc/os-release", "utf8")
      .split("\n")
      .filter((l) => l.startsWith("ID=") || l.startsWith("ID_LIKE="))
      .flatMap((l) => l.slice(l.indexOf("=") + 1).replace(/"/g, "").split(" "));
  } catch {
    return [];
  }
}
