// `nexus ssh setup` in-process: key found or generated, uploaded to the GitHub emulator,
// registered with a nexus server (a small stand-in speaking the register-github route).
import t, { type Test } from "tap";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Capture, tempTree } from "@nexus/test-utils";
import { RegisterGithubBodySchema, sshPublicKeyFingerprint } from "@nexus/core";
import { run, type CliIO } from "@nexus/cli";
import { startGithubEmulator, type GithubEmulator } from "@nexus/github/testing";

interface Registration {
  authorization: string | undefined;
  body: unknown;
}

/** A nexus server stand-in: POST /api/v1/users/register-github, 201 the first time, 200 after. */
async function nexusServer(t: Test, gh: GithubEmulator): Promise<{ url: string; registrations: Registration[] }> {
  const registrations: Registration[] = [];
  const server = createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    res.setHeader("content-type", "application/json");
    res.setHeader("x-request-id", "req_test");
    if (req.method !== "POST" || req.url !== "/api/v1/users/register-github") {
      res.writeHead(404).end(JSON.stringify({ error: "not_found", message: "no route", details: {}, request_id: "req_test" }));
      return;
    }
    const body = JSON.parse(text);
    registrations.push({ authorization: req.headers.authorization, body });
    const parsed = RegisterGithubBodySchema.safeParse(body);
    const known = registrations.length > 1;
    if (!parsed.success) {
      res.writeHead(400).end(JSON.stringify({ error: "invalid_request", message: "bad body", details: {}, request_id: "req_test" }));
      return;
    }
    // The real server checks the bearer against GitHub; the stand-in checks it is the user's GitHub token.
    const user = gh.user(parsed.data.github_username);
    res.writeHead(known ? 200 : 201).end(
      JSON.stringify({
        user_id: "usr_01",
        github_username: parsed.data.github_username,
        ssh_pubkey_fingerprint: sshPublicKeyFingerprint(parsed.data.ssh_pubkey),
        registered_at: "2025-01-01T00:00:00.000Z",
        api_token: `nxs_api_token_${user?.id ?? 0}`,
      }),
    );
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, registrations };
}

async function harness(t: Test) {
  const gh = await startGithubEmulator();
  t.teardown(() => gh.close());
  gh.addUser("octocat");
  const token = gh.issueToken("octocat");
  const tree = tempTree({ bin: {} });
  t.teardown(tree.cleanup);
  const home = tree.dir;
  const nexusHome = join(home, ".nexus");
  const env = { HOME: home, NEXUS_HOME: nexusHome, NEXUS_GITHUB_API_URL: gh.apiUrl, PATH: join(home, "bin"), NEXUS_GITHUB_TOKEN: token };
  const nexus = async (argv: string[], extraEnv: Record<string, string | undefined> = {}) => {
    const stdout = new Capture();
    const stderr = new Capture();
    const io: CliIO = { cwd: home, env: { ...env, ...extraEnv }, stdout, stderr };
    const code = await run(argv, io);
    t.notMatch(stdout.text + stderr.text, token, "the GitHub token is never printed");
    t.notMatch(stdout.text + stderr.text, "nxs_api_token", "the API token is never printed");
    return { code, stdout: stdout.text, stderr: stderr.text };
  };
  return { gh, token, home, nexusHome, nexus };
}

t.test("no key and no server: generates, uploads, prints the fingerprint, skips registration", async (t) => {
  const h = await harness(t);
  const first = await h.nexus(["ssh", "setup"]);
  t.equal(first.code, 0, first.stderr);
  const pub = join(h.home, ".ssh", "id_ed25519.pub");
  const fingerprint = execFileSync("ssh-keygen", ["-lf", pub], { encoding: "utf8" }).split(" ")[1]!;
  t.match(first.stdout, `SSH key ${pub} (${fingerprint}) — generated`);
  t.match(first.stdout, "Key added to GitHub account octocat");
  t.match(first.stdout, "No nexus server configured: skipped registration");
  t.equal(statSync(join(h.home, ".ssh", "id_ed25519")).mode & 0o777, 0o600);
  t.same(h.gh.keysOf("octocat").map((k) => k.key), [readFileSync(pub, "utf8").split(" ").slice(0, 2).join(" ")]);

  const second = await h.nexus(["ssh", "setup"]);
  t.equal(second.code, 0);
  t.notMatch(second.stdout, "generated", "the key is reused");
  t.match(second.stdout, "Key already on GitHub account octocat");
  t.equal(h.gh.keysOf("octocat").length, 1, "idempotent");
});

