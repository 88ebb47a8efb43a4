import type { Op } from "./common.js";

export interface EditorTarget {
  /** SSH host alias, `nexus-<workspace>`. */
  host: string;
  workspaceName: string;
  /** Folder to open in the container, e.g. /home/dev/<repo>. */
  remotePath: string;
}

export interface EditorDetection {
  found: boolean;
  path?: string;
  version?: string;
}

export interface EditorLaunch {
  /** The argv that was (or would be) run. */
  command: string[];
}

export interface EditorLauncherInstance {
  detect(op: Op): Promise<EditorDetection>;
  /** Starts the editor without waiting for it to exit. */
  launch(target: EditorTarget, op: Op): Promise<EditorLaunch>;
  /** A URL that opens the target, when the editor has one. */
  deepLink(target: EditorTarget): string | undefined;
  /** The argv launch would run, without running it (for --print). */
  command(target: EditorTarget): string[];
}
