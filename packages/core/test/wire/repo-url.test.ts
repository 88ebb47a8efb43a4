import t from "tap";
import { checkRepositoryUrl, isNexusError, parseRepositoryUrl, redactRepositoryUrl, type RepositoryUrlPolicy } from "@nexus/core";

const policy: RepositoryUrlPolicy = { githubHost: "github.com", allowedHosts: ["git.example.com", "ghe.internal:8443"] };
const local: RepositoryUrlPolicy = { ...policy, allowLocal: true };

t.test("accepted forms give their parts", async (t) => {
  const cases: [string, RepositoryUrlPolicy, Record<string, unknown>][] = [
    ["https://github.com/octocat/hello-world.git", policy, { kind: "https", host: "github.com", owner: "octocat", name: "hello-world" }],
    ["https://github.com/octocat/hello-world", policy, { kind: "https", owner: "octocat", name: "hello-world" }],
    ["https://GitHub.com/octocat/hello-world/", policy, { kind: "https", host: "github.com", owner: "octocat" }],
    ["https://github.com:443/octocat/x.git", policy, { kind: "https", port: 443, name: "x" }],
    ["ssh://git@github.com/octocat/x.git", policy, { kind: "ssh", user: "git", host: "github.com", owner: "octocat" }],
    ["ssh://git@github.com:22/octocat/x.git", policy, { kind: "ssh", port: 22 }],
    ["git@github.com:octocat/x.git", policy, { kind: "scp", user: "git", host: "github.com", owner: "octocat", name: "x" }],
    ["github.com:octocat/x", policy, { kind: "scp", host: "github.com" }],
    ["https://git.example.com/group/sub/project.git", policy, { kind: "https", host: "git.example.com", path: "/group/sub/project.git" }],
    ["https://ghe.internal:8443/team/app.git", policy, { kind: "https", port: 8443 }],
    ["file:///srv/git/app.git", local, { kind: "file", path: "/srv/git/app.git" }],
    ["file://localhost/srv/git/app", local, { kind: "file", path: "/srv/git/app" }],
    ["file:///home/me/My%20Projects/app", local, { kind: "file", path: "/home/me/My Projects/app" }],
    ["/home/me/My Projects/app", local, { kind: "path", path: "/home/me/My Projects/app" }],
    ["/home/me/app/", local, { kind: "path", path: "/home/me/app" }],
    ["http://127.0.0.1:8080/octocat/x.git", { githubHost: "127.0.0.1:8080", allowHttp: true }, { kind: "http", owner: "octocat" }],
  ];
  for (const [url, p, expected] of cases) {
    const parsed = checkRepositoryUrl(url, p);
    t.match(parsed, { ...expected, url }, url);
  }
});

