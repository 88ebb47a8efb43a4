// Local git repositories for agent tests: a working tree with the given files, one
// commit, and a bare copy at <root>/<owner>/<name>.git (what git servers serve).
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const IDENTITY = ["-c", "user.name=nexus test", "-c", "user.email=test@nexus.invalid", "-c", "commit.gpgsign=false"];

export interface TestRepo {
  /** The working tree. */
  dir: string;
  /** The bare repository. */
  bare: string;
  commit: string;
  branch: string;
}

export async function makeRepo(root: string, owner: string, name: string, files: Record<string, string>, branch = "main"): Promise<TestRepo> {
  const dir = join(root, "work", owner, name);
  mkdirSync(dir, { recursive: true });
  await run("git", ["init", "--quiet", "--initial-branch", branch, dir]);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  await run("git", ["-C", dir, "add", "--all"]);
  await run("git", ["-C", dir, ...IDENTITY, "commit", "--quiet", "--allow-empty", "-m", "initial commit"]);
  const commit = (await run("git", ["-C", dir, "rev-parse", "HEAD"])).stdout.trim();
  const bare = join(root, "served", owner, `${name}.git`);
  mkdirSync(dirname(bare), { recursive: true });
  await run("git", ["clone", "--quiet", "--bare", "--", dir, bare]);
  return { dir, bare, commit, branch };
}

/** A second commit on the working tree's branch, pushed to the bare copy. */
export async function addCommit(repo: TestRepo, path: string, content: string): Promise<string> {
  writeFileSync(join(repo.dir, path), content);
  await run("git", ["-C", repo.dir, "add", "--all"]);
  await run("git", ["-C", repo.dir, ...IDENTITY, "commit", "--quiet", "-m", `change ${path}`]);
  await run("git", ["-C", repo.dir, "push", "--quiet", repo.bare, `HEAD:refs/heads/${repo.branch}`]);
  const commit = (await run("git", ["-C", repo.dir, "rev-parse", "HEAD"])).stdout.trim();
  repo.commit = commit;
  return commit;
}
