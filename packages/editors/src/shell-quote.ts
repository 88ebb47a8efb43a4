// POSIX shell quoting, used in two places: the remote command a terminal editor runs
// (OpenSSH hands it to the remote user's shell) and the commands nexus prints for the
// user to copy. Never used to build a local shell command: nexus runs argv arrays.

const SAFE_WORD = /^[A-Za-z0-9_\/.:=@%+,-]+$/;

/** One shell word: unchanged when it is plainly safe, else single-quoted. */
export function shellQuote(word: string): string {
  // A leading `=` is an expansion in zsh (`=cmd` → its path).
  if (SAFE_WORD.test(word) && !word.startsWith("=")) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** An argv as a line a user can paste into a POSIX shell. */
export function formatCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}
