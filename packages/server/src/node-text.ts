// Text a node reports — error messages that quote a container's output, service errors,
// service names — is shown to users by the CLI. Control characters other than newline
// and tab (ANSI and OSC escapes, BEL, C1 codes) are replaced here, where it enters the
// server, so that a workspace (or a compromised node) cannot drive a user's terminal:
// clear the screen, fake output, write the clipboard. Logs stay raw: they are asked for.
import type { NodeEvent } from "@nexus/core";

const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

export function printable(text: string): string {
  return text.replace(CONTROL, "\uFFFD");
}

/** A command result with its error message made printable (successes carry no text meant for people). */
export function printableResult<T extends { ok: boolean; error?: { message: string } }>(result: T): T {
  return result.ok || !result.error ? result : { ...result, error: { ...result.error, message: printable(result.error.message) } };
}

export function printableEvent(event: NodeEvent): NodeEvent {
  switch (event.type) {
    case "phase":
    case "workspace_status":
      return event.error ? { ...event, error: { ...event.error, message: printable(event.error.message) } } : event;
    case "service":
      return { ...event, name: printable(event.name), last_error: event.last_error === null ? null : printable(event.last_error) };
    case "observed":
      return event;
  }
}
