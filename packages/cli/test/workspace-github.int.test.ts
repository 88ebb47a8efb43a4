// workspace create for a GitHub repository: the GitHub emulator decides ownership and
// forks; "GitHub's" git repositories are bare repositories on disk served over file://.
import t, { type Test } from "tap";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { tempTree } from "@nexus/test-utils";
import { startGithubEmulator } from "@nexus/github/testing";
import { runCli } from "./helpers.js";
import { startFakeServer } from "./workspace-fake-server.js";

const CONFIG = "version: 1\nservices:\n  web:\n    command: npm run dev\n    port: 3000\n";

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd, encoding: "utf8", stdio: "pipe" }).trim();
}

async function harness(t: Test) {
  const tree = tempTree({ home: {}, work: {}, remotes: {} });
  t.teardown(tree.cleanup);
  const remotes = join(tree.dir, "remotes");
  const gh = await startGithubEmulator({ cloneUrl: (owner, name) => `file://${remotes}/${owner}/${name}.git` });
  t.teardown(() => gh.close());
  gh.addUser("octocat");
  const token = gh.issueToken("octocat");
  // acme/shop on "GitHub", with a config; octocat's fork is a copy of it.
  const seed = join(tree.dir, "seed");
  mkdirSync(join(seed, ".nexus"), { recursive: true });
  execFileSync("sh", ["-c", `printf '%s' "$1" > .nexus/config.yaml`, "sh", CONFIG], { cwd: seed });
  git(seed, "init", "-q", "-b", "main");
  git(seed, "add", "-A");
  git(seed, "commit", "-qm", "init");
  for (const owner of ["acme", "octocat"]) {
    mkdirSync(join(remotes, owner), { recursive: true });
    git(tree.dir, "clone", "-q", "--bare", seed, join(remotes, owner, "shop.git"));
  }
  gh.addRepo({ owner: "acme", name: "shop" });
  // The server accepts these file:// URLs as it would accept its GitHub host's.
  const server = await startFakeServer({ singleMachine: true });
  t.teardown(() => server.close());
  const home = join(tree.dir, "home");
  const env = {
    HOME: home,
    NEXUS_HOME: join(home, ".nexus"),
    NEXUS_SERVER: server.url,
    NEXUS_TOKEN: server.options.token,
    NEXUS_GITHUB_API_URL: gh.apiUrl,
    NEXUS_GITHUB_TOKEN: token,
    // git only: no `gh` to fall back on.
    PATH: "/usr/bin:/bin",
  };
  return { gh, token, server, env, work: join(tree.dir, "work"), remotes };
}

t.test("create OWNER/REPO the user does not own: forks, clones locally with upstream, sends the fork and the clone token", async (t) => {
  const { gh, token, server, env, work, remotes } = await harness(t);
  const r = await runCli(["workspace", "create", "acme/shop"], { env, cwd: work });
  t.equal(r.code, 0, r.stderr);
  t.notMatch(r.stdout + r.stderr, token, "the token is never printed");
  t.ok(gh.repo("octocat", "shop")?.fork, "the fork exists on GitHub");
  t.match(r.stdout, /forked acme\/shop to octocat\/shop/);
  t.match(r.stdout, /cloned octocat\/shop into .*work\/shop/);
  t.match(r.stdout, /using .*shop\/\.nexus\/config\.yaml \(services: web\)/);
  t.match(r.stdout, /workspace shop is running/);

  const clone = join(work, "shop");
  t.equal(git(clone, "remote", "get-url", "origin"), `file://${remotes}/octocat/shop.git`);
  t.equal(git(clone, "remote", "get-url", "upstream"), `file://${remotes}/acme/shop.git`);

  const body = server.requestsTo("POST", "/api/v1/workspaces/create-from-repo")[0]!.body as Record<string, unknown>;
  t.match(body, {
    repo: { owner: "octocat", name: "shop", branch: "main", url: `file://${remotes}/octocat/shop.git`, is_fork: true, upstream: { owner: "acme", name: "shop" } },
    config: { services: { web: { port: 3000 } } },
    clone_token: token,
  });

  // Again, from the same directory: the checkout is reused, not cloned over.
  const again = await runCli(["workspace", "create", `${gh.webUrl}/acme/shop`, "--name", "shop-2", "--json"], { env, cwd: work });
  t.equal(again.code, 0, again.stderr);
  t.equal(JSON.parse(again.stdout).workspace_name, "shop-2");
  t.equal(gh.repos().filter((repo) => repo.name.startsWith("shop")).length, 2, "the existing fork is reused");
});

t.test("create --no-clone: nothing on disk, no config, still the clone token", async (t) => {
  const { server, env, work, token } = await harness(t);
  const r = await runCli(["workspace", "create", "acme/shop", "--no-clone", "--branch", "main"], { env, cwd: work });
  t.equal(r.code, 0, r.stderr);
  t.notOk(existsSync(join(work, "shop")));
  t.match(r.stderr, /no local clone/);
  const body = server.requestsTo("POST", "/api/v1/workspaces/create-from-repo")[0]!.body as Record<string, unknown>;
  t.notOk("config" in body);
  t.equal(body.clone_token, token);
});

t.test("create --clone-dir clones where asked; a non-empty unrelated directory is refused", async (t) => {
  const { env, work } = await harness(t);
  const r = await runCli(["workspace", "create", "acme/shop", "--clone-dir", "src/app", "--no-wait"], { env, cwd: work });
  t.equal(r.code, 0, r.stderr);
  t.ok(existsSync(join(work, "src", "app", ".nexus", "config.yaml")));
  mkdirSync(join(work, "busy"));
  execFileSync("sh", ["-c", "echo x > busy/file"], { cwd: work });
  const busy = await runCli(["workspace", "create", "acme/shop", "--clone-dir", "busy", "--name", "shop-busy"], { env, cwd: work });
  t.equal(busy.code, 2);
  t.match(busy.stderr, /already exists and is not empty/);
  t.match(busy.stderr, /--no-clone/);
});

t.test("no GitHub login: auth_required, exit 3, `nexus auth github`", async (t) => {
  const { server, env, work } = await harness(t);
  const r = await runCli(["workspace", "create", "acme/shop"], { env: { ...env, NEXUS_GITHUB_TOKEN: undefined }, cwd: work });
  t.equal(r.code, 3);
  t.match(r.stderr, /\[auth_required\]/);
  t.match(r.stderr, /next: Run `nexus auth github`/);
  t.equal(server.requestsTo("POST", "/api/v1/workspaces/create-from-repo").length, 0);
});

t.test("a repository GitHub does not have: repo_not_found, exit 4", async (t) => {
  const { env, work } = await harness(t);
  const r = await runCli(["workspace", "create", "acme/nope", "--json"], { env, cwd: work });
  t.equal(r.code, 4);
  t.equal(JSON.parse(r.stdout).error, "repo_not_found");
});
