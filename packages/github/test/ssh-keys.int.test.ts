// Key discovery order, in-process generation (modes, OpenSSH format ssh-keygen accepts),
// and upload where a duplicate is success.
import t, { type Test } from "tap";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ssh2 from "ssh2";
import { tempTree } from "@nexus/test-utils";
import { Secret } from "@nexus/core";
import { createGithubClient, findOrCreateSshKey, generateEd25519Pair, uploadSshKey } from "@nexus/github";
import { rejection, world } from "./helpers.js";

function keyPair(type: "ed25519" | "ecdsa" | "rsa", comment: string): { private: string; public: string } {
  const pair = type === "rsa" ? ssh2.utils.generateKeyPairSync("rsa", { bits: 2048, comment }) : type === "ecdsa" ? ssh2.utils.generateKeyPairSync("ecdsa", { bits: 256, comment }) : generateEd25519Pair(comment);
  return { private: pair.private, public: pair.public };
}

function home(t: Test, files: Record<string, { private: string; public?: string }> = {}): string {
  const tree = tempTree();
  t.teardown(tree.cleanup);
  if (Object.keys(files).length) mkdirSync(join(tree.dir, ".ssh"), { mode: 0o700 });
  for (const [name, pair] of Object.entries(files)) {
    writeFileSync(join(tree.dir, ".ssh", name), pair.private, { mode: 0o600 });
    if (pair.public) writeFileSync(join(tree.dir, ".ssh", `${name}.pub`), `${pair.public}\n`);
  }
  return tree.dir;
}

const mode = (path: string) => statSync(path).mode & 0o777;

