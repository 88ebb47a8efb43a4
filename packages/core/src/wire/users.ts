// Users (SPEC §5): registration with a GitHub token, and who-am-I.
import { z } from "zod";
import { GithubOwnerSchema, SshPublicKeySchema, TimestampSchema, UserIdSchema } from "./common.js";

/** Sent with the user's GitHub token as the bearer; the server checks it matches github_id. */
export const RegisterGithubBodySchema = z.strictObject({
  github_username: GithubOwnerSchema,
  github_id: z.int().positive(),
  ssh_pubkey: SshPublicKeySchema,
});
export type RegisterGithubBody = z.input<typeof RegisterGithubBodySchema>;

/** 201 for a new user, 200 for a known one (the key is added when new). */
export const RegisterGithubResponseSchema = z.object({
  user_id: UserIdSchema,
  github_username: z.string(),
  ssh_pubkey_fingerprint: z.string().startsWith("SHA256:"),
  registered_at: TimestampSchema,
  /** The nexus API token (`nxs_…`); shown once, stored hashed by the server. */
  api_token: z.string().startsWith("nxs_"),
});
export type RegisterGithubResponse = z.output<typeof RegisterGithubResponseSchema>;

export const SshKeyInfoSchema = z.object({
  fingerprint: z.string().startsWith("SHA256:"),
  added_at: TimestampSchema,
});

export const MeResponseSchema = z.object({
  user_id: UserIdSchema,
  github_username: z.string(),
  keys: z.array(SshKeyInfoSchema),
});
export type MeResponse = z.output<typeof MeResponseSchema>;

/** `DELETE /users/me/tokens/current`: the API token the request was made with no longer works. */
export const RevokeTokenResponseSchema = z.object({ revoked: z.boolean() });
export type RevokeTokenResponse = z.output<typeof RevokeTokenResponseSchema>;