t.test("with a server: registers with the GitHub token as bearer and stores the API token (0600)", async (t) => {
  const h = await harness(t);
  const server = await nexusServer(t, h.gh);
  const first = await h.nexus(["ssh", "setup", "--server", `${server.url}/`, "--json"]);
  t.equal(first.code, 0, first.stderr);
  const doc = JSON.parse(first.stdout);
  t.match(doc, {
    key: { path: join(h.home, ".ssh", "id_ed25519"), public_key_path: join(h.home, ".ssh", "id_ed25519.pub"), type: "ssh-ed25519", fingerprint: /^SHA256:/, generated: true },
    github: { login: "octocat", upload: "created", key_id: Number },
    server: { url: server.url, user_id: "usr_01", github_username: "octocat" },
  });
  t.equal(server.registrations.length, 1);
  t.equal(server.registrations[0]!.authorization, `Bearer ${h.token}`);
  t.match(server.registrations[0]!.body, { github_username: "octocat", github_id: h.gh.user("octocat")!.id, ssh_pubkey: /^ssh-ed25519 / });
  const credentials = JSON.parse(readFileSync(join(h.nexusHome, "credentials.json"), "utf8"));
  t.same(credentials.servers[server.url], { api_token: `nxs_api_token_${h.gh.user("octocat")!.id}`, user_id: "usr_01", github_username: "octocat" });
  t.equal(statSync(join(h.nexusHome, "credentials.json")).mode & 0o777, 0o600);
  t.equal(statSync(h.nexusHome).mode & 0o777, 0o700);

  // NEXUS_SERVER works too, and a second run is fine.
  const again = await h.nexus(["ssh", "setup"], { NEXUS_SERVER: server.url });
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, `Registered with ${server.url} as octocat (usr_01)`);
  t.equal(server.registrations.length, 2);
  t.equal(h.gh.keysOf("octocat").length, 1);
});

t.test("--key PATH uses (or creates) that key; a stored login is used when no variable is set", async (t) => {
  const h = await harness(t);
  t.equal((await h.nexus(["auth", "github"])).code, 0, "log in and store the token");
  const result = await h.nexus(["ssh", "setup", "--key", "keys/work", "--json"], { NEXUS_GITHUB_TOKEN: undefined });
  t.equal(result.code, 0, result.stderr);
  const doc = JSON.parse(result.stdout);
  t.equal(doc.key.path, join(h.home, "keys", "work"));
  t.equal(doc.key.generated, true);
  t.equal(doc.server, null);
  t.same(h.gh.keysOf("octocat").map((k) => k.title), [`nexus (${(await import("node:os")).hostname()})`]);
});

t.test("a key held by another account is a warning, not a failure", async (t) => {
  const h = await harness(t);
  t.equal((await h.nexus(["ssh", "setup"])).code, 0);
  const key = h.gh.keysOf("octocat")[0]!;
  const hubot = h.gh.addUser("hubot");
  const hubotToken = h.gh.issueToken("hubot");
  const result = await h.nexus(["ssh", "setup"], { NEXUS_GITHUB_TOKEN: hubotToken });
  t.equal(result.code, 0);
  t.match(result.stderr, "another account or as a deploy key");
  t.equal(h.gh.keysOf(hubot.login).length, 0);
  t.equal(key.login, "octocat");
});

t.test("not logged in: exit 3 after the key is in place; GitHub rate limit: exit 6 with the reset time", async (t) => {
  const h = await harness(t);
  const out = await h.nexus(["ssh", "setup"], { NEXUS_GITHUB_TOKEN: undefined });
  t.equal(out.code, 3);
  t.match(out.stderr, "nexus auth github");

  const resetAt = new Date(Math.ceil((Date.now() + 600_000) / 1000) * 1000);
  h.gh.setRateLimit({ resetAt });
  const limited = await h.nexus(["ssh", "setup", "--json"]);
  t.equal(limited.code, 6);
  const error = JSON.parse(limited.stdout);
  t.equal(error.error, "rate_limited");
  t.equal(error.details.reset_at, resetAt.toISOString());
});
