import type { ServiceHint } from "@nexus/core";

/** package.json and friends, written as objects in fixtures. */
export const json = (value: unknown): string => JSON.stringify(value, null, 2);

export const services = (hints: readonly ServiceHint[]) => hints.flatMap((hint) => (hint.service ? [hint.service] : []));
export const setups = (hints: readonly ServiceHint[]) => hints.flatMap((hint) => hint.setup ?? []);
export const reasons = (hints: readonly ServiceHint[]) => hints.map((hint) => hint.reason).join("\n");
