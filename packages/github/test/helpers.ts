// Shared test set-up: an emulator per test with a user and a token, torn down afterwards.
import type { Test } from "tap";
import { Secret } from "@nexus/core";
import { createGithubClient, type GithubClient, type GithubClientOptions } from "@nexus/github";
import { startGithubEmulator, type GithubEmulator, type GithubEmulatorOptions } from "@nexus/github/testing";

export interface World {
  gh: GithubEmulator;
  token: string;
  client: GithubClient;
  /** A client with other options against the same emulator. */
  clientWith(options: Partial<GithubClientOptions>): GithubClient;
}

export async function world(t: Test, options: GithubEmulatorOptions = {}, login = "octocat"): Promise<World> {
  const gh = await startGithubEmulator(options);
  t.teardown(() => gh.close());
  gh.addUser(login, { name: "The Octocat", email: "octocat@example.com" });
  const token = gh.issueToken(login);
  const clientWith = (extra: Partial<GithubClientOptions>) =>
    createGithubClient({ apiUrl: gh.apiUrl, token: new Secret(token), backoffUnitMs: 1, writeSpacingMs: 0, ...extra });
  return { gh, token, client: clientWith({}), clientWith };
}

/** The NexusError a promise rejects with (fails the test when it resolves). */
export async function rejection(t: Test, promise: Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown>; hint?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: string; message: string; details: Record<string, unknown>; hint?: string };
  }
  t.fail("expected a rejection");
  return { code: "", message: "", details: {} };
}
