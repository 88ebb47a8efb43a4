// Following logs when the agent can only serve the last N lines: each poll's tail is
// lined up against the previous one, and only the lines after the overlap are new.

export function splitLogLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/**
 * The lines of `current` that come after `previous`. When `current` is the whole log (it
 * holds fewer lines than the tail asked for), `previous` is its prefix and the rest is
 * new. Otherwise the longest suffix of `previous` that is also a prefix of `current`
 * marks where the old output ends; with no overlap (the log rotated, or more was written
 * than one tail holds), all of `current` is new.
 */
export function newLogLines(previous: readonly string[], current: readonly string[], currentIsWholeLog = false): string[] {
  if (previous.length === 0) return [...current];
  if (currentIsWholeLog && previous.length <= current.length && previous.every((line, i) => current[i] === line)) {
    return current.slice(previous.length);
  }
  // `current` may start before `previous` ends (the tail window only slides forward), so
  // look for the latest position in `current` where all of previous's remaining lines match.
  for (let end = current.length; end > 0; end--) {
    const overlap = Math.min(end, previous.length);
    let matches = true;
    for (let i = 1; i <= overlap; i++) {
      if (current[end - i] !== previous[previous.length - i]) {
        matches = false;
        break;
      }
    }
    if (matches) return current.slice(end);
  }
  return [...current];
}
