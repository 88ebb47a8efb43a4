// resolveRepository: own repositories, push access, forking, reusing a fork, slow forks.
import t from "tap";
import { Secret } from "@nexus/core";
import { createGithubClient, resolveRepository } from "@nexus/github";
import { rejection, world } from "./helpers.js";

const fast = { forkPolling: { delayMs: 1, maxDelayMs: 2 } };

t.test("an owned repository is used as is", async (t) => {
  const { client, gh } = await world(t);
  gh.addRepo({ owner: "octocat", name: "hello", default_branch: "trunk" });
  const repo = await resolveRepository(client, { owner: "octocat", name: "hello" }, "octocat");
  t.same(repo, {
    owner: "octocat",
    name: "hello",
    clone_url: `${gh.webUrl}/octocat/hello.git`,
    ssh_url: "git@127.0.0.1:octocat/hello.git",
    branch: "trunk",
    html_url: `${gh.webUrl}/octocat/hello`,
    private: false,
    is_fork: false,
    forked: false,
  });
  t.notOk(gh.exchanges.some((e) => e.method === "POST"), "nothing forked");
  t.equal((await resolveRepository(client, { owner: "OctoCat", name: "HELLO" }, "octocat", { branch: "feature/x" })).branch, "feature/x", "names are case-insensitive; a branch can be chosen");
});

t.test("push access (an org repository) means no fork", async (t) => {
  const { client, gh } = await world(t);
  gh.addOrg("acme");
  gh.addRepo({ owner: "acme", name: "app", collaborators: { octocat: "push" } });
  const repo = await resolveRepository(client, { owner: "acme", name: "app" }, "octocat");
  t.equal(repo.owner, "acme");
  t.equal(repo.is_fork, false);
  t.equal(repo.upstream, undefined);
});

t.test("a repository the user cannot push to is forked and waited for", async (t) => {
  const { client, gh } = await world(t, { cloneUrl: (o, n) => `/srv/git/${o}/${n}.git` });
  gh.addRepo({ owner: "torvalds", name: "linux", default_branch: "master" });
  gh.forkDelay = 3;
  const repo = await resolveRepository(client, { owner: "torvalds", name: "linux" }, "octocat", fast);
  t.same(repo, {
    owner: "octocat",
    name: "linux",
    clone_url: "/srv/git/octocat/linux.git",
    ssh_url: "git@127.0.0.1:octocat/linux.git",
    branch: "master",
    html_url: `${gh.webUrl}/octocat/linux`,
    private: false,
    is_fork: true,
    forked: true,
    upstream: { owner: "torvalds", name: "linux", clone_url: "/srv/git/torvalds/linux.git", ssh_url: "git@127.0.0.1:torvalds/linux.git" },
  });
  const forkGets = gh.exchanges.filter((e) => e.method === "GET" && e.path === "/repos/octocat/linux");
  t.same(forkGets.map((e) => e.status), [404, 404, 404, 404, 200], "looked for an existing fork, then polled past the slow creation");
  t.ok(gh.exchanges.some((e) => /^\/repos\/octocat\/linux\/git\/ref\/heads(%2F|\/)master$/.test(e.path) && e.status === 200), "waited for the default branch");
  t.equal(gh.exchanges.filter((e) => e.method === "POST").length, 1);

  const again = await resolveRepository(client, { owner: "torvalds", name: "linux" }, "octocat", fast);
  t.equal(again.forked, false, "the fork is reused");
  t.equal(again.owner, "octocat");
  t.equal(gh.exchanges.filter((e) => e.method === "POST").length, 1, "no second fork request");
});

t.test("a same-named repository that is not a fork of it is not reused", async (t) => {
  const { client, gh } = await world(t);
  gh.addRepo({ owner: "octocat", name: "tools" });
  gh.addRepo({ owner: "acme", name: "tools" });
  const repo = await resolveRepository(client, { owner: "acme", name: "tools" }, "octocat", fast);
  t.equal(repo.name, "tools-1", "GitHub picks a free name for the fork");
  t.equal(repo.forked, true);
  t.equal(repo.upstream?.owner, "acme");
});

t.test("a fork that never appears times out, naming the fork", async (t) => {
  const { client, gh } = await world(t);
  gh.addRepo({ owner: "acme", name: "huge" });
  gh.forkDelay = 100;
  const error = await rejection(t, resolveRepository(client, { owner: "acme", name: "huge" }, "octocat", { forkPolling: { attempts: 3, delayMs: 1 } }));
  t.equal(error.code, "timeout");
  t.equal(error.details.phase, "fork");
  t.equal(error.details.fork, "octocat/huge");
});

t.test("forking an empty repository does not wait for a branch", async (t) => {
  const { client, gh } = await world(t);
  gh.addRepo({ owner: "acme", name: "blank", size: 0 });
  const repo = await resolveRepository(client, { owner: "acme", name: "blank" }, "octocat", fast);
  t.equal(repo.is_fork, true);
  t.notOk(gh.exchanges.some((e) => e.path.includes("/git/ref/")));
});

t.test("the user's own fork is used with its parent as upstream", async (t) => {
  const { client, gh } = await world(t);
  gh.addRepo({ owner: "acme", name: "lib" });
  await resolveRepository(client, { owner: "acme", name: "lib" }, "octocat", fast);
  const repo = await resolveRepository(client, { owner: "octocat", name: "lib" }, "octocat");
  t.equal(repo.is_fork, true);
  t.equal(repo.forked, false);
  t.same(repo.upstream, { owner: "acme", name: "lib", clone_url: `${gh.webUrl}/acme/lib.git`, ssh_url: "git@127.0.0.1:acme/lib.git" });
});

t.test("missing and private repositories are repo_not_found; a bad branch is refused first", async (t) => {
  const { client, gh } = await world(t);
  gh.addUser("hubot");
  gh.addRepo({ owner: "hubot", name: "secret", private: true });
  t.equal((await rejection(t, resolveRepository(client, { owner: "acme", name: "nope" }, "octocat"))).code, "repo_not_found");
  t.equal((await rejection(t, resolveRepository(client, { owner: "hubot", name: "secret" }, "octocat"))).code, "repo_not_found");
  const before = gh.exchanges.length;
  t.equal((await rejection(t, resolveRepository(client, { owner: "hubot", name: "secret" }, "octocat", { branch: "bad..branch" }))).code, "invalid_request");
  t.equal(gh.exchanges.length, before, "no request for an invalid branch");
});

t.test("a private repository shared with push access is used without a fork", async (t) => {
  const { gh } = await world(t);
  gh.addUser("hubot");
  gh.addRepo({ owner: "hubot", name: "team", private: true, collaborators: { octocat: "push" } });
  const client = createGithubClient({ apiUrl: gh.apiUrl, token: new Secret(gh.issueToken("octocat")), backoffUnitMs: 1 });
  const repo = await resolveRepository(client, { owner: "hubot", name: "team" }, "octocat");
  t.equal(repo.private, true);
  t.equal(repo.owner, "hubot");
});
