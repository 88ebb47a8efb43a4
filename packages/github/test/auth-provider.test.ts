// Token sources in order (env → gh → device flow), the device flow against the emulator,
// identify(), and that the token never reaches logs.
import t, { type Test } from "tap";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Capture } from "@nexus/test-utils";
import { createLogger, createNexus, isSecret, silentLogger, type DeviceCodePrompt, type Op } from "@nexus/core";
import { createGithubAuth, githubAuth } from "@nexus/github";
import { startGithubEmulator } from "@nexus/github/testing";
import { rejection } from "./helpers.js";

const op = (log = silentLogger): Op => ({ signal: new AbortController().signal, log });

/** A directory with a fake `gh` that prints `token` for `auth token --hostname <host>` (and records its argv). */
function fakeGh(t: Test, options: { token?: string; host?: string; exit?: number } = {}): { bin: string; argsFile: string } {
  const bin = mkdtempSync(join(tmpdir(), "nexus-fake-gh-"));
  t.teardown(() => rmSync(bin, { recursive: true, force: true }));
  const argsFile = join(bin, "args.txt");
  writeFileSync(
    join(bin, "gh"),
    [
      "#!/bin/sh",
      `printf '%s\\n' "$@" > '${argsFile}'`,
      `if [ "$1 $2" = "auth token" ] && [ "$4" = '${options.host ?? ""}' ]; then`,
      options.exit ? `  echo "no oauth token" >&2; exit ${options.exit}` : `  echo '${options.token ?? ""}'; exit 0`,
      "fi",
      "echo 'not logged in to this host' >&2",
      "exit 1",
      "",
    ].join("\n"),
  );
  chmodSync(join(bin, "gh"), 0o755);
  return { bin, argsFile };
}

const ctx = (env: Record<string, string | undefined>) => ({ log: silentLogger, env, dataDir: tmpdir() });

t.test("the descriptor is a branded auth plugin named github with validated options", async (t) => {
  const nexus = createNexus({ auth: [[githubAuth, { clientId: "Iv1.abc" }]] });
  t.equal(nexus.get("auth", "github"), githubAuth);
  t.throws(() => createNexus({ auth: [[githubAuth, { clientId: "bad id!" }]] }), { code: "invalid_config" });
  t.throws(() => createNexus({ auth: [[githubAuth, { sources: ["carrier-pigeon"] }]] }), { code: "invalid_config" });
  const instance = await nexus.instance("auth", "github", ctx({ NEXUS_GITHUB_TOKEN: "ghp_from_env", PATH: "/nonexistent" }));
  const found = await instance.resolve(op(), { interactive: false });
  t.equal(found?.source, "env");
});

t.test("env beats gh beats the device flow", async (t) => {
  const gh = await startGithubEmulator();
  t.teardown(() => gh.close());
  gh.addUser("octocat");
  gh.configureDeviceFlow({ clientId: "Iv1.test", login: "octocat" });
  const fake = fakeGh(t, { token: "gho_from_gh", host: gh.host });
  const base = { NEXUS_GITHUB_API_URL: gh.apiUrl, NEXUS_GITHUB_CLIENT_ID: "Iv1.test", PATH: fake.bin };
  const prompts: DeviceCodePrompt[] = [];
  const resolveWith = (env: Record<string, string | undefined>) =>
    createGithubAuth(ctx({ ...base, ...env })).resolve(op(), { interactive: true, onDeviceCode: (p) => prompts.push(p) });

  const fromNexusEnv = await resolveWith({ NEXUS_GITHUB_TOKEN: "ghp_nexus", GITHUB_TOKEN: "ghp_plain" });
  t.equal(fromNexusEnv?.source, "env");
  t.equal(fromNexusEnv?.origin, "NEXUS_GITHUB_TOKEN");
  t.equal(fromNexusEnv?.token.reveal(), "ghp_nexus", "NEXUS_GITHUB_TOKEN wins over GITHUB_TOKEN");
  t.ok(isSecret(fromNexusEnv?.token), "tokens are Secrets");
  t.equal(String(fromNexusEnv?.token), "[REDACTED]");

  const fromGithubEnv = await resolveWith({ GITHUB_TOKEN: "ghp_plain" });
  t.equal(fromGithubEnv?.token.reveal(), "ghp_plain");
  t.equal(fromGithubEnv?.origin, "GITHUB_TOKEN");

  const fromGh = await resolveWith({ NEXUS_GITHUB_TOKEN: "  " });
  t.equal(fromGh?.source, "gh", "a blank variable is ignored");
  t.equal(fromGh?.token.reveal(), "gho_from_gh");
  t.same(readFileSync(fake.argsFile, "utf8").trim().split("\n"), ["auth", "token", "--hostname", gh.host], "gh is asked for this host's token");
  t.equal(prompts.length, 0, "no device flow while another source has a token");

  const fromDevice = await resolveWith({ PATH: join(fake.bin, "missing") });
  t.equal(fromDevice?.source, "device", "without gh on PATH the device flow runs");
  t.equal(prompts.length, 1);
  t.match(prompts[0], { verificationUri: `${gh.webUrl}/login/device`, userCode: /^[A-Z]{4}-[A-Z]{4}$/, expiresInSeconds: 899 });
  const identity = await createGithubAuth(ctx(base)).identify(fromDevice!.token, op());
  t.equal(identity.login, "octocat", "the device-flow token works against the API");
});

