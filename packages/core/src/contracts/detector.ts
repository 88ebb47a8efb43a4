/** A read-only view of a repository's files. Paths are POSIX, relative to the repo root. */
export interface FileView {
  read(path: string): string | undefined;
  exists(path: string): boolean;
  /** Entries (names, not paths) of a directory; [] when absent. Directories end with "/". */
  list(dir: string): string[];
}

export interface ServiceHintService {
  name: string;
  command: string;
  port?: number;
  expose?: boolean;
  depends_on?: string[];
  env?: Record<string, string>;
  health_check?: { type: "http"; path: string } | { type: "tcp" } | { type: "exec"; command: string };
}

/** One guess a detector makes, with the reason shown to the user. */
export interface ServiceHint {
  detector: string;
  /** Package directory relative to the repo root ("." for the root). */
  dir: string;
  /** Why this was guessed (e.g. "package.json has a `dev` script running vite"). */
  reason: string;
  setup?: string[];
  post_start?: string[];
  env?: Record<string, string>;
  service?: ServiceHintService;
}

export interface ServiceDetectorInstance {
  /** Pure: no I/O beyond the file view. */
  detect(files: FileView): ServiceHint[];
}
