// The in-memory filesystem of one fake container. Permissions are recorded (mode,
// uid, gid) and reported by `stat`, but not enforced: the fake models what a provider
// does, not what the kernel checks.
import { posix } from "node:path";

export interface FakeFileEntry {
  kind: "file" | "dir";
  data: Buffer;
  mode: number;
  uid: number;
  gid: number;
}

export class FakeFileSystem {
  readonly #entries = new Map<string, FakeFileEntry>();

  constructor(dirs: Array<[path: string, mode: number, uid: number]>) {
    this.#entries.set("/", { kind: "dir", data: Buffer.alloc(0), mode: 0o755, uid: 0, gid: 0 });
    for (const [path, mode, uid] of dirs) this.mkdir(path, { parents: true, mode, uid, gid: uid });
  }

  static resolve(cwd: string, path: string): string {
    return posix.resolve(cwd, path);
  }

  get(path: string): FakeFileEntry | undefined {
    return this.#entries.get(posix.resolve("/", path));
  }

  isDir(path: string): boolean {
    return this.get(path)?.kind === "dir";
  }

  isFile(path: string): boolean {
    return this.get(path)?.kind === "file";
  }

  read(path: string): Buffer | undefined {
    const entry = this.get(path);
    return entry?.kind === "file" ? entry.data : undefined;
  }

  /**
   * Writes a file whose parent directory exists; returns an error message otherwise.
   * Mode and owner given here win; else an existing file keeps its own; else `creator` owns it.
   */
  write(
    path: string,
    data: Buffer,
    options: { mode?: number; uid?: number; gid?: number; append?: boolean },
    creator: { uid: number; gid: number } = { uid: 0, gid: 0 },
  ): string | undefined {
    const full = posix.resolve("/", path);
    if (!this.isDir(posix.dirname(full))) return `${full}: parent directory does not exist`;
    const existing = this.#entries.get(full);
    if (existing?.kind === "dir") return `${full}: is a directory`;
    this.#entries.set(full, {
      kind: "file",
      data: options.append && existing ? Buffer.concat([existing.data, data]) : Buffer.from(data),
      mode: options.mode ?? existing?.mode ?? 0o644,
      uid: options.uid ?? existing?.uid ?? creator.uid,
      gid: options.gid ?? existing?.gid ?? creator.gid,
    });
    return undefined;
  }

  mkdir(path: string, options: { parents?: boolean; mode?: number; uid?: number; gid?: number } = {}): string | undefined {
    const full = posix.resolve("/", path);
    const existing = this.#entries.get(full);
    if (existing) return existing.kind === "dir" && options.parents ? undefined : `${full}: already exists`;
    const parent = posix.dirname(full);
    if (!this.isDir(parent)) {
      if (!options.parents || this.#entries.has(parent)) return `${full}: parent directory does not exist`;
      const failure = this.mkdir(parent, options);
      if (failure) return failure;
    }
    this.#entries.set(full, { kind: "dir", data: Buffer.alloc(0), mode: options.mode ?? 0o755, uid: options.uid ?? 0, gid: options.gid ?? 0 });
    return undefined;
  }

  remove(path: string, options: { recursive?: boolean } = {}): string | undefined {
    const full = posix.resolve("/", path);
    const entry = this.#entries.get(full);
    if (!entry) return `${full}: no such file or directory`;
    if (full === "/") return "refusing to remove /";
    const children = [...this.#entries.keys()].filter((p) => p.startsWith(`${full}/`));
    if (entry.kind === "dir" && children.length > 0 && !options.recursive) return `${full}: directory not empty`;
    for (const child of children) this.#entries.delete(child);
    this.#entries.delete(full);
    return undefined;
  }

  /** Names in a directory, sorted; directories end with "/". */
  list(path: string): string[] | undefined {
    const full = posix.resolve("/", path);
    if (!this.isDir(full)) return undefined;
    const prefix = full === "/" ? "/" : `${full}/`;
    return [...this.#entries.entries()]
      .filter(([p]) => p !== full && p.startsWith(prefix) && !p.slice(prefix.length).includes("/"))
      .map(([p, e]) => p.slice(prefix.length) + (e.kind === "dir" ? "/" : ""))
      .sort();
  }

  chmod(path: string, mode: number): string | undefined {
    const entry = this.get(path);
    if (!entry) return `${path}: no such file or directory`;
    entry.mode = mode;
    return undefined;
  }
}
