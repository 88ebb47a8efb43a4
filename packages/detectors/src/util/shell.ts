// Generated configs hold shell scripts (SPEC §4 lifecycle and service commands run under sh).
// Anything taken from the repository as an argument vector is quoted here, never spliced raw.

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes one argument for POSIX sh; plain words stay readable. */
export function shellQuote(arg: string): string {
  if (arg !== "" && SAFE_WORD.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** An argument vector as one sh command line. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}

/** Runs `command` in `dir` (relative to the repo root) without changing the caller's directory. */
export function inDirectory(dir: string, command: string): string {
  return dir === "." || dir === "" ? command : `cd ${shellQuote(dir)} && ${command}`;
}
