// cloneLocally against local repositories: origin is the fork, upstream the original.
import t, { type Test } from "tap";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempTree } from "@nexus/test-utils";
import { cloneLocally } from "@nexus/github";
import { rejection } from "./helpers.js";

const gitEnv = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com", GIT_CONFIG_GLOBAL: "/dev/null" };
const git = (args: string[], cwd?: string) => execFileSync("git", args, { cwd, env: gitEnv, encoding: "utf8" }).trim();

/** An upstream bare repository with `main` and `feature`, and a bare "fork" cloned from it. */
function repositories(t: Test): { root: string; upstream: string; fork: string } {
  const tree = tempTree({ work: { "README.md": "hello\n" } });
  t.teardown(tree.cleanup);
  const work = join(tree.dir, "work");
  git(["init", "-q", "-b", "main"], work);
  git(["add", "."], work);
  git(["commit", "-qm", "first"], work);
  git(["checkout", "-qb", "feature"], work);
  writeFileSync(join(work, "feature.txt"), "feature\n");
  git(["add", "."], work);
  git(["commit", "-qm", "feature"], work);
  git(["checkout", "-q", "main"], work);
  const upstream = join(tree.dir, "upstream.git");
  const fork = join(tree.dir, "fork.git");
  git(["clone", "-q", "--bare", work, upstream]);
  git(["clone", "-q", "--bare", upstream, fork]);
  return { root: tree.dir, upstream, fork };
}

t.test("clones the fork as origin and adds the original as upstream", async (t) => {
  const { root, upstream, fork } = repositories(t);
  const dir = join(root, "checkout");
  const clone = await cloneLocally({ dir, origin: fork, upstream, env: gitEnv });
  t.same(clone, { dir, branch: "main", remotes: { origin: fork, upstream } });
  t.equal(git(["remote", "get-url", "origin"], dir), fork);
  t.equal(git(["remote", "get-url", "upstream"], dir), upstream);
  t.equal(git(["rev-parse", "--abbrev-ref", "HEAD"], dir), "main");
});

t.test("checks out the requested branch; no upstream remote for an owned repository", async (t) => {
  const { root, upstream } = repositories(t);
  const dir = join(root, "own");
  const clone = await cloneLocally({ dir, origin: `file://${upstream}`, branch: "feature", env: gitEnv });
  t.equal(clone.branch, "feature");
  t.same(clone.remotes, { origin: `file://${upstream}` });
  t.equal(git(["remote"], dir), "origin");
});

t.test("failures: a missing branch is clone_failed; a non-empty directory, a bad branch or URL are refused", async (t) => {
  const { root, upstream } = repositories(t);
  const missing = await rejection(t, cloneLocally({ dir: join(root, "x"), origin: upstream, branch: "nope", env: gitEnv }));
  t.equal(missing.code, "clone_failed");
  t.match(missing.message, /nope/);
  writeFileSync(join(root, "taken.txt"), "");
  t.equal((await rejection(t, cloneLocally({ dir: root, origin: upstream, env: gitEnv }))).code, "invalid_request", "non-empty directory");
  t.equal((await rejection(t, cloneLocally({ dir: join(root, "y"), origin: upstream, branch: "--upload-pack=x", env: gitEnv }))).code, "invalid_request");
  t.equal((await rejection(t, cloneLocally({ dir: join(root, "y"), origin: "--upload-pack=touch /tmp/x", env: gitEnv }))).code, "invalid_request");
  t.equal((await rejection(t, cloneLocally({ dir: join(root, "y"), origin: "ext::sh -c id", env: gitEnv }))).code, "invalid_request");
  t.equal((await rejection(t, cloneLocally({ dir: "relative", origin: upstream, env: gitEnv }))).code, "invalid_request");
});
