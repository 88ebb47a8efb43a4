// The pure parts of the coordination services: default names, following logs by tail,
// GitHub host derivation, token formats, workspace health.
import t from "tap";
import {
  NAME_PATTERN,
  TOKEN_PREFIXES,
  githubHostFromApiUrl,
  newLogLines,
  newToken,
  sameSecret,
  splitLogLines,
  toWorkspaceName,
  workspaceHealth,
  workspaceNameCandidates,
  type ServiceRecord,
} from "@nexus/core";

t.test("workspace names: folded from repository and branch names, always valid", async (t) => {
  t.equal(toWorkspaceName("Hello-World"), "hello-world");
  t.equal(toWorkspaceName("My_App.js"), "my-app-js");
  t.equal(toWorkspaceName("--x--"), "x");
  t.equal(toWorkspaceName("..."), "workspace");
  t.equal(toWorkspaceName("a".repeat(100)).length, 63);
  t.same(workspaceNameCandidates("app", "feature/Login").slice(0, 4), ["app", "app-feature-login", "app-2", "app-3"]);
  t.same(workspaceNameCandidates("app").slice(0, 2), ["app", "app-2"]);
  t.same(workspaceNameCandidates("app", "main").length, 100, "repo, repo-branch, then -2 … -99");
  const long = workspaceNameCandidates("r".repeat(80), "b".repeat(80));
  for (const name of long) t.match(name, NAME_PATTERN);
  t.equal(long[1], `${"r".repeat(22)}-${"b".repeat(40)}`, "the branch form still differs from the repository form");
  t.equal(long[2], `${"r".repeat(61)}-2`);
  t.equal(new Set(long).size, long.length, "no duplicates");
  t.same(workspaceNameCandidates("x", "x").slice(0, 2), ["x", "x-x"]);
});

t.test("following logs: only the lines after the previous tail", async (t) => {
  t.same(splitLogLines(""), []);
  t.same(splitLogLines("a\nb\n"), ["a", "b"]);
  t.same(splitLogLines("a\nb"), ["a", "b"]);
  t.same(newLogLines([], ["a", "b"]), ["a", "b"], "nothing seen yet");
  t.same(newLogLines(["a", "b"], ["a", "b"]), [], "unchanged");
  t.same(newLogLines(["a", "b"], ["a", "b", "c"]), ["c"], "grew");
  t.same(newLogLines(["a", "b", "c"], ["b", "c", "d", "e"]), ["d", "e"], "the window slid");
  t.same(newLogLines(["a", "b"], ["x", "y"]), ["x", "y"], "no overlap: all new");
  t.same(newLogLines(["x", "y", "x"], ["x", "y", "x", "y", "x"], true), ["y", "x"], "a whole log: the previous one is its prefix");
  t.same(newLogLines(["x", "y", "x"], ["x", "y", "x", "y", "x"]), [], "a tail of repeats is ambiguous: nothing is repeated rather than lines shown twice");
  t.same(newLogLines(["a", "b"], ["z", "b", "c"], true), ["z", "b", "c"], "not a prefix (rotated) and no overlap: all new");
});

t.test("the clone host follows the GitHub API URL", async (t) => {
  t.equal(githubHostFromApiUrl("https://api.github.com"), "github.com");
  t.equal(githubHostFromApiUrl("https://ghe.example.com/api/v3"), "ghe.example.com");
  t.equal(githubHostFromApiUrl("https://api.ghe.example.com"), "ghe.example.com");
  t.equal(githubHostFromApiUrl("http://127.0.0.1:9999"), "127.0.0.1:9999");
});

t.test("tokens: prefixed, 256 random bits, compared in constant time", async (t) => {
  const api = newToken("api");
  t.match(api, /^nxs_[A-Za-z0-9_-]{43}$/);
  t.not(newToken("api"), api);
  t.ok(newToken("node").startsWith(TOKEN_PREFIXES.node));
  t.ok(newToken("join").startsWith("nxj_"));
  t.ok(sameSecret(api, api));
  t.notOk(sameSecret(api, `${api}x`));
});

t.test("workspace health: degraded when running with an unhealthy service", async (t) => {
  const service = (health: ServiceRecord["health"], status: ServiceRecord["status"] = "running"): ServiceRecord => ({
    workspace_id: "ws_x", name: "s", status, health, port: null, local_port: null, depends_on: [], last_check: null, last_error: null, updated_at: "",
  });
  t.equal(workspaceHealth("running", []), "healthy");
  t.equal(workspaceHealth("running", [service("healthy"), service("healthy")]), "healthy");
  t.equal(workspaceHealth("running", [service("healthy"), service("unhealthy")]), "degraded");
  t.equal(workspaceHealth("running", [service("unknown", "error")]), "degraded");
  t.equal(workspaceHealth("running", [service("unknown", "starting")]), "unknown");
  t.equal(workspaceHealth("error", []), "unhealthy");
  t.equal(workspaceHealth("stopped", [service("healthy")]), "unknown");
});
