// Fake editor programs for tests: tiny sh scripts on a temp PATH that print a version
// for `--version` and otherwise record their argv (one argument per line, then END)
// into <record dir>/<name>.argv. They use only shell built-ins, so PATH can hold
// nothing but the fake directory.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { silentLogger, type Op } from "@nexus/core";

export const FAKE_VERSIONS: Record<string, { output: string; version: string }> = {
  code: { output: "1.95.3\\nf1a4fb101478ce6ec82fe9627c43efbf9e98c813\\nx64", version: "1.95.3" },
  "code-insiders": { output: "1.96.0-insider\\nabc\\nx64", version: "1.96.0-insider" },
  cursor: { output: "0.42.5\\nabcdef\\nx64", version: "0.42.5" },
  windsurf: { output: "1.0.7\\nabcdef\\nx64", version: "1.0.7" },
  zed: { output: "Zed 0.160.1 6e4c7a1b", version: "0.160.1" },
  nvim: { output: "NVIM v0.9.5\\nBuild type: Release", version: "0.9.5" },
  vim: { output: "VIM - Vi IMproved 9.0 (2022 Jun 28, compiled Feb 02 2024 08:00:00)", version: "9.0" },
};

export interface FakeBin {
  /** The directory to put on PATH. */
  bin: string;
  /** Where the fakes record their argv. */
  records: string;
  env: Record<string, string>;
  /** Waits (bounded) until `name` has recorded a complete argv, then returns it. */
  argv(name: string): Promise<string[]>;
}

export function fakeBin(root: string, names: readonly string[], options: { exitCode?: number } = {}): FakeBin {
  const bin = join(root, "bin");
  const records = join(root, "records");
  mkdirSync(bin, { recursive: true });
  mkdirSync(records, { recursive: true });
  for (const name of names) {
    const version = FAKE_VERSIONS[name]?.output ?? `${name} 1.0.0`;
    const script = [
      "#!/bin/sh",
      `if [ "$1" = "--version" ]; then printf '${version}\\n'; exit 0; fi`,
      `out="${records}/${name}.argv"`,
      // END comes last: a reader that sees it has the whole argv.
      `{ for arg in "$@"; do printf '%s\\n' "$arg"; done; printf 'END\\n'; } > "$out"`,
      `exit ${options.exitCode ?? 0}`,
    ].join("\n");
    writeFileSync(join(bin, name), `${script}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  return {
    bin,
    records,
    env: { PATH: bin, HOME: join(root, "home") },
    async argv(name) {
      const file = join(records, `${name}.argv`);
      for (let i = 0; i < 500; i++) {
        if (existsSync(file)) {
          const lines = readFileSync(file, "utf8").split("\n");
          if (lines.includes("END")) return lines.slice(0, lines.indexOf("END"));
        }
        await sleep(10);
      }
      throw new Error(`${name} never recorded its argv in ${file}`);
    },
  };
}

export const testOp = (): Op => ({ signal: AbortSignal.timeout(20_000), log: silentLogger });

/** A fresh directory under the OS temp dir (short paths: ControlPath sockets must fit), removed after the test. */
export function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "nexus-editors-"));
  t.teardown(() => {
    // A test may leave a directory read-only; make it removable first.
    try {
      chmodSync(dir, 0o700);
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}
