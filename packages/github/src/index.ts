// @nexus/github public surface: the "github" AuthProvider, the REST client, SSH keys,
// repository references, forks and local clones. The emulator is in @nexus/github/testing.
export { githubAuth, githubAuth as default, createGithubAuth, GithubAuthOptionsSchema, TOKEN_SOURCES } from "./auth-provider.js";
export type { GithubAuthOptions, GithubAuthInstance, GithubCredentials, TokenSource } from "./auth-provider.js";
export { GITHUB_SCOPES, TOKEN_ENV_VARS, checkToken, missingScopes, tokenFromEnv, tokenFromGh, tokenFromDeviceFlow } from "./token-sources.js";
export type { GhOptions, DeviceFlowOptions } from "./token-sources.js";
export { DEFAULT_GITHUB_API_URL, githubEndpoints, githubApiUrlForHost } from "./endpoints.js";
export type { GithubEndpoints, EndpointInput } from "./endpoints.js";
export { createGithubClient } from "./client.js";
export type { GithubClient, GithubClientOptions, CallOptions, GithubUser, GithubSshKey, GithubRepository, GithubRepositoryRef, RefState } from "./client.js";
export { toGithubError, rateLimitOf } from "./errors.js";
export type { GithubErrorContext } from "./errors.js";
export { DEFAULT_KEY_NAMES, findOrCreateSshKey, generateEd25519Pair, uploadSshKey } from "./ssh-keys.js";
export type { LocalSshKey, FindOrCreateSshKeyOptions, SshKeyUpload, SshKeyUploadStatus } from "./ssh-keys.js";
export { parseRepoRef } from "./repo-ref.js";
export type { RepoRef, ParseRepoRefOptions } from "./repo-ref.js";
export { resolveRepository } from "./repository.js";
export type { ResolvedRepository, RepositoryLocation, ResolveRepositoryOptions, ForkPolling } from "./repository.js";
export { cloneLocally } from "./clone.js";
export type { CloneLocallyOptions, LocalClone } from "./clone.js";
