// Bearer tokens the server issues. A token is a prefix saying what it is for and 256
// random bits; the Store only ever sees hashToken(token).
import { randomBytes, timingSafeEqual } from "node:crypto";
import { hashToken } from "../contracts/store.js";

export const TOKEN_PREFIXES = {
  /** API token of a user (SPEC §5). */
  api: "nxs_",
  /** Node token: the agent's bearer after registration. */
  node: "nxn_",
  /** Join token: registers a node. */
  join: "nxj_",
  /** An admin token the server generated for itself (an admin may configure any string). */
  admin: "nxa_",
} as const;

export type IssuedTokenKind = keyof typeof TOKEN_PREFIXES;

export function newToken(kind: IssuedTokenKind): string {
  return `${TOKEN_PREFIXES[kind]}${randomBytes(32).toString("base64url")}`;
}

/** Constant-time comparison of two secrets of any length (compares their hashes). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(hashToken(a), "hex"), Buffer.from(hashToken(b), "hex"));
}
