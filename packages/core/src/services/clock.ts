// Time as a dependency: the services read the clock instead of Date, so tests can move
// time forward (heartbeats, schedule timeouts, token caches) without waiting.

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Milliseconds from an ISO timestamp to the clock's now (negative when it lies ahead). */
export function msSince(clock: Clock, iso: string): number {
  return clock.now().getTime() - new Date(iso).getTime();
}
