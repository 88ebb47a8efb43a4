// The Engine's archive API speaks tar. Entries are built in memory with node-tar's
// header and PAX encoders (long paths, large ids) and read back with its parser.
import { Header, Parser, Pax, type ReadEntry } from "tar";

const BLOCK = 512;

export interface TarEntry {
  /** Relative path inside the archive, `/`-separated, no leading slash. */
  path: string;
  type: "file" | "directory";
  /** File content; ignored for directories. */
  data?: string | Uint8Array;
  mode: number;
  uid: number;
  gid: number;
}

/** One tar stream holding `entries` in order, with the two zero blocks that end an archive. */
export function buildTar(entries: readonly TarEntry[], mtime: Date = new Date()): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    if (entry.path.startsWith("/") || entry.path.split("/").includes("..") || entry.path.length === 0) {
      throw new Error(`tar entry path must be relative and stay inside the archive: ${JSON.stringify(entry.path)}`);
    }
    const data = entry.type === "file" ? Buffer.from(entry.data ?? "") : Buffer.alloc(0);
    const path = entry.type === "directory" && !entry.path.endsWith("/") ? `${entry.path}/` : entry.path;
    const fields = {
      path,
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      size: data.length,
      mtime,
      type: entry.type === "file" ? "File" : "Directory",
    } as const;
    const header = new Header(fields);
    const block = Buffer.alloc(BLOCK);
    if (header.encode(block, 0)) parts.push(new Pax(fields).encode());
    parts.push(block, data);
    const padding = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (padding > 0) parts.push(Buffer.alloc(padding));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

export interface ReadTarEntry {
  path: string;
  type: string;
  mode: number | undefined;
  uid: number | undefined;
  gid: number | undefined;
  data: Buffer;
}

/** Every entry of an in-memory tar stream, with its content. */
export function readTar(archive: Uint8Array): Promise<ReadTarEntry[]> {
  return new Promise((resolve, reject) => {
    const entries: ReadTarEntry[] = [];
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        const chunks: Buffer[] = [];
        entry.on("data", (chunk: Buffer) => chunks.push(chunk));
        entry.on("end", () => {
          entries.push({ path: entry.path, type: entry.type, mode: entry.mode, uid: entry.uid, gid: entry.gid, data: Buffer.concat(chunks) });
        });
      },
    });
    parser.on("error", reject);
    parser.on("end", () => resolve(entries));
    parser.end(Buffer.from(archive));
  });
}
