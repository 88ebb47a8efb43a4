/** A TCP port a service may listen on. */
export function isPort(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 65535;
}

export function parsePort(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return isPort(port) ? port : undefined;
}

export interface PortEvidence {
  port: number;
  /** How the port was written, for the reason shown to the user (e.g. "`--port 4000`"). */
  source: string;
}

// `--port 4000`, `--port=4000`, `-p 4000`, `-p=4000`, `PORT=4000`: the forms dev-server CLIs and
// package.json scripts use. Anchored on whitespace so `tsc -p tsconfig.json` or `APP_PORT` never match.
const SCRIPT_PORT_PATTERNS: readonly RegExp[] = [
  /(?:^|[\s;&|(])(--port(?:=|\s+)(\d{1,5}))(?=$|[\s;&|)])/,
  /(?:^|[\s;&|(])(-p(?:=|\s+)(\d{1,5}))(?=$|[\s;&|)])/,
  /(?:^|[\s;&|(])((?:export\s+)?PORT=(\d{1,5}))(?=$|[\s;&|)])/,
];

/** The port a command line sets explicitly, if any. */
export function portFromCommand(command: string): PortEvidence | undefined {
  let best: { index: number; evidence: PortEvidence } | undefined;
  for (const pattern of SCRIPT_PORT_PATTERNS) {
    const match = pattern.exec(command);
    const port = parsePort(match?.[2]);
    if (match && port !== undefined && (!best || match.index < best.index)) {
      best = { index: match.index, evidence: { port, source: `\`${match[1]}\`` } };
    }
  }
  return best?.evidence;
}