t.test("rejected URLs are invalid_request with a reason that says why", async (t) => {
  const cases: [string, RepositoryUrlPolicy, RegExp][] = [
    ["", policy, /is empty/],
    ["file:///etc/passwd", policy, /only allowed in single-machine mode/],
    ["/etc", policy, /only allowed in single-machine mode/],
    ["./app", local, /local paths must be absolute/],
    ["app", local, /not a repository URL/],
    ["/home/me/../../etc", local, /not a normalised path/],
    ["/home//me", local, /not a normalised path/],
    ["/home/me/a\nb", local, /control characters/],
    ["file://evil.com/etc", local, /remote host/],
    ["file:///tmp/x%0Ay", local, /control characters/],
    ["http://github.com/o/r.git", policy, /plain http:\/\//],
    ["https://evil.com/o/r.git", policy, /host evil\.com is not allowed/],
    ["https://10.0.0.1/o/r.git", policy, /host 10\.0\.0\.1 is not allowed/],
    ["https://169.254.169.254/latest/meta-data", policy, /not allowed/],
    ["https://github.com:8443/o/r.git", policy, /host github\.com:8443 is not allowed/],
    ["https://ghe.internal/team/app.git", policy, /not allowed/],
    ["https://github.com.evil.com/o/r", policy, /not allowed/],
    ["https://github.com@evil.com/o/r", policy, /credentials/],
    ["https://user:ghp_secret@github.com/o/r.git", policy, /credentials/],
    ["https://ghp_secret@github.com/o/r.git", policy, /credentials/],
    ["ssh://git:pw@github.com/o/r.git", policy, /credentials/],
    ["git:pw@github.com:o/r.git", policy, /credentials/],
    ["ext::sh -c touch% /tmp/pwned", policy, /whitespace|remote-helper/],
    ["ext::sh", policy, /remote-helper/],
    ["fd::17", policy, /remote-helper/],
    ["--upload-pack=touch /tmp/x", policy, /starts with '-'/],
    ["-oProxyCommand=x:o/r", policy, /starts with '-'/],
    ["ssh://-oProxyCommand=touch/o/r", policy, /invalid host/],
    ["git@-oProxyCommand=x:o/r", policy, /invalid host/],
    ["git://github.com/o/r.git", policy, /unsupported scheme 'git:\/\/'/],
    ["ftp://github.com/o/r", policy, /unsupported scheme/],
    ["git+ssh://github.com/o/r", policy, /unsupported scheme/],
    ["HTTPS://github.com/o/r", policy, /unsupported scheme/],
    ["https://github.com/o/../../r", policy, /'\.' or '\.\.' path segments/],
    ["https://github.com/o/%2e%2e/r", policy, /%-escapes/],
    ["https://github.com/o/r?x=1", policy, /query or fragment/],
    ["https://github.com/o/r#frag", policy, /query or fragment/],
    ["https://github.com//o/r", policy, /empty path segment/],
    ["https://github.com/o/-r", policy, /starting with '-'/],
    ["https://github.com/o/r;id", policy, /unsupported characters/],
    ["https://github.com/o/r$(id)", policy, /unsupported characters/],
    ["https://github.com/o/r`id`", policy, /unsupported characters/],
    ["https://github.com/o/rép", policy, /unsupported characters/],
    ["https://github.com/o/r b", policy, /whitespace/],
    ["https://github.com/o/r\tb", policy, /whitespace/],
    ["https://github.com", policy, /does not name a repository path/],
    ["https://github.com/octocat", policy, /exactly one repository/],
    ["https://github.com/a/b/c", policy, /exactly one repository/],
    ["https://github.com/-bad-/r", policy, /starting with '-'/],
    ["https://github.com/bad--owner/r", policy, /exactly one repository/],
    ["git@github.com:22/o/r.git", policy, /carries a port/],
    ["git@github.com:/abs/path.git", policy, /absolute path after ':'/],
    ["git@[::1]:o/r", policy, /IPv6/],
    ["https://[::1]/o/r", policy, /IPv6/],
    ["https://github.com:99999/o/r", policy, /invalid port/],
    ["C:\\Users\\me\\repo", local, /invalid host|unsupported characters|not a repository URL/],
    [`https://github.com/o/${"r".repeat(2100)}`, policy, /longer than 2048/],
  ];
  for (const [url, p, reason] of cases) {
    try {
      checkRepositoryUrl(url, p);
      t.fail(`${JSON.stringify(url)} was accepted`);
    } catch (error) {
      t.ok(isNexusError(error) && error.code === "invalid_request", `${JSON.stringify(url.slice(0, 60))} → invalid_request`);
      t.match((error as Error).message, reason, `${JSON.stringify(url.slice(0, 60))}: ${reason}`);
    }
  }
});

t.test("credentials are never echoed back", async (t) => {
  const url = "https://x-access-token:ghp_TOPSECRET@github.com/o/r.git";
  try {
    checkRepositoryUrl(url, policy);
    t.fail("accepted");
  } catch (error) {
    t.notMatch((error as Error).message, /TOPSECRET/);
    t.notMatch(JSON.stringify((error as { details: unknown }).details), /TOPSECRET/);
    t.match((error as Error).message, /\*\*\*@github\.com/);
  }
  t.equal(redactRepositoryUrl("ssh://git@github.com/o/r"), "ssh://***@github.com/o/r");
  t.equal(redactRepositoryUrl("git@github.com:o/r"), "git@github.com:o/r", "scp user names are not credentials");
  t.equal(redactRepositoryUrl("git:hunter2@github.com:o/r"), "***@github.com:o/r");
  try {
    checkRepositoryUrl("git:hunter2@github.com:o/r.git", policy);
    t.fail("accepted");
  } catch (error) {
    t.notMatch((error as Error).message, /hunter2/);
  }
});

t.test("parseRepositoryUrl checks syntax only", async (t) => {
  t.ok(parseRepositoryUrl("https://anything.example/o/r").ok, "any host parses");
  t.ok(parseRepositoryUrl("/srv/app").ok, "local paths parse");
  t.same(parseRepositoryUrl("ext::sh").ok, false);
});
