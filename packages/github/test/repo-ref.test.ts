// parseRepoRef: every accepted form, and what is refused (with a reason, never a token).
import t from "tap";
import { parseRepoRef } from "@nexus/github";

const accepted: Array<[string, { owner: string; name: string; host?: string }]> = [
  ["octocat/hello-world", { owner: "octocat", name: "hello-world" }],
  ["  my-org/my.project_1  ", { owner: "my-org", name: "my.project_1" }],
  ["https://github.com/octocat/hello-world", { owner: "octocat", name: "hello-world", host: "github.com" }],
  ["https://github.com/octocat/hello-world.git", { owner: "octocat", name: "hello-world", host: "github.com" }],
  ["https://github.com/octocat/hello-world/", { owner: "octocat", name: "hello-world", host: "github.com" }],
  ["https://www.github.com/octocat/hello-world", { owner: "octocat", name: "hello-world", host: "github.com" }],
  ["git@github.com:octocat/hello-world.git", { owner: "octocat", name: "hello-world", host: "github.com" }],
  ["git@github.com:octocat/hello-world", { owner: "octocat", name: "hello-world", host: "github.com" }],
  ["ssh://git@github.com/octocat/hello-world.git", { owner: "octocat", name: "hello-world", host: "github.com" }],
  ["ssh://git@ghe.example.com:2222/team/service.git", { owner: "team", name: "service", host: "ghe.example.com" }],
  ["https://ghe.example.com/team/service.git", { owner: "team", name: "service", host: "ghe.example.com" }],
  ["git@ghe.example.com:team/service.git", { owner: "team", name: "service", host: "ghe.example.com" }],
];

for (const [input, expected] of accepted) {
  t.test(`accepts ${JSON.stringify(input)}`, async (t) => {
    t.same(parseRepoRef(input), expected);
  });
}

const refused: Array<[string, RegExp]> = [
  ["", /must name|not a repository|is empty/],
  ["octocat", /not a repository URL|OWNER\/REPO/],
  ["octocat/hello/extra", /not a repository URL|exactly one repository/],
  ["-rf/repo", /invalid owner/],
  ["octo--/repo", /invalid owner/],
  ["a".repeat(40) + "/repo", /invalid owner/],
  ["octocat/..", /invalid repository name/],
  ["octocat/hello.git", /cannot end with '\.git'/],
  ["octocat/hello world", /whitespace/],
  ["octocat/-repo", /cannot start with '-'/],
  ["https://github.com/octocat", /exactly one repository/],
  ["https://github.com/octocat/hello/tree/main", /exactly one repository/],
  ["file:///srv/git/repo.git", /local path/],
  ["/home/me/project", /local path/],
  ["./project", /not a repository URL/],
  ["ext::sh -c touch% /tmp/pwned", /whitespace|remote-helper/],
  ["https://user:ghp_SECRET@github.com/octocat/hello.git", /credentials/],
  ["ftp://github.com/octocat/hello", /unsupported scheme/],
];

for (const [input, reason] of refused) {
  t.test(`refuses ${JSON.stringify(input)}`, async (t) => {
    try {
      parseRepoRef(input);
      t.fail("accepted");
    } catch (error) {
      const e = error as { code: string; message: string; details: unknown };
      t.equal(e.code, "invalid_request");
      t.match(e.message, reason);
      t.notMatch(`${e.message} ${JSON.stringify(e.details)}`, "ghp_SECRET", "a token in the URL is never echoed");
    }
  });
}

t.test("URLs must point at the configured GitHub host", async (t) => {
  t.same(parseRepoRef("https://ghe.example.com/team/service", { host: "ghe.example.com" }), { owner: "team", name: "service", host: "ghe.example.com" });
  t.same(parseRepoRef("git@127.0.0.1:team/service.git", { host: "127.0.0.1:40123" }), { owner: "team", name: "service", host: "127.0.0.1" }, "the port of the web host is not the SSH port");
  t.same(parseRepoRef("team/service", { host: "ghe.example.com" }), { owner: "team", name: "service" }, "shorthand is on the configured host");
  t.throws(() => parseRepoRef("https://github.com/team/service", { host: "ghe.example.com" }), { code: "invalid_request", message: /set up for GitHub at ghe\.example\.com/ });
  t.throws(() => parseRepoRef("https://gitlab.com/team/service", { host: "github.com" }), { code: "invalid_request" });
});
