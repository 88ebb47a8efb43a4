// What `workspace create` makes of its argument, and how ssh receives a command.
import t from "tap";
import { join } from "node:path";
import { tempTree } from "@nexus/test-utils";
import { classifyRepoInput, sanitizeRepoName } from "../src/commands/workspace/source.js";
import { remoteCommand } from "../src/commands/workspace/ssh.js";

t.test("repository arguments: paths and existing directories are local, the rest GitHub", async (t) => {
  const tree = tempTree({ "my-org": { app: { "README.md": "x" } }, plain: {} });
  t.teardown(tree.cleanup);
  const env = { HOME: "/home/you" };
  const cwd = tree.dir;
  t.same(classifyRepoInput(".", cwd, env), { kind: "local", dir: cwd });
  t.same(classifyRepoInput("./plain", cwd, env), { kind: "local", dir: join(cwd, "plain") });
  t.same(classifyRepoInput("../x", join(cwd, "plain"), env), { kind: "local", dir: join(cwd, "x") });
  t.same(classifyRepoInput("~/src/app", cwd, env), { kind: "local", dir: "/home/you/src/app" });
  t.same(classifyRepoInput("/abs/my app", cwd, env), { kind: "local", dir: "/abs/my app" });
  t.same(classifyRepoInput("file:///abs/my%20app", cwd, env), { kind: "local", dir: "/abs/my app" });
  t.same(classifyRepoInput("plain", cwd, env), { kind: "local", dir: join(cwd, "plain") }, "an existing directory");
  t.same(classifyRepoInput("my-org/app", cwd, env), { kind: "local", dir: join(cwd, "my-org", "app") }, "a directory wins over OWNER/REPO");
  t.same(classifyRepoInput("octo/shop", cwd, env), { kind: "github", ref: "octo/shop" });
  t.same(classifyRepoInput("https://github.com/octo/shop", cwd, env), { kind: "github", ref: "https://github.com/octo/shop" });
  t.same(classifyRepoInput("git@github.com:octo/shop.git", cwd, env), { kind: "github", ref: "git@github.com:octo/shop.git" });
  t.throws(() => classifyRepoInput("  ", cwd, env), { code: "invalid_request" });
  t.throws(() => classifyRepoInput("file://otherhost/x", cwd, env), { code: "invalid_request" });
});

t.test("directory names become valid repository names", async (t) => {
  t.equal(sanitizeRepoName("shop"), "shop");
  t.equal(sanitizeRepoName("My Shop (v2)"), "My-Shop-v2");
  t.equal(sanitizeRepoName("..hidden"), "hidden");
  t.equal(sanitizeRepoName("site.git"), "site");
  t.equal(sanitizeRepoName("日本"), "project");
  t.equal(sanitizeRepoName("a".repeat(150)).length, 100);
});

t.test("ssh command: one word is a command line, several an argv quoted word by word", async (t) => {
  t.equal(remoteCommand([]), undefined);
  t.equal(remoteCommand(["cd web && npm test"]), "cd web && npm test");
  t.equal(remoteCommand(["ls", "-la", "my dir"]), "ls -la 'my dir'");
  t.equal(remoteCommand(["echo", "it's", "$HOME"]), "echo 'it'\\''s' '$HOME'");
});
