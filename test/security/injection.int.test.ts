// Command injection, fast: names, refs, paths and env keys are data, never code. Clone
// URLs that would run commands (`ext::`), pass options to git or ssh (`--upload-pack`,
// `-oProxyCommand`) or read the node (`file:///etc`) are refused by the API and again
// by the agent (a server that forwarded them gets a policy or schema refusal). Values
// that are hostile but valid (branches full of `$(…)`, backticks and `;`, env values)
// reach git on the node and the container only as argv entries. A canary file that a
// successful injection would create must never appear on this machine.
import t, { type Test } from "tap";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { AgentCommandSchema, ErrorBodySchema, type AgentCommandInput } from "@nexus/core";
import { tempTree } from "@nexus/test-utils";
import { harness } from "../../packages/server/test/harness.js";
import { agentHarness, createCommand, ids, type AgentHarness } from "../../packages/core/test/agent/helpers/harness.js";
import { makeRepo } from "../../packages/core/test/agent/helpers/repo.js";
import { CANARY_PREFIX, hostileBranches, hostileCloneUrls } from "./helpers/hostile.js";
import { checkResponse } from "./helpers/fuzz.js";

const run = promisify(execFile);

function assertNoCanary(t: Test, canary: string): void {
  t.notOk(existsSync(canary), `the canary ${canary} was never created`);
}