t.test("no key: an ed25519 key is generated in OpenSSH format with safe modes", async (t) => {
  const dir = home(t);
  const key = await findOrCreateSshKey({ home: dir, comment: "dev@laptop" });
  t.equal(key.generated, true);
  t.equal(key.privateKeyPath, join(dir, ".ssh", "id_ed25519"));
  t.equal(key.publicKeyPath, join(dir, ".ssh", "id_ed25519.pub"));
  t.equal(key.type, "ssh-ed25519");
  t.match(key.publicKey, /^ssh-ed25519 [A-Za-z0-9+/]+=* dev@laptop$/);
  t.equal(mode(join(dir, ".ssh")), 0o700, "~/.ssh is 0700");
  t.equal(mode(key.privateKeyPath), 0o600, "private key is 0600");
  t.equal(mode(key.publicKeyPath), 0o644, "public key is 0644");
  t.match(readFileSync(key.privateKeyPath, "utf8"), /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);

  // OpenSSH itself reads both halves, and agrees on the fingerprint.
  const listed = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", key.publicKeyPath], { encoding: "utf8" });
  t.equal(listed.split(" ")[1], key.fingerprint, "fingerprint matches ssh-keygen -lf");
  t.match(key.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  const derived = execFileSync("ssh-keygen", ["-y", "-f", key.privateKeyPath], { encoding: "utf8" }).trim();
  t.equal(derived.split(" ").slice(0, 2).join(" "), key.publicKey.split(" ").slice(0, 2).join(" "), "the private key parses and matches the public key");

  const again = await findOrCreateSshKey({ home: dir });
  t.equal(again.generated, false, "the second call finds the key");
  t.equal(again.fingerprint, key.fingerprint);
});

t.test("discovery order: id_ed25519, then id_rsa, then id_ecdsa", async (t) => {
  const ed = keyPair("ed25519", "ed");
  const rsa = keyPair("rsa", "rsa");
  const ecdsa = keyPair("ecdsa", "ecdsa");
  t.equal((await findOrCreateSshKey({ home: home(t, { id_ecdsa: ecdsa, id_rsa: rsa, id_ed25519: ed }) })).publicKey, ed.public);
  t.equal((await findOrCreateSshKey({ home: home(t, { id_ecdsa: ecdsa, id_rsa: rsa }) })).publicKey, rsa.public);
  const onlyEcdsa = await findOrCreateSshKey({ home: home(t, { id_ecdsa: ecdsa }) });
  t.equal(onlyEcdsa.publicKey, ecdsa.public);
  t.equal(onlyEcdsa.type, "ecdsa-sha2-nistp256");
  t.equal(onlyEcdsa.generated, false);
});

t.test("a private key without .pub: the public key is derived; an encrypted one is skipped", async (t) => {
  const rsa = keyPair("rsa", "rsa-comment");
  const derived = await findOrCreateSshKey({ home: home(t, { id_rsa: { private: rsa.private } }) });
  t.equal(derived.publicKey.split(" ").slice(0, 2).join(" "), rsa.public.split(" ").slice(0, 2).join(" "));
  t.equal(derived.generated, false);

  const encrypted = ssh2.utils.generateKeyPairSync("ed25519", { passphrase: "secret", cipher: "aes256-ctr", rounds: 1 });
  const rsa2 = keyPair("rsa", "fallback");
  const dir = home(t, { id_ed25519: { private: encrypted.private }, id_rsa: rsa2 });
  t.equal((await findOrCreateSshKey({ home: dir })).publicKey, rsa2.public, "the encrypted key without .pub is passed over");
});

t.test("--key PATH: used when present, generated there when not, refused when unreadable", async (t) => {
  const dir = home(t);
  const custom = join(dir, "keys", "work");
  const generated = await findOrCreateSshKey({ home: dir, keyPath: custom });
  t.equal(generated.generated, true);
  t.equal(generated.privateKeyPath, custom);
  t.equal(mode(join(dir, "keys")), 0o700);
  const found = await findOrCreateSshKey({ home: dir, keyPath: `${custom}.pub` });
  t.equal(found.generated, false, "the .pub path names the same key");
  t.equal(found.fingerprint, generated.fingerprint);

  const junk = join(dir, "junk");
  writeFileSync(junk, "not a key");
  chmodSync(junk, 0o600);
  t.equal((await rejection(t, findOrCreateSshKey({ home: dir, keyPath: junk }))).code, "invalid_request");
  t.equal((await rejection(t, findOrCreateSshKey({ home: dir, keyPath: "relative/key" }))).code, "invalid_request");
});

t.test("upload: created, then a duplicate is success (found in GET /user/keys)", async (t) => {
  const { client, gh } = await world(t);
  const key = keyPair("ed25519", "me@laptop").public;
  const first = await uploadSshKey(client, key, "nexus (laptop)");
  t.equal(first.status, "created");
  t.same(gh.keysOf("octocat").map((k) => [k.title, k.key]), [["nexus (laptop)", key.split(" ").slice(0, 2).join(" ")]], "uploaded without the comment");
  const second = await uploadSshKey(client, key, "nexus (laptop)");
  t.same(second, { status: "exists", id: first.id });
  t.equal(gh.exchanges.filter((e) => e.method === "POST").length, 1, "no second POST");
});

t.test("upload: 422 'key is already in use' is success", async (t) => {
  const { client, gh } = await world(t);
  const key = keyPair("ed25519", "x").public;
  // Another account holds it: GitHub answers 422 and the key is not in our list.
  gh.addUser("hubot");
  gh.addKey("hubot", key);
  const elsewhere = await uploadSshKey(client, key, "nexus");
  t.equal(elsewhere.status, "in_use_elsewhere");
  t.ok(gh.exchanges.some((e) => e.method === "POST" && e.status === 422), "GitHub answered 422");

  // A race: the key lands on our account between the list and the POST.
  const raced = keyPair("ed25519", "y").public;
  const racingClient = createGithubClient({ apiUrl: gh.apiUrl, token: new Secret(gh.issueToken("octocat")), backoffUnitMs: 1, writeSpacingMs: 0 });
  const originalList = racingClient.listSshKeys;
  let lists = 0;
  Object.assign(racingClient, {
    listSshKeys: async (...args: Parameters<typeof originalList>) => {
      lists++;
      if (lists === 1) {
        const result = await originalList(...args);
        gh.addKey("octocat", raced, "added meanwhile");
        return result;
      }
      return originalList(...args);
    },
  });
  const result = await uploadSshKey(racingClient, raced, "nexus");
  t.equal(result.status, "exists");
  t.equal(lists, 2, "the list was read again after the 422");
});

t.test("upload without the key scope is forbidden with a hint", async (t) => {
  const { gh } = await world(t);
  const weak = createGithubClient({ apiUrl: gh.apiUrl, token: new Secret(gh.issueToken("octocat", { scopes: ["read:user"] })), backoffUnitMs: 1 });
  const error = await rejection(t, uploadSshKey(weak, keyPair("ed25519", "z").public, "nexus"));
  t.equal(error.code, "forbidden");
  t.match(error.hint, /admin:public_key/);
});

t.test("upload refuses a malformed public key before calling GitHub", async (t) => {
  const { client, gh } = await world(t);
  t.equal((await rejection(t, uploadSshKey(client, "ssh-ed25519 AAAA\nssh-rsa BBBB", "x"))).code, "invalid_request");
  t.equal(gh.exchanges.length, 0);
});

t.test("generateEd25519Pair: every pair parses, with a 32-byte public key (ssh2 alone gets ~1 in 256 wrong)", async (t) => {
  for (let i = 0; i < 600; i++) {
    const pair = generateEd25519Pair(i % 2 ? "me@host" : undefined);
    const pub = ssh2.utils.parseKey(pair.public);
    if (pub instanceof Error || pub.getPublicSSH().length !== 51 || ssh2.utils.parseKey(pair.private) instanceof Error) {
      t.fail(`pair ${i} is malformed: ${pair.public}`);
      return;
    }
  }
  t.pass("600 well-formed pairs");
});
