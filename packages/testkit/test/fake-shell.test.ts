import t from "tap";
import { silentLogger, type Op } from "@nexus/core";
import { createFakeProvider, generateTestKeyPair, testWorkspaceSpec } from "../src/index.js";

const op: Op = { signal: new AbortController().signal, log: silentLogger };
const { descriptor } = createFakeProvider();
const instance = await descriptor.create({ log: silentLogger, env: {}, dataDir: "/nonexistent" }, undefined);
const handle = await instance.provision(testWorkspaceSpec({ suffix: "shell", testRun: "shell", sshPort: 2222, authorizedKeys: [generateTestKeyPair().publicKey] }), op);
const sh = (script: string, options: Parameters<typeof instance.exec>[3] = {}, ...args: string[]) => instance.exec(handle, ["sh", "-c", script, ...args], op, options);

t.teardown(() => instance.destroy(handle, op));

t.test("sequences, && and || short-circuit, exit codes", async (t) => {
  t.same(await sh("echo a; false || echo b; false && echo never; true && echo c"), { exitCode: 0, stdout: "a\nb\nc\n", stderr: "" });
  t.equal((await sh("false")).exitCode, 1);
  t.equal((await sh("exit 300")).exitCode, 44, "exit codes wrap at 256");
  t.equal((await sh("false; echo $?")).stdout, "1\n");
  t.same(await sh("echo out\necho err >&2\nexit 3"), { exitCode: 3, stdout: "out\n", stderr: "err\n" });
});

t.test("set -e stops at the first failing command that is not part of a condition", async (t) => {
  t.same(await sh("set -e; false && true; echo reached; false; echo never"), { exitCode: 1, stdout: "reached\n", stderr: "" });
});

t.test("quoting and expansion", async (t) => {
  t.equal((await sh(`echo 'single $HOME' "double $USER" \\$literal`, { user: "dev" })).stdout, "single $HOME double dev $literal\n");
  t.equal((await sh('printf "%s|%s\\n" "$1" "$2"', {}, "argv0", "one two", "three")).stdout, "one two|three\n");
  t.equal((await sh("echo $# ${0}", {}, "name", "a", "b")).stdout, "2 name\n");
  t.equal((await sh("X=1; Y=$X$X; echo $Y $UNSET end")).stdout, "11 end\n", "unset unquoted variables vanish");
  t.equal((await sh('echo "$UNSET"|wc', {})).exitCode, 2, "pipes are reported as unsupported");
  t.equal((await sh("FOO=bar env")).stdout.includes("FOO=bar\n"), true, "prefix assignments reach the command");
  t.equal((await sh("echo $FOO")).stdout, "\n", "…and do not persist between execs");
});

t.test("redirections, files and directories", async (t) => {
  t.same(await sh("mkdir -p /tmp/a/b && echo one > /tmp/a/b/f && echo two >> /tmp/a/b/f && cat /tmp/a/b/f"), { exitCode: 0, stdout: "one\ntwo\n", stderr: "" });
  t.equal((await sh("cat < /tmp/a/b/f")).stdout, "one\ntwo\n");
  t.same(await sh("cat /missing 2>&1"), { exitCode: 1, stdout: "cat: /missing: No such file or directory\n", stderr: "" });
  t.same(await sh("cat /missing 2>/dev/null"), { exitCode: 1, stdout: "", stderr: "" });
  t.equal((await sh("test -f /tmp/a/b/f && test -d /tmp/a && [ -e /tmp/a ] && ! test -f /tmp/a; echo $?")).stdout, "0\n");
  t.equal((await sh("cd /tmp/a && ls && pwd")).stdout, "b\n/tmp/a\n");
  t.equal((await sh("chmod 0700 /tmp/a/b/f && stat -c %a /tmp/a/b/f")).stdout, "700\n");
  t.equal((await sh("rm -r /tmp/a && test -e /tmp/a || echo gone")).stdout, "gone\n");
  t.equal((await sh("echo x > /no/dir/file")).exitCode, 1);
});

t.test("the script can come from stdin, and nested sh works", async (t) => {
  t.equal((await instance.exec(handle, ["sh"], op, { stdin: "echo from-stdin; sh -c 'echo nested'" })).stdout, "from-stdin\nnested\n");
  t.equal((await instance.exec(handle, ["/bin/sh", "-c", "whoami"], op, { user: "dev" })).stdout, "dev\n", "absolute command paths resolve");
  t.equal((await instance.exec(handle, ["env", "A=1", "printenv", "A"], op)).stdout, "1\n");
});

t.test("unsupported syntax fails loudly instead of being misread", async (t) => {
  for (const script of ["echo $(id)", "echo `id`", "(echo sub)", "ls *", "sleep 1 &", "cat <<EOF", "echo ${X:-d}", "echo 'open"]) {
    const result = await sh(script);
    t.equal(result.exitCode, 2, script);
    t.match(result.stderr, /unsupported in the fake shell/, script);
  }
});
