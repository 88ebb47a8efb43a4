// A credential that cannot leak by accident: printing, logging or serialising it
// yields [REDACTED]; only reveal() returns the value.

const REDACTED = "[REDACTED]";
const inspectSymbol = Symbol.for("nodejs.util.inspect.custom");

export class Secret {
  readonly #value: string;
  constructor(value: string) { this.#value = value; }
  reveal(): string { return this.#value; }
  toString(): string { return REDACTED; }
  toJSON(): string { return REDACTED; }
  [inspectSymbol](): string { return `Secret(${REDACTED})`; }
}

export function isSecret(value: unknown): value is Secret {
  return value instanceof Secret;
}
