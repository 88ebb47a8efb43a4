// The GitHub journey of a new user, from a fresh HOME, through the real CLI against the
// real server + nexus-agent on Incus and the GitHub emulator: `nexus auth github` (token
// from the environment) → `nexus ssh setup` (generates, uploads, registers) → `nexus
// workspace create other-org/app` (forks, clones, creates, follows the phases to
// running) → `nexus workspace services app` → `nexus workspace delete app`.
import t from "tap";
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { WorkspaceDetailSchema, createClient, sshPublicKeyFingerprint } from "@nexus/core";
import { run as runNexus } from "@nexus/cli";
import { Capture } from "@nexus/test-utils";
import { makeRepo } from "../../packages/core/test/agent/helpers/repo.js";
import { runCli } from "../../packages/cli/test/helpers.js";
import { startStack, sweep } from "./helpers/stack.js";

const run = promisify(execFile);

const CONFIG = `name: app
services:
  web:
    command: exec python3 -m http.server 8080 --bind 127.0.0.1
    port: 8080
    health_check: { type: http, path: /, interval: 1s }
`;

const mode = (path: string) => statSync(path).mode & 0o777;

/** The CLI in-process with stderr a terminal (stdout piped), as in a shell: progress is drawn on stderr. */
async function runOnTerminal(argv: string[], options: { cwd: string; env: Record<string, string | undefined> }) {
  const stdout = new Capture();
  const stderr = Object.assign(new Capture(), { isTTY: true });
  const code = await runNexus(argv, { cwd: options.cwd, env: { NO_COLOR: "1", PATH: process.env.PATH, ...options.env }, stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

t.test("auth github → ssh setup → workspace create other-org/app → services → delete, on Incus from a fresh HOME", async (t) => {
  const stack = await startStack(t, "lxc", [24600, 24609]);
  const { github, git } = stack;

  // GitHub: alice, and other-org/app which she does not own (so it is forked). The git
  // server stores repositories as a forge does, one bare repository per owner/name, and
  // accepts alice's GitHub token as the password (as GitHub accepts an OAuth token).
  github.addUser("alice");
  github.addOrg("other-org");
  const token = github.issueToken("alice", { token: stack.gitToken });
  const upstream = await makeRepo(stack.root, "other-org", "app", { "README.md": "# app\n", ".nexus/config.yaml": CONFIG });
  github.addRepo({ owner: "other-org", name: "app" });
  // The fork's storage: GitHub copies the repository when it creates the fork.
  await run("git", ["clone", "--quiet", "--bare", "--", upstream.bare, join(stack.root, "served", "alice", "app.git")]);
  github.forkDelay = 2;

  const home = join(stack.root, "alice-home");
  const cwd = join(stack.root, "alice-projects");
  mkdirSync(home, { recursive: true });
  mkdirSync(cwd, { recursive: true });
  const basic = Buffer.from(`x-access-token:${token}`).toString("base64");
  const env = {
    HOME: home,
    NEXUS_HOME: join(home, ".nexus"),
    NEXUS_SERVER: stack.server.url,
    NEXUS_TOKEN: undefined,
    NEXUS_GITHUB_API_URL: github.apiUrl,
    NEXUS_GITHUB_TOKEN: token,
    GITHUB_TOKEN: undefined,
    // The local clone: the user's git credentials for this forge (a credential helper's job).
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: `http.${git.url}/.extraheader`,
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
  };
  const cli = async (argv: string[], options: { terminal?: boolean } = {}) => {
    const result = await (options.terminal ? runOnTerminal : runCli)(argv, { cwd, env });
    if (result.code !== 0) t.comment(`nexus ${argv.join(" ")} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    t.notMatch(result.stdout + result.stderr, token, `nexus ${argv.slice(0, 2).join(" ")} never prints the GitHub token`);
    return result;
  };

  await t.test("nexus auth github: the token from the environment is verified and stored 0600", async (t) => {
    const auth = await cli(["auth", "github", "--json"]);
    t.equal(auth.code, 0, auth.stderr);
    t.match(JSON.parse(auth.stdout), { login: "alice", source: "env", api_url: github.apiUrl });
    const credentials = join(home, ".nexus", "credentials.json");
    t.equal(mode(credentials), 0o600, "credentials.json is 0600");
    t.match(JSON.parse(readFileSync(credentials, "utf8")), { github: { token, login: "alice", api_url: github.apiUrl } });
  });

  let fingerprint = "";
  await t.test("nexus ssh setup: a key is generated, uploaded to GitHub and registered with the server", async (t) => {
    const setup = await cli(["ssh", "setup", "--json"]);
    t.equal(setup.code, 0, setup.stderr);
    const result = JSON.parse(setup.stdout);
    const keyFile = join(home, ".ssh", "id_ed25519");
    t.match(result, { key: { path: keyFile, type: "ed25519", generated: true }, github: { login: "alice", upload: "created" }, server: { url: stack.server.url, github_username: "alice" } });
    t.equal(mode(keyFile), 0o600, "the private key is 0600");
    const publicKey = readFileSync(`${keyFile}.pub`, "utf8").trim();
    fingerprint = sshPublicKeyFingerprint(publicKey);
    t.equal(result.key.fingerprint, fingerprint);
    t.same(github.keysOf("alice").map((k) => k.key), [publicKey.split(" ").slice(0, 2).join(" ")], "GitHub holds the key");
    const stored = JSON.parse(readFileSync(join(home, ".nexus", "credentials.json"), "utf8"));
    const apiToken: string = stored.servers[stack.server.url].api_token;
    t.match(apiToken, /^nxs_/, "the server's API token is stored for the server");
    const me = await createClient({ server: stack.server.url, token: apiToken }).me();
    t.equal(me.github_username, "alice");
    t.ok(me.keys.some((k) => k.fingerprint === fingerprint), "the server registered the key (/users/me)");
  });

  await t.test("nexus workspace create other-org/app: forked, cloned, created, phases shown; ends running", async (t) => {
    const create = await cli(["workspace", "create", "other-org/app"], { terminal: true });
    t.equal(create.code, 0, create.stderr);
    t.match(create.stderr, /forked other-org\/app to alice\/app/, "says it forked");
    t.match(create.stderr, /cloned alice\/app into /, "and cloned the fork locally");
    for (const label of ["scheduled on a node", "container created", "SSH ready", "repository cloned", "services started", "services healthy"]) {
      t.match(create.stderr, label, `shows the phase "${label}"`);
    }
    t.match(create.stdout, /workspace app is running/);
    const status = await cli(["workspace", "status", "app", "--json"]);
    t.equal(status.code, 0, status.stderr);
    const detail = WorkspaceDetailSchema.parse(JSON.parse(status.stdout));
    const fork = github.repo("alice", "app");
    t.ok(fork?.fork, "GitHub now has alice/app, a fork");
    t.equal(fork?.parent, github.repo("other-org", "app"), "of other-org/app");
    t.ok(github.exchanges.some((e) => e.method === "POST" && e.path === "/repos/other-org/app/forks" && e.status === 202), "the CLI asked GitHub for the fork");
    t.ok(github.exchanges.filter((e) => e.method === "GET" && e.path === "/repos/alice/app" && e.status === 404).length >= 2, "and waited while it was being created");
    t.equal(detail.status, "running");
    t.equal(detail.workspace_name, "app");
    t.match(detail.repository, { owner: "alice", name: "app", branch: "main", commit: upstream.commit, upstream: { owner: "other-org", name: "app" } });
    for (const phase of ["scheduled", "container_created", "ssh_ready", "repo_cloned", "services_started", "services_healthy"]) {
      t.ok(detail.phases.some((p) => p.name === phase && typeof p.duration_ms === "number"), `phase ${phase} reported with a duration`);
    }
    const origin = (await run("git", ["-C", join(cwd, "app"), "remote", "get-url", "origin"])).stdout.trim();
    t.equal(origin, `${git.url}/alice/app.git`, "the local clone's origin is the fork");
    t.equal((await run("git", ["-C", join(cwd, "app"), "remote", "get-url", "upstream"])).stdout.trim(), `${git.url}/other-org/app.git`, "and upstream the original");
  });

  await t.test("in the container: ~/app is dev's checkout of main at the commit, origin the fork, upstream the original", async (t) => {
    const script = "cd ~/app && stat -c %U . && git rev-parse --abbrev-ref HEAD && git rev-parse HEAD && git remote get-url origin && git remote get-url upstream && git status --porcelain | wc -l";
    const inside = await cli(["workspace", "exec", "app", "--", script]);
    t.equal(inside.code, 0, inside.stderr);
    const [owner, branch, commit, origin, upstreamUrl, dirty] = inside.stdout.trim().split("\n");
    t.equal(owner, "dev", "owned by dev");
    t.equal(branch, "main", "on the requested branch");
    t.equal(commit, upstream.commit, "at the commit the server reports");
    t.match(origin, /\/alice\/app(\.git)?$/, "origin is the fork");
    t.match(upstreamUrl, /\/other-org\/app(\.git)?$/, "upstream is the original");
    t.notMatch(`${origin} ${upstreamUrl}`, /@|token/i, "no credentials in the remotes");
    t.equal(dirty, "0", "a clean work tree");
  });

  await t.test("nexus workspace services app: the service is healthy", async (t) => {
    const services = await cli(["workspace", "services", "app", "--json"]);
    t.equal(services.code, 0, services.stderr);
    t.same(JSON.parse(services.stdout).services.map((s: { name: string; status: string; health: string }) => `${s.name}:${s.status}:${s.health}`), ["web:running:healthy"]);
  });

  await t.test("nexus workspace delete app: the running workspace is stopped, then deleted; status is then workspace_not_found (exit 4)", async (t) => {
    const deleted = await cli(["workspace", "delete", "app", "--json"]);
    t.equal(deleted.code, 0, deleted.stderr);
    t.match(JSON.parse(deleted.stdout), { workspace_name: "app", status: "deleted" });
    const status = await cli(["workspace", "status", "app", "--json"]);
    t.equal(status.code, 4, status.stderr);
    t.match(JSON.parse(status.stdout || status.stderr), { error: "workspace_not_found" });
    t.equal(await sweep("lxc"), 0, "no container of this run is left on Incus");
  });
});
