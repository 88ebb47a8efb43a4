// nexus completion bash|zsh|fish: scripts generated from the commander tree, checked by
// the shells themselves.
import t from "tap";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Capture, tempTree } from "@nexus/test-utils";
import { buildProgram, type CliIO } from "@nexus/cli";
import { completionScript, completionTree } from "../src/commands/completion.js";
import { runCli } from "./helpers.js";

function has(shell: string): boolean {
  return spawnSync(shell, ["-c", "true"], { stdio: "ignore" }).status === 0;
}

async function script(shell: string): Promise<{ file: string; text: string }> {
  const r = await runCli(["completion", shell]);
  if (r.code !== 0) throw new Error(r.stderr);
  const tree = tempTree({ [`nexus.${shell}`]: r.stdout });
  t.teardown(tree.cleanup);
  return { file: join(tree.dir, `nexus.${shell}`), text: r.stdout };
}

/** What the bash function offers for the words typed (the last one being completed). */
function bashComplete(file: string, words: string[]): string[] {
  const program = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _nexus; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync("bash", ["-c", program, "bash", file, ...words], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.split("\n").filter(Boolean);
}

t.test("bash: valid syntax, and it completes from the command tree", async (t) => {
  const { file } = await script("bash");
  const syntax = spawnSync("bash", ["-n", file], { encoding: "utf8" });
  t.equal(syntax.status, 0, syntax.stderr);
  t.same(bashComplete(file, ["nexus", "workspace", "st"]), ["start", "status", "stop"]);
  t.same(bashComplete(file, ["nexus", "--json", "--server", "http://x", "workspace", "rm", "--f"]), ["--force"], "global options and their values are skipped; aliases resolve");
  t.same(bashComplete(file, ["nexus", "workspace", "list", "--status", "st"]), ["stopping", "stopped", "starting"], "option choices");
  t.same(bashComplete(file, ["nexus", "completion", ""]), ["bash", "zsh", "fish"], "argument choices");
  t.same(bashComplete(file, ["nexus", "workspace", "exec", "api", "--", "st"]), [], "nothing after --");
  const top = bashComplete(file, ["nexus", ""]);
  t.ok(["workspace", "config", "completion"].every((c) => top.includes(c)), `top level: ${top.join(" ")}`);
  t.notOk(bashComplete(file, ["nexus", "workspace", "create", "--"]).includes("--version"), "--version only at the top");
});

t.test("the scripts follow the program: a new command appears without touching the generator", async (t) => {
  const io: CliIO = { cwd: process.cwd(), env: {}, stdout: new Capture(), stderr: new Capture() };
  const program = buildProgram(io);
  program.command("zz-added").description("added by the test").option("--flavour <name>", "a flavour");
  const nodes = completionTree(program);
  t.ok(nodes.some((n) => n.path === "nexus zz-added" && n.options.some((o) => o.flags.includes("--flavour"))));
  const tree = tempTree({});
  t.teardown(tree.cleanup);
  const file = join(tree.dir, "nexus.bash");
  writeFileSync(file, completionScript(program, "bash"));
  t.same(bashComplete(file, ["nexus", "zz"]), ["zz-added"]);
  t.same(bashComplete(file, ["nexus", "zz-added", "--fl"]), ["--flavour"]);
});

t.test("zsh: valid syntax; the completer offers subcommands with descriptions and option choices", { skip: !has("zsh") && "zsh is not installed" }, async (t) => {
  const { file } = await script("zsh");
  const syntax = spawnSync("zsh", ["-n", file], { encoding: "utf8" });
  t.equal(syntax.status, 0, syntax.stderr);
  // zsh's completion widgets need a terminal; stand-ins print what they were given.
  const probe = (words: string[]) =>
    spawnSync(
      "zsh",
      ["-c", `compdef() {}; source "$1"; shift; _describe() { print -l -- "\${(@P)4}" }; compadd() { print -l -- "\${(@P)2}" }; _default() { print DEFAULT }; words=("$@"); CURRENT=$#; _nexus`, "zsh", file, ...words],
      { encoding: "utf8" },
    ).stdout.split("\n").filter(Boolean);
  const commands = probe(["nexus", "workspace", "st"]);
  t.ok(commands.some((line) => /^status:.*phases/.test(line)), commands.join("\n"));
  t.ok(commands.includes("rm:delete a workspace and everything in it (a running one is stopped first)"));
  t.same(probe(["nexus", "completion", ""]), ["bash", "zsh", "fish"]);
  t.ok(probe(["nexus", "workspace", "list", "--status", ""]).includes("running"));
});

t.test("fish: valid syntax and completions", { skip: !has("fish") && "fish is not installed" }, async (t) => {
  const { file } = await script("fish");
  const syntax = spawnSync("fish", ["-n", file], { encoding: "utf8" });
  t.equal(syntax.status, 0, syntax.stderr);
  const complete = (line: string) =>
    spawnSync("fish", ["-c", `source $argv[1]; complete -C $argv[2]`, file, line], { encoding: "utf8" })
      .stdout.split("\n")
      .filter(Boolean)
      .map((l) => l.split("\t")[0]);
  t.same(complete("nexus workspace st"), ["start", "status", "stop"]);
  t.same(complete("nexus --server x workspace rm --f"), ["--force"]);
});

t.test("an unknown shell is a usage error", async (t) => {
  const r = await runCli(["completion", "powershell"]);
  t.equal(r.code, 2);
  t.match(r.stderr, /Allowed choices are bash, zsh, fish/);
});
