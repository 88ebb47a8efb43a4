import t from "tap";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { isNexusError } from "@nexus/core";
import { SETUP_SCRIPT, checkAuthorizedKeys, parseHostKey, setupCommand } from "../src/setup-script.js";
import { certificatesMissingFrom, splitCertificates } from "../src/ca-bundle.js";

const run = promisify(execFile);

t.test("the setup script is valid POSIX sh (and clean under shellcheck when installed)", async (t) => {
  await run("sh", ["-n", "-c", SETUP_SCRIPT]);
  t.pass("sh -n accepts it");
  const dir = mkdtempSync(join(tmpdir(), "nexus-setup-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "setup.sh");
  writeFileSync(file, SETUP_SCRIPT);
  const shellcheck = await run("shellcheck", ["--version"]).then(() => true, () => false);
  if (!shellcheck) {
    t.comment("shellcheck not installed; syntax checked with sh -n only");
    return;
  }
  const result = await run("shellcheck", ["-s", "sh", file]).then(() => "", (e: { stdout: string }) => e.stdout);
  t.equal(result, "", "no shellcheck findings");
});

t.test("setupCommand passes inputs as positional arguments after a constant script", async (t) => {
  const argv = setupCommand("provision", "/ca.crt", ["ssh-ed25519 AAAA a", "ssh-rsa BBBB b"]);
  t.same(argv, ["/bin/sh", "-c", SETUP_SCRIPT, "nexus-setup", "provision", "/ca.crt", "ssh-ed25519 AAAA a", "ssh-rsa BBBB b"]);
  t.same(setupCommand("sshd", undefined, []).slice(3), ["nexus-setup", "sshd", ""]);
});

t.test("authorized keys must be single public key lines", async (t) => {
  t.same(checkAuthorizedKeys(["  ssh-ed25519 AAAAC3Nz user@host  "]), ["ssh-ed25519 AAAAC3Nz user@host"]);
  t.same(checkAuthorizedKeys(["ecdsa-sha2-nistp256 AAAAE2Vj"]), ["ecdsa-sha2-nistp256 AAAAE2Vj"]);
  for (const bad of ["ssh-ed25519 AAAA\nssh-ed25519 BBBB", 'command="sh" ssh-ed25519 AAAA', "", "not a key", "ssh-ed25519 AAAA\0x"]) {
    let code: string | undefined;
    try {
      checkAuthorizedKeys([bad]);
    } catch (error) {
      code = isNexusError(error) ? error.code : "not a NexusError";
    }
    t.equal(code, "invalid_request", JSON.stringify(bad));
  }
});

t.test("parseHostKey keeps type and key, drops the comment", async (t) => {
  t.equal(parseHostKey("noise\nssh-ed25519 AAAAC3Nz root@box\n"), "ssh-ed25519 AAAAC3Nz");
  t.equal(parseHostKey("ssh-ed25519 AAAAC3Nz\n"), "ssh-ed25519 AAAAC3Nz");
  t.equal(parseHostKey("ssh-rsa AAAAB3\n"), undefined);
});

t.test("CA bundles: split, deduplicated by content, whitespace-insensitive", async (t) => {
  const a = "-----BEGIN CERTIFICATE-----\nAAAA\nAAAA\n-----END CERTIFICATE-----";
  const aReflowed = "-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----";
  const b = "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----";
  t.equal(splitCertificates(`# comment\n${a}\n${a}\n${b}\n`).size, 2);
  t.equal(certificatesMissingFrom(`${a}\n${b}`, aReflowed), `${b}\n`);
  t.equal(certificatesMissingFrom(a, `${a}\n${b}`), "");
  t.equal(certificatesMissingFrom("no certificates here", ""), "");
});
