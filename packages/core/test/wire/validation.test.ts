import t from "tap";
import {
  branchNameProblem,
  isValidBranchName,
  isValidGithubOwner,
  isValidHostname,
  isValidName,
  isValidRepoName,
  isValidSshPublicKey,
  repoNameProblem,
  sshPublicKeyFingerprint,
  sshPublicKeyProblem,
} from "@nexus/core";
import { ed25519PublicKey, sshString } from "./keys.js";

t.test("workspace and node names", async (t) => {
  for (const good of ["a", "app", "my-app-2", "0", "a".repeat(63), "x-"]) t.ok(isValidName(good), `${good} is valid`);
  const bad = ["", "-app", "App", "my_app", "a".repeat(64), "../etc", "a b", "a;rm", "ws_abc", "ünï", "a\n", "a.b", "$(id)"];
  for (const name of bad) t.notOk(isValidName(name), `${JSON.stringify(name)} is rejected`);
});

t.test("GitHub owners: 1-39 alphanumerics and single inner hyphens", async (t) => {
  for (const good of ["octocat", "my-org", "a", "A1-b2-c3", "x".repeat(39)]) t.ok(isValidGithubOwner(good), `${good} is valid`);
  const bad = ["", "-lead", "trail-", "dou--ble", "x".repeat(40), "under_score", "dot.ted", "spa ce", "..", "ö", "a/b", "--upload-pack=x"];
  for (const owner of bad) t.notOk(isValidGithubOwner(owner), `${JSON.stringify(owner)} is rejected`);
});

t.test("GitHub repository names", async (t) => {
  for (const good of ["repo", "my.repo", "my_repo-2", ".github", "a", "x".repeat(100), "repo.gi"]) t.ok(isValidRepoName(good), `${good} is valid`);
  const cases: [string, RegExp][] = [
    ["", /empty/],
    [".", /cannot be '.'/],
    ["..", /cannot be '..'/],
    ["repo.git", /\.git/],
    ["repo.GIT", /\.git/],
    ["x".repeat(101), /longer than 100/],
    ["-rf", /cannot start with '-'/],
    ["a/b", /may only contain/],
    ["../x", /may only contain/],
    ["répo", /may only contain/],
    ["a b", /may only contain/],
    ["a;b", /may only contain/],
    ["a`id`", /may only contain/],
  ];
  for (const [name, reason] of cases) t.match(repoNameProblem(name), reason, `${JSON.stringify(name)}: ${reason}`);
});

t.test("branch names follow git check-ref-format --branch, rule by rule", async (t) => {
  for (const good of ["main", "feature/login", "release-1.2", "fix_bug", "fëature", "a/b/c", "user@host", "v1.0.0-rc.1", "x@"]) {
    t.ok(isValidBranchName(good), `${good} is valid`);
  }
  const cases: [string, RegExp][] = [
    ["", /empty/],
    ["a..b", /'\.\.'/],
    ["..", /'\.\.'/],
    ["a\x01b", /control character \(0x01\)/],
    ["a\x7fb", /control character \(0x7f\)/],
    ["a\nb", /control character \(0x0a\)/],
    ["a b", /a space/],
    ["a~1", /'~'/],
    ["a^b", /'\^'/],
    ["a:b", /':'/],
    ["a?b", /'\?'/],
    ["a*b", /'\*'/],
    ["a[b", /'\['/],
    ["a\\b", /'\\'/],
    ["-b", /start with '-'/],
    ["--upload-pack=touch", /start with '-'/],
    ["/a", /start with '\/'/],
    ["a/", /end with '\/'/],
    ["a//b", /'\/\/'/],
    ["a.", /end with '\.'/],
    ["a.lock", /ending with '\.lock'/],
    ["a.lock/b", /ending with '\.lock'/],
    ["a@{b", /'@\{'/],
    ["@{-1}", /'@\{'/],
    ["@", /cannot be '@'/],
    ["HEAD", /cannot be 'HEAD'/],
    [".hidden", /starting with '\.'/],
    ["a/.b", /starting with '\.'/],
    ["x".repeat(256), /longer than 255 bytes/],
    ["é".repeat(128), /longer than 255 bytes/],
  ];
  for (const [name, reason] of cases) t.match(branchNameProblem(name), reason, `${JSON.stringify(name)}: ${reason}`);
});

t.test("host names", async (t) => {
  for (const good of ["github.com", "localhost", "10.0.0.5", "node-1.example.internal", "ghe.example.com."]) t.ok(isValidHostname(good), good);
  for (const bad of ["", "-oProxyCommand=x", "a b", "host\nHost evil", "a..b", "1.2.3", "::1", "[::1]", "ex_ample.com", "a".repeat(64) + ".com"]) {
    t.notOk(isValidHostname(bad), `${JSON.stringify(bad)} is rejected`);
  }
});

t.test("SSH public keys: exactly one key line, type matching its blob", async (t) => {
  const key = ed25519PublicKey();
  t.ok(isValidSshPublicKey(key));
  t.ok(isValidSshPublicKey(ed25519PublicKey("")), "comment is optional");
  const [type, blob] = key.split(" ") as [string, string];
  const cases: [string, RegExp][] = [
    [`${key}\nssh-ed25519 ${blob} attacker`, /single-line/],
    [`command="sh" ${key}`, /single-line|unsupported key type/],
    [`ssh-dss ${blob}`, /unsupported key type/],
    [`ssh-rsa ${blob}`, /does not match its type/],
    [`${type} AAAA`, /truncated|does not match/],
    [`${type}`, /single-line/],
    [`${type} ${blob} comment\twith tab`, /single-line/],
    ["", /single-line/],
    // An ed25519 blob must hold exactly the 32-byte key (ssh2 sometimes drops a leading zero byte).
    [`${type} ${ed25519Blob(31)}`, /not 32 bytes/],
    [`${type} ${ed25519Blob(33)}`, /not 32 bytes/],
    [`${type} ${Buffer.concat([Buffer.from(blob, "base64"), Buffer.from([0])]).toString("base64")}`, /not 32 bytes/],
  ];
  for (const [value, reason] of cases) t.match(sshPublicKeyProblem(value), reason, JSON.stringify(value.slice(0, 40)));
  t.match(sshPublicKeyFingerprint(key), /^SHA256:[A-Za-z0-9+/]{43}$/);
  t.ok(isValidSshPublicKey(`${type} ${ed25519Blob(32)}`), "a 32-byte key with a leading zero byte is fine");
});

/** An ssh-ed25519 blob whose key is `length` bytes, the first of them zero. */
function ed25519Blob(length: number): string {
  const key = Buffer.alloc(length, 7);
  key[0] = 0;
  return Buffer.concat([sshString(Buffer.from("ssh-ed25519")), sshString(key)]).toString("base64");
}
