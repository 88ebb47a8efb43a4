import { pino, type Logger as PinoLogger, type LoggerOptions } from "pino";

export type Logger = PinoLogger;

/** Paths redacted in every log line, whatever the component. */
export const REDACT_PATHS = [
  "token", "*.token", "api_token", "*.api_token", "clone_token", "*.clone_token", "*.*.clone_token",
  "password", "*.password", "authorization", "*.authorization", "headers.authorization",
  "req.headers.authorization", "ssh_pubkey", "*.ssh_pubkey", "private_key", "*.private_key",
  "node_token", "*.node_token", "join_token", "*.join_token", "secret", "*.secret",
];

export function createLogger(options: LoggerOptions = {}, destination?: NodeJS.WritableStream): Logger {
  const opts: LoggerOptions = { level: process.env.NEXUS_LOG_LEVEL ?? "info", redact: { paths: REDACT_PATHS, censor: "[REDACTED]" }, ...options };
  return destination ? pino(opts, destination as never) : pino(opts, pino.destination(2));
}

/** A logger that drops everything: for library calls made without one. */
export const silentLogger: Logger = pino({ level: "silent" });
