// `nexus auth github|status|logout` in-process against the GitHub emulator.
import t, { type Test } from "tap";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { Capture, tempTree } from "@nexus/test-utils";
import { run, type CliIO } from "@nexus/cli";
import { startGithubEmulator, type GithubEmulator } from "@nexus/github/testing";

interface Harness {
  gh: GithubEmulator;
  home: string;
  nexusHome: string;
  env: Record<string, string>;
  /** Runs `nexus …`; every token issued by the emulator is checked to be absent from the output. */
  nexus(argv: string[], options?: { env?: Record<string, string | undefined>; stdin?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
  tokens: string[];
}

async function harness(t: Test): Promise<Harness> {
  const gh = await startGithubEmulator();
  t.teardown(() => gh.close());
  gh.addUser("octocat", { name: "Mona" });
  const tree = tempTree({ bin: {} });
  t.teardown(tree.cleanup);
  const home = tree.dir;
  const nexusHome = join(home, ".nexus");
  // PATH holds only a directory we control: no real `gh` can answer.
  const env = { HOME: home, NEXUS_HOME: nexusHome, NEXUS_GITHUB_API_URL: gh.apiUrl, PATH: join(home, "bin") };
  const tokens: string[] = [];
  const nexus: Harness["nexus"] = async (argv, options = {}) => {
    const stdout = new Capture();
    const stderr = new Capture();
    const io: CliIO = {
      cwd: home,
      env: { ...env, ...options.env },
      stdout,
      stderr,
      ...(options.stdin !== undefined ? { stdin: Readable.from([options.stdin]) } : {}),
    };
    const code = await run(argv, io);
    for (const token of tokens) {
      t.notMatch(stdout.text, token, "the token is not on stdout");
      t.notMatch(stderr.text, token, "the token is not on stderr");
    }
    return { code, stdout: stdout.text, stderr: stderr.text };
  };
  return { gh, home, nexusHome, env, nexus, tokens };
}

function issue(h: Harness, login = "octocat", scopes?: string[]): string {
  const token = h.gh.issueToken(login, scopes ? { scopes } : {});
  h.tokens.push(token);
  return token;
}

function credentials(h: Harness): { github?: Record<string, unknown>; servers: Record<string, Record<string, unknown>> } {
  return JSON.parse(readFileSync(join(h.nexusHome, "credentials.json"), "utf8"));
}

const mode = (path: string) => statSync(path).mode & 0o777;

t.test("auth github with NEXUS_GITHUB_TOKEN: verified, stored 0600 in a 0700 dir, never printed", async (t) => {
  const h = await harness(t);
  const token = issue(h);
  const result = await h.nexus(["auth", "github"], { env: { NEXUS_GITHUB_TOKEN: token } });
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout.trim(), "✓ Logged in to GitHub as octocat (token from NEXUS_GITHUB_TOKEN)");
  t.same(credentials(h).github, { token, source: "env", login: "octocat", api_url: h.gh.apiUrl });
  t.equal(mode(join(h.nexusHome, "credentials.json")), 0o600);
  t.equal(mode(h.nexusHome), 0o700);
  t.ok(h.gh.exchanges.some((e) => e.path === "/user" && e.status === 200), "verified with GET /user");
});

t.test("auth github --with-token reads stdin; --json prints one document", async (t) => {
  const h = await harness(t);
  const token = issue(h);
  const result = await h.nexus(["auth", "github", "--with-token", "--json"], { stdin: `${token}\n` });
  t.equal(result.code, 0, result.stderr);
  const doc = JSON.parse(result.stdout);
  t.same(doc, { login: "octocat", id: h.gh.user("octocat")!.id, source: "argument", api_url: h.gh.apiUrl, scopes: ["repo", "read:user", "admin:public_key"] });
  t.equal(credentials(h).github?.source, "argument");
});

t.test("auth github uses `gh auth token` when no variable is set", async (t) => {
  const h = await harness(t);
  const token = issue(h);
  writeFileSync(join(h.home, "bin", "gh"), `#!/bin/sh\n[ "$1 $2 $3 $4" = "auth token --hostname ${h.gh.host}" ] && echo '${token}' && exit 0\nexit 1\n`);
  chmodSync(join(h.home, "bin", "gh"), 0o755);
  const result = await h.nexus(["auth", "github"]);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, "(token from gh)");
  t.equal(credentials(h).github?.source, "gh");
});

t.test("auth github --device shows the code on stderr and stores the device token", async (t) => {
  const h = await harness(t);
  h.gh.configureDeviceFlow({ clientId: "Iv1.nexus", login: "octocat", pendingPolls: 1 });
  const result = await h.nexus(["auth", "github", "--device"], { env: { NEXUS_GITHUB_CLIENT_ID: "Iv1.nexus", NEXUS_GITHUB_TOKEN: "ignored-by-device" } });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stderr, /First copy your one-time code: [A-Z]{4}-[A-Z]{4}/);
  t.match(result.stderr, `${h.gh.webUrl}/login/device`);
  t.match(result.stdout, "Logged in to GitHub as octocat (token from the device flow)");
  const stored = credentials(h).github!;
  t.equal(stored.source, "device");
  t.notMatch(result.stdout + result.stderr, String(stored.token), "the device token is not printed");
});

