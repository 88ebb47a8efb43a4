// Runs one build step's process (no shell), forwarding its output line by line
// and keeping the last lines for the error report.

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Argv } from "./commands.js";

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines of stdout and stderr, interleaved as they arrived. */
  tail: string[];
}

export interface RunOptions {
  signal?: AbortSignal;
  onLine?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  tailLines?: number;
}

export function runProcess(argv: Argv, options: RunOptions = {}): Promise<ProcessResult> {
  const [command, ...args] = argv;
  const tailLines = options.tailLines ?? 30;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: options.env ?? process.env,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const tail: string[] = [];
    const take = (line: string) => {
      tail.push(line);
      if (tail.length > tailLines) tail.shift();
      options.onLine?.(line);
    };
    createInterface({ input: child.stdout }).on("line", take);
    createInterface({ input: child.stderr }).on("line", take);
    child.once("error", reject);
    child.once("close", (exitCode, signal) => resolve({ exitCode, signal, tail }));
  });
}
