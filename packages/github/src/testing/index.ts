// @nexus/github/testing: the GitHub API emulator for tests (never imported by product code).
export { GithubEmulator, startGithubEmulator } from "./emulator.js";
export type {
  GithubEmulatorOptions,
  AddRepoInput,
  InjectedFailure,
  FailureMatch,
  DeviceFlowConfig,
  RecordedExchange,
  EmulatedKey,
  EmulatedRepo,
  EmulatedUser,
  Permission,
} from "./emulator.js";