t.test("auth github: no source (not a terminal) is exit 3; a bad token is exit 3; both flags is exit 2", async (t) => {
  const h = await harness(t);
  const none = await h.nexus(["auth", "github"]);
  t.equal(none.code, 3);
  t.match(none.stderr, /auth_required/);
  t.match(none.stderr, /--device/);
  const bad = await h.nexus(["auth", "github"], { env: { GITHUB_TOKEN: "ghp_definitely_wrong" } });
  t.equal(bad.code, 3);
  t.match(bad.stderr, /Bad credentials/);
  t.notMatch(bad.stderr, "ghp_definitely_wrong");
  const both = await h.nexus(["auth", "github", "--device", "--with-token"], { stdin: "x" });
  t.equal(both.code, 2);
});

t.test("a token without the needed scopes logs in with a warning", async (t) => {
  const h = await harness(t);
  const token = issue(h, "octocat", ["read:user"]);
  const result = await h.nexus(["auth", "github", "--with-token"], { stdin: token });
  t.equal(result.code, 0);
  t.match(result.stderr, /lacks the scopes repo, admin:public_key/);
});

t.test("auth status: who, source and server registration; exit 3 when logged out", async (t) => {
  const h = await harness(t);
  const loggedOut = await h.nexus(["auth", "status", "--json"]);
  t.equal(loggedOut.code, 3);
  t.equal(JSON.parse(loggedOut.stdout).error, "auth_required");

  const token = issue(h);
  t.equal((await h.nexus(["auth", "github", "--with-token"], { stdin: token })).code, 0);
  const human = await h.nexus(["auth", "status", "--server", "http://127.0.0.1:9"]);
  t.equal(human.code, 0, human.stderr);
  t.match(human.stdout, `GitHub ${h.gh.webUrl}: logged in as octocat (token from stored credentials, from stdin)`);
  t.match(human.stdout, "Server http://127.0.0.1:9: not registered");

  mkdirSync(h.nexusHome, { recursive: true });
  const stored = credentials(h);
  stored.servers["http://127.0.0.1:9"] = { api_token: "nxs_secret_api_token", user_id: "usr_1", github_username: "octocat" };
  writeFileSync(join(h.nexusHome, "credentials.json"), JSON.stringify(stored));
  h.tokens.push("nxs_secret_api_token");
  const json = await h.nexus(["auth", "status", "--json", "--server", "http://127.0.0.1:9/"]);
  t.equal(json.code, 0, json.stderr);
  t.same(JSON.parse(json.stdout), {
    github: { login: "octocat", id: h.gh.user("octocat")!.id, source: "stored", api_url: h.gh.apiUrl },
    server: { url: "http://127.0.0.1:9", token_source: "credentials", registered: true, user_id: "usr_1", github_username: "octocat" },
  });

  const fromEnv = await h.nexus(["auth", "status"], { env: { GITHUB_TOKEN: issue(h) } });
  t.match(fromEnv.stdout, "(token from GITHUB_TOKEN)", "the environment wins over the stored token");

  h.gh.revokeToken(token);
  const revoked = await h.nexus(["auth", "status"]);
  t.equal(revoked.code, 3, "a stored token GitHub no longer accepts is auth_required");
});

t.test("a stored login for another GitHub is not used", async (t) => {
  const h = await harness(t);
  const token = issue(h);
  t.equal((await h.nexus(["auth", "github", "--with-token"], { stdin: token })).code, 0);
  const other = await h.nexus(["auth", "status"], { env: { NEXUS_GITHUB_API_URL: "https://ghe.example.com/api/v3" } });
  t.equal(other.code, 3);
  t.match(other.stderr, "ghe.example.com");
});

t.test("auth logout removes the GitHub token and server API tokens", async (t) => {
  const h = await harness(t);
  const token = issue(h);
  t.equal((await h.nexus(["auth", "github", "--with-token"], { stdin: token })).code, 0);
  const stored = credentials(h);
  stored.servers["http://127.0.0.1:9"] = { api_token: "nxs_x" };
  writeFileSync(join(h.nexusHome, "credentials.json"), JSON.stringify({ ...stored, extra: "kept" }));
  const out = await h.nexus(["auth", "logout", "--json"], { env: { NEXUS_GITHUB_TOKEN: "still-set" } });
  t.equal(out.code, 0);
  t.same(JSON.parse(out.stdout), { github_removed: true, servers_removed: ["http://127.0.0.1:9"] });
  t.match(out.stderr, "NEXUS_GITHUB_TOKEN is still set");
  t.same(credentials(h), { servers: {}, extra: "kept" });
  t.equal(mode(join(h.nexusHome, "credentials.json")), 0o600);
  t.equal((await h.nexus(["auth", "status"])).code, 3);
  const again = await h.nexus(["auth", "logout"]);
  t.equal(again.code, 0, "logging out twice is fine");
  t.match(again.stdout, "Not logged in to GitHub");
});