t.test("gh that is not logged in (exit 1) or names another host is skipped", async (t) => {
  const notLoggedIn = fakeGh(t, { host: "github.com", exit: 1 });
  const env = { PATH: notLoggedIn.bin };
  t.equal(await createGithubAuth(ctx(env)).resolve(op(), { interactive: false }), null, "nothing found, not interactive → null");

  const otherHost = fakeGh(t, { token: "gho_wrong_host", host: "ghe.example.com" });
  t.equal(await createGithubAuth(ctx({ PATH: otherHost.bin })).resolve(op(), { interactive: false }), null, "github.com's token is asked for, not another host's");
  const enterprise = await createGithubAuth(ctx({ PATH: otherHost.bin, NEXUS_GITHUB_API_URL: "https://ghe.example.com/api/v3" })).resolve(op(), { interactive: false });
  t.equal(enterprise?.token.reveal(), "gho_wrong_host", "Enterprise: gh --hostname ghe.example.com");
});

t.test("a gh that hangs is given up on after the timeout", async (t) => {
  const bin = mkdtempSync(join(tmpdir(), "nexus-slow-gh-"));
  t.teardown(() => rmSync(bin, { recursive: true, force: true }));
  writeFileSync(join(bin, "gh"), "#!/bin/sh\nexec sleep 30\n");
  chmodSync(join(bin, "gh"), 0o755);
  const found = await createGithubAuth(ctx({ PATH: bin }), { ghTimeoutMs: 200 }).resolve(op(), { interactive: false });
  t.equal(found, null);
});

t.test("sources can be restricted (device only), and non-interactive never starts the device flow", async (t) => {
  const gh = await startGithubEmulator();
  t.teardown(() => gh.close());
  gh.addUser("octocat");
  gh.configureDeviceFlow({ clientId: "Iv1.test", login: "octocat", pendingPolls: 3 });
  const env = { NEXUS_GITHUB_API_URL: gh.apiUrl, NEXUS_GITHUB_CLIENT_ID: "Iv1.test", NEXUS_GITHUB_TOKEN: "ghp_env" };
  const deviceOnly = createGithubAuth(ctx(env), { sources: ["device"] });
  t.equal(await deviceOnly.resolve(op(), { interactive: false }), null);
  t.equal(gh.exchanges.length, 0, "nothing was asked of GitHub");
  const found = await deviceOnly.resolve(op(), { interactive: true, onDeviceCode: () => undefined });
  t.equal(found?.source, "device");
  t.equal(gh.exchanges.filter((e) => e.path === "/login/oauth/access_token").length, 4, "polled until approved");
});

t.test("device flow outcomes: denied, expired, bad client id, no client id", async (t) => {
  const gh = await startGithubEmulator();
  t.teardown(() => gh.close());
  gh.addUser("octocat");
  const env = { NEXUS_GITHUB_API_URL: gh.apiUrl, NEXUS_GITHUB_CLIENT_ID: "Iv1.test", PATH: "/nonexistent" };
  const run = (extra: Record<string, string> = {}) => createGithubAuth(ctx({ ...env, ...extra })).resolve(op(), { interactive: true, onDeviceCode: () => undefined });

  gh.configureDeviceFlow({ clientId: "Iv1.test", login: "octocat", outcome: "deny" });
  await t.rejects(run(), { code: "auth_required", message: /denied/ });
  gh.configureDeviceFlow({ clientId: "Iv1.test", login: "octocat", outcome: "expire" });
  await t.rejects(run(), { code: "auth_required", message: /expired/ });
  gh.configureDeviceFlow({ clientId: "Iv1.other", login: "octocat" });
  await t.rejects(run(), { code: "invalid_config", message: /Iv1\.test/ });
  await t.rejects(run({ NEXUS_GITHUB_CLIENT_ID: "" }), { code: "auth_required", hint: /NEXUS_GITHUB_CLIENT_ID/ });
});

t.test("the device flow can be approved by the user while it polls", async (t) => {
  const gh = await startGithubEmulator();
  t.teardown(() => gh.close());
  gh.addUser("octocat");
  gh.configureDeviceFlow({ clientId: "Iv1.test", login: "octocat", pendingPolls: Number.POSITIVE_INFINITY });
  const found = await createGithubAuth(ctx({ NEXUS_GITHUB_API_URL: gh.apiUrl, NEXUS_GITHUB_CLIENT_ID: "Iv1.test", PATH: "/nonexistent" })).resolve(op(), {
    interactive: true,
    onDeviceCode: (prompt) => setTimeout(() => gh.approveDevice(prompt.userCode), 20),
  });
  t.equal(found?.source, "device");
});

t.test("identify verifies the token; a revoked token is auth_required; the token never reaches the logs", async (t) => {
  const gh = await startGithubEmulator();
  t.teardown(() => gh.close());
  const user = gh.addUser("octocat", { name: "Mona" });
  const token = gh.issueToken("octocat");
  const capture = new Capture();
  const log = createLogger({ level: "trace" }, capture);
  const auth = createGithubAuth({ log, env: { NEXUS_GITHUB_API_URL: gh.apiUrl, NEXUS_GITHUB_TOKEN: token, PATH: "/nonexistent" }, dataDir: tmpdir() });
  const found = await auth.resolve(op(log), { interactive: false });
  t.same(await auth.identify(found!.token, op(log)), { login: "octocat", id: user.id, name: "Mona" });
  gh.revokeToken(token);
  await t.rejects(auth.identify(found!.token, op(log)), { code: "auth_required" });
  t.ok(capture.text.length > 0, "something was logged");
  t.notMatch(capture.text, token, "the token is not in the logs");
});

t.test("a token with spaces or control characters is refused without echoing it", async (t) => {
  const error = await rejection(t, createGithubAuth(ctx({ NEXUS_GITHUB_TOKEN: "ghp_a b" })).resolve(op(), { interactive: false }));
  t.equal(error.code, "invalid_request");
  t.match(error.message, /NEXUS_GITHUB_TOKEN/);
  t.notMatch(error.message, "ghp_a b");
});