t.test("hostile clone URLs are refused by the API, in multi-user and single-machine mode", async (t) => {
  const canary = `${CANARY_PREFIX}${randomUUID()}`;
  for (const singleMachine of [false, true]) {
    const h = await harness(t, { services: { singleMachine } });
    const mallory = await h.user("mallory");
    for (const url of hostileCloneUrls(canary)) {
      for (const body of [{ repo: { owner: "octo", name: "shop", url } }, { repo: { owner: "octo", name: "shop", upstream: { owner: "octo", name: "shop", url } } }]) {
        const res = await h.request({ method: "POST", url: "/api/v1/workspaces/create-from-repo", token: mallory.apiToken, body });
        const where = body.repo.upstream ? "upstream.url" : "url";
        // Local paths are single-machine mode's business (SPEC §6): they may be accepted there, and fail at clone time.
        const local = singleMachine && (url.startsWith("/") || url.startsWith("file://"));
        if (local && res.statusCode === 202) continue;
        t.equal(res.statusCode, 400, `${singleMachine ? "single-machine" : "server"}: ${where} ${JSON.stringify(url)}`);
        t.equal(ErrorBodySchema.parse(res.json()).error, "invalid_request");
        checkResponse(t, url, { statusCode: res.statusCode, body: res.body, headers: res.headers });
        t.notMatch(res.body, "password", "credentials in a URL are not echoed");
      }
    }
    const listed = await h.request({ method: "GET", url: "/api/v1/workspaces?limit=200", token: mallory.apiToken });
    for (const w of listed.json().workspaces as { workspace_id: string }[]) {
      const detail = await h.detail(mallory, w.workspace_id);
      t.match(JSON.stringify(detail.repository), /"url":"(\/|file:\/\/)/, `only a local path was accepted, single-machine mode (${JSON.stringify(detail.repository)})`);
    }
  }
  assertNoCanary(t, canary);
});

t.test("the agent validates what the server sends: hostile commands fail the wire schema", async (t) => {
  const canary = `${CANARY_PREFIX}${randomUUID()}`;
  const base = (): AgentCommandInput => ({
    id: "cmd_hostile1",
    type: "create",
    workspace_id: "ws_hostile1",
    created_at: new Date().toISOString(),
    payload: {
      provider: "fake",
      name: "demo",
      ssh_port: 2222,
      authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOv0/q4p2jx0xj3N8OQq1qg1Rk7nZ5bq5wJ5X6n0y3Xz a@b"],
      repo: { owner: "octo", name: "shop", url: "https://github.com/octo/shop.git" },
    },
  }) as AgentCommandInput;
  const mutate = (change: (payload: Record<string, any>) => void): AgentCommandInput => {
    const command = base() as { payload: Record<string, any> };
    change(command.payload);
    return command as unknown as AgentCommandInput;
  };
  const hostile: [string, AgentCommandInput][] = [
    ...hostileCloneUrls(canary)
      .filter((url) => !url.startsWith("/") && !url.startsWith("file://") && !url.startsWith("https://169") && !url.startsWith("https://127") && !url.startsWith("http://github"))
      .map((url) => [`url ${JSON.stringify(url)}`, mutate((p) => (p.repo.url = url))] as [string, AgentCommandInput]),
    ["a branch that is an option", mutate((p) => (p.repo.branch = `--upload-pack=touch ${canary}`))],
    ["a branch with a newline", mutate((p) => (p.repo.branch = `main\ntouch ${canary}`))],
    ["a branch with '..'", mutate((p) => (p.repo.branch = "../../etc"))],
    ["a repo name with a slash", mutate((p) => (p.repo.name = "../../root"))],
    ["a repo name '..'", mutate((p) => (p.repo.name = ".."))],
    ["a repo name that is an option", mutate((p) => (p.repo.name = "-rf"))],
    ["a container name with a space", mutate((p) => (p.name = `a; touch ${canary}`))],
    ["an image with '..'", mutate((p) => (p.image = "../../etc/passwd"))],
    ["an image that is an option", mutate((p) => (p.image = "--privileged"))],
    ["an authorized key with a second line", mutate((p) => (p.authorized_keys = [`${p.authorized_keys[0]}\ncommand="touch ${canary}" ssh-ed25519 AAAA x`]))],
    ["an authorized key with options", mutate((p) => (p.authorized_keys = [`command="touch ${canary}" ${p.authorized_keys[0]}`]))],
    ["a label key with a space", mutate((p) => (p.labels = { "a b": "x" }))],
    ["an SSH bind address that is not an address", mutate((p) => (p.ssh_bind_address = `0.0.0.0;touch ${canary}`))],
  ];
  t.ok(AgentCommandSchema.safeParse(base()).success, "the untouched command is valid (so each refusal is the mutation's)");
  for (const [what, command] of hostile) t.notOk(AgentCommandSchema.safeParse(command).success, `refused: ${what}`);
  assertNoCanary(t, canary);
});

async function result(h: AgentHarness, id: string) {
  return h.server.until(() => h.server.results.find((r) => r.commandId === id), `the result of ${id}`, 30_000);
}

t.test("the agent's own URL policy refuses what the schema allows but the node does not", async (t) => {
  const canary = `${CANARY_PREFIX}${randomUUID()}`;
  const h = await agentHarness(t);
  await h.start({ allowLocalRepos: false });
  for (const url of ["file:///etc", "/etc", `/tmp/x;touch ${canary}`, "https://evil.example/octo/shop.git", "https://127.0.0.1:2375/octo/shop.git", "ssh://git@10.0.0.1:22/octo/shop.git", "http://github.com/octo/shop.git"]) {
    const { command, workspace } = ids();
    h.server.enqueue(await createCommand(h, { id: command, workspace, url }));
    const posted = await result(h, command);
    t.equal(posted.body.ok, false, `refused: ${url}`);
    if (!posted.body.ok) {
      t.equal(posted.body.error.code, "invalid_request", `${url}: ${posted.body.error.message}`);
      t.equal(posted.body.error.phase, "repo_cloned");
    }
  }
  t.same(h.cloneCalls, [], "nothing was copied into a container");
  assertNoCanary(t, canary);
});

t.test("a hostile but valid branch and hostile env values reach git and the container only as arguments and data", async (t) => {
  const canary = `${CANARY_PREFIX}${randomUUID()}`;
  const tree = tempTree({});
  t.teardown(tree.cleanup);
  const repo = await makeRepo(tree.dir, "octo", "shop", { "README.md": "# shop\n" });
  const branches = hostileBranches(canary);
  for (const branch of branches) await run("git", ["-C", repo.dir, "branch", "--", branch]);
  const h = await agentHarness(t);
  await h.start();
  const env = { HOSTILE: `$(touch ${canary})`, TICKS: `\`touch ${canary}\``, SEMI: `; touch ${canary}`, NEWLINE: `a\ntouch ${canary}` };
  for (const branch of branches) {
    const { command, workspace } = ids();
    const create = await createCommand(h, {
      id: command,
      workspace,
      url: repo.dir,
      branch,
      config: { env, services: { "web_1-x": { command: "exec sleep 1", env: { INNER: `$(touch ${canary})` } } } },
    });
    h.server.enqueue(create);
    const posted = await result(h, command);
    t.equal(posted.body.ok, true, `created from branch ${JSON.stringify(branch)}: ${posted.body.ok ? "" : posted.body.error.message}`);
    const argv = h.cloneCalls.at(-1)!;
    t.equal(argv[8], branch, "the branch is one positional argument of the constant clone script");
    t.notMatch(argv[2], canary, "the script itself never contains an input");
    const file = h.workspaceFile();
    t.same({ HOSTILE: file.env.HOSTILE, TICKS: file.env.TICKS, SEMI: file.env.SEMI, NEWLINE: file.env.NEWLINE }, env, "env values are carried verbatim as data");
    t.equal(file.services[0]?.name, "web_1-x");
  }
  assertNoCanary(t, canary);
});

t.test("SSH public keys are single plain key lines: no authorized_keys options, no second key, no forged blob", async (t) => {
  const canary = `${CANARY_PREFIX}${randomUUID()}`;
  const h = await harness(t);
  const login = "mallory";
  const account = h.github.addUser(login);
  const token = h.github.issueToken(login);
  const valid = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOv0/q4p2jx0xj3N8OQq1qg1Rk7nZ5bq5wJ5X6n0y3Xz m@laptop";
  const hostile = [
    `command="touch ${canary}" ${valid}`,
    `no-pty,permitopen="*:*" ${valid}`,
    `${valid}\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOv0/q4p2jx0xj3N8OQq1qg1Rk7nZ5bq5wJ5X6n0y3Xz second`,
    `${valid}\r\ncommand="touch ${canary}" ssh-ed25519 AAAA x`,
    `${valid} comment\u0000with-nul`,
    "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ== forged-type",
    `ssh-dss AAAAB3NzaC1kc3MAAACBAP== old`,
    `-oProxyCommand=touch ${canary}`,
  ];
  for (const key of hostile) {
    const res = await h.request({ method: "POST", url: "/api/v1/users/register-github", token, body: { github_username: login, github_id: account.id, ssh_pubkey: key } });
    t.equal(res.statusCode, 400, `refused: ${JSON.stringify(key.slice(0, 50))}`);
  }
  const plain = await h.request({ method: "POST", url: "/api/v1/users/register-github", token, body: { github_username: login, github_id: account.id, ssh_pubkey: valid } });
  t.equal(plain.statusCode, 201, "the same key, plain, is accepted (so each refusal is the hostile part's)");
  assertNoCanary(t, canary);
});
