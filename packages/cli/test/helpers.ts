import { Capture } from "@nexus/test-utils";
import { run, type CliIO } from "@nexus/cli";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with captured output. */
export async function runCli(argv: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<CliRun> {
  const stdout = new Capture();
  const stderr = new Capture();
  const io: CliIO = {
    cwd: options.cwd ?? process.cwd(),
    env: { NO_COLOR: "1", HOME: process.env.HOME, PATH: process.env.PATH, ...options.env },
    stdout,
    stderr,
  };
  const code = await run(argv, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}
