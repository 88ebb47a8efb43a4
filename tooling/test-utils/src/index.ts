// Private test helpers shared by every package's tests.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { once } from "node:events";
import { createServer, type AddressInfo } from "node:net";
import { Writable } from "node:stream";

export type FileTree = { [path: string]: string | FileTree | { content: string; mode: number } };

/** Writes an inline file tree into a fresh temp dir and returns its path. */
export function tempTree(tree: FileTree = {}, prefix = "nexus-test-"): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeTree(dir, tree);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeTree(root: string, tree: FileTree): void {
  for (const [name, value] of Object.entries(tree)) {
    const path = join(root, name);
    if (typeof value === "string") {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, value);
    } else if ("content" in value && typeof value.content === "string" && typeof value.mode === "number") {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, value.content);
      chmodSync(path, value.mode);
    } else {
      mkdirSync(path, { recursive: true });
      writeTree(path, value as FileTree);
    }
  }
}

/** A writable stream that keeps everything written to it (for logs and CLI output). */
export class Capture extends Writable {
  chunks: string[] = [];
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk.toString());
    cb();
  }
  get text(): string {
    return this.chunks.join("");
  }
  lines(): unknown[] {
    return this.text.split("\n").filter(Boolean).map((l) => JSON.parse(l));
  }
}

/** A loopback port nothing listens on now (for a server a test starts there). */
export async function freePort(): Promise<number> {
  const probe = createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
