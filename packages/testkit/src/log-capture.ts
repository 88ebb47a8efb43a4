import { Writable } from "node:stream";
import { createLogger, type Logger } from "@nexus/core";

export interface LogCapture {
  /** A trace-level logger with the production redaction paths, writing into memory. */
  log: Logger;
  /** Everything logged so far, as raw NDJSON text. */
  text(): string;
  /** Everything logged so far, parsed. */
  lines(): Record<string, unknown>[];
}

/** Captures every log line a plugin writes, so tests can assert on what leaked. */
export function createLogCapture(): LogCapture {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const log = createLogger({ level: "trace" }, sink);
  const text = () => chunks.join("");
  return {
    log,
    text,
    lines: () => text().split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
