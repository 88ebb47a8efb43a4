// The security suite on a real engine: the e2e stack (startServer on SQLite, the real
// nexus-agent process, GitHub emulator, token-protected git server) on Incus or Docker.
// Hostile-but-valid inputs run and stay data; hostile invalid ones are refused; a canary
// file is never created on the host or in a container; one user cannot reach another's
// workspace (API, SSH, network); no token or private key lands in a container, the
// database, the logs or the agent's disk.
import t, { type Test } from "tap";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  LABELS,
  createClient,
  createNexus,
  isNexusError,
  silentLogger,
  type CreateWorkspaceBody,
  type ExecResult,
  type PluginDescriptor,
  type ProviderInstance,
} from "@nexus/core";
import { lxcProvider } from "@nexus/provider-lxc";
import { dockerProvider } from "@nexus/provider-docker";
import { makeRepo } from "../../../packages/core/test/agent/helpers/repo.js";
import { isGone, sshAsDev, startStack, until, waitForStatus, type ProviderName, type Stack, type TestUser } from "../../e2e/helpers/stack.js";
import { CANARY_PREFIX, hostileBranches, hostileCloneUrls } from "./hostile.js";

const run = promisify(execFile);
const DESCRIPTORS: Record<ProviderName, PluginDescriptor> = { lxc: lxcProvider as PluginDescriptor, docker: dockerProvider as PluginDescriptor };
const SERVICE_PORT = 4100;

/** Runs commands in a workspace's container through the provider (as an operator would), not through nexus. */
interface Engine {
  exec(workspaceId: string, argv: string[], options?: { user?: string; stdin?: string }): Promise<ExecResult>;
}

async function engine(t: Test, provider: ProviderName): Promise<Engine> {
  const registry = createNexus({ providers: [DESCRIPTORS[provider]] });
  const dir = mkdtempSync(join(tmpdir(), "nexus-security-engine-"));
  t.teardown(async () => {
    await registry.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  const instance = (await registry.instance("provider", provider, { log: silentLogger, env: process.env, dataDir: dir })) as ProviderInstance;
  const op = () => ({ signal: AbortSignal.timeout(60_000), log: silentLogger });
  return {
    async exec(workspaceId, argv, options = {}) {
      const handle = (await instance.list(op())).find((h) => h.labels[LABELS.workspace] === workspaceId);
      if (!handle) throw new Error(`no container for ${workspaceId}`);
      return instance.exec(handle, argv, op(), { ...(options.user ? { user: options.user } : {}), ...(options.stdin !== undefined ? { stdin: options.stdin } : {}) });
    },
  };
}

function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (path: string) => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
    else if (stat.isFile() && readFileSync(path).includes(needle)) hits.push(path.slice(dir.length + 1));
  };
  walk(dir);
  return hits;
}

/** Whether a TCP connection from this machine to host:port opens within 5 s. */
function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 5_000 });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(false));
  });
}

/** A fresh API token and GitHub token of an existing stack user (the stack keeps its own private). */
async function rawTokens(stack: Stack, user: TestUser): Promise<{ apiToken: string; githubToken: string }> {
  const githubToken = stack.github.issueToken(user.login);
  const registered = await createClient({ server: stack.server.url, token: githubToken }).registerGithub({
    github_username: user.login,
    github_id: stack.github.user(user.login)!.id,
    ssh_pubkey: user.publicKey,
  });
  return { apiToken: registered.api_token, githubToken };
}

export function securityOnEngine(provider: ProviderName, sshPorts: [number, number]): void {
  t.test(`security on ${provider}`, async (t) => {
    const stack = await startStack(t, provider, sshPorts);
    const containers = await engine(t, provider);
    // Short: four copies must fit in one branch name (255 bytes).
    const canary = `${CANARY_PREFIX}${randomUUID().slice(0, 8)}`;
    const alice = await stack.user("alice");
    const bob = await stack.user("bob");
    const noCanaryInContainer = async (tt: Test, workspaceId: string) => {
      // Git stores a branch's ref under its name, so a hostile branch legitimately makes a ref file named like the canary: .git is skipped.
      const found = await containers.exec(workspaceId, ["sh", "-c", 'test ! -e "$1" && find / -xdev -name .git -prune -o -name "$2" -print 2>/dev/null', "probe", canary, canary.split("/").pop()!]);
      tt.equal(found.exitCode, 0, "the canary path does not exist in the container");
      tt.equal(found.stdout.trim(), "", "no file of that name anywhere on the container's root filesystem");
    };

    const env = { HOSTILE: `$(touch ${canary})`, TICKS: `\`touch ${canary}\``, SEMI: `; touch ${canary}`, NEWLINE: `a\ntouch ${canary}` };
    const branch = hostileBranches(canary).slice(0, 4).join("");
    const repoName = "shop._-1";
    let aliceShop = "";

    await t.test("hostile but valid: a branch of $(…), backticks, ; and |, env values, odd repo and service names → running, all literal", async (t) => {
      const repo = await makeRepo(stack.root, "octo", repoName, { "README.md": "# shop\n" });
      await run("git", ["-C", repo.dir, "branch", "--", branch]);
      const body: CreateWorkspaceBody = {
        provider,
        repo: { owner: "octo", name: repoName, url: repo.dir, branch, upstream: { owner: "upstream-org", name: repoName, url: repo.dir } },
        config: {
          env,
          lifecycle: { setup: `printf '%s' "$HOSTILE" > hostile.txt && printf '%s' "$TICKS" > ticks.txt && printf '%s' "$SEMI" > semi.txt && printf '%s' "$NEWLINE" > newline.txt` },
          services: {
            "web_1-x": {
              command: `exec python3 -m http.server ${SERVICE_PORT} --bind 0.0.0.0`,
              port: SERVICE_PORT,
              env: { INNER: `$(touch ${canary})` },
              health_check: { type: "tcp", interval: "500ms" },
            },
          },
        },
      };
      const accepted = await alice.client.createWorkspace(body);
      aliceShop = accepted.workspace_id;
      t.match(accepted.workspace_name, /^[a-z0-9][a-z0-9-]{0,62}$/, `the default name derived from the branch is a plain name (${accepted.workspace_name})`);
      const detail = await waitForStatus(alice, aliceShop, ["running"]);
      t.equal(detail.health, "healthy");
      t.equal(detail.repository.branch, branch, "the branch is reported as given");
      const dir = `/home/dev/${repoName}`;
      const asDev = (argv: string[]) => containers.exec(aliceShop, argv, { user: "dev" });
      t.equal((await asDev(["git", "-C", dir, "rev-parse", "--abbrev-ref", "HEAD"])).stdout.trim(), branch, "checked out under its literal name");
      t.equal((await asDev(["git", "-C", dir, "remote", "get-url", "upstream"])).stdout.trim(), repo.dir);
      for (const [file, value] of [["hostile.txt", env.HOSTILE], ["ticks.txt", env.TICKS], ["semi.txt", env.SEMI], ["newline.txt", env.NEWLINE]] as const) {
        t.equal((await asDev(["cat", `${dir}/${file}`])).stdout, value, `${file}: the env value arrived verbatim`);
      }
      const inner = await containers.exec(aliceShop, [
        "sh",
        "-c",
        `for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null | grep -q '^python3 -m http.server ${SERVICE_PORT}' && tr '\\0' '\\n' < $p/environ | grep '^INNER='; done; true`,
      ], { user: "dev" }); // the service runs as dev; reading its environ needs the same uid (no CAP_SYS_PTRACE)
      t.equal(inner.stdout.trim(), `INNER=$(touch ${canary})`, "the service's own env value too");
      await noCanaryInContainer(t, aliceShop);
      t.notOk(existsSync(canary), "and not on the host");
    });

    await t.test("hostile and invalid: URLs, names, refs and options are refused; local paths fail to clone; nothing runs", async (t) => {
      const accepted: string[] = [];
      for (const url of hostileCloneUrls(canary)) {
        const outcome = await alice.client.createWorkspace({ provider, repo: { owner: "octo", name: "shop", url } }).then(
          (w) => w.workspace_id,
          (error: unknown) => error,
        );
        if (typeof outcome === "string") {
          // Single-machine mode accepts local paths (SPEC §6); git must then find no repository there.
          t.match(url, /^(\/|file:\/\/)/, `only a local path is accepted in single-machine mode: ${url}`);
          accepted.push(outcome);
          continue;
        }
        t.ok(isNexusError(outcome) && outcome.code === "invalid_request", `refused: ${JSON.stringify(url)}`);
      }
      const invalid: [string, unknown][] = [
        ["workspace_name", { workspace_name: `a;touch ${canary}`, repo: { owner: "octo", name: "shop" } }],
        ["owner", { repo: { owner: `$(touch ${canary})`, name: "shop" } }],
        ["repo name", { repo: { owner: "octo", name: "../../../etc" } }],
        ["branch", { repo: { owner: "octo", name: "shop", branch: `--upload-pack=touch ${canary}` } }],
        ["service name", { repo: { owner: "octo", name: "shop" }, config: { services: { [`a;touch ${canary}`]: { command: "true" } } } }],
        ["env key", { repo: { owner: "octo", name: "shop" }, config: { env: { [`A=$(touch ${canary})`]: "1" } } }],
        ["provider", { provider: `docker;touch ${canary}`, repo: { owner: "octo", name: "shop" } }],
        ["image", { image: `--privileged`, repo: { owner: "octo", name: "shop" } }],
      ];
      for (const [what, body] of invalid) {
        const outcome = await alice.client.createWorkspace(body as CreateWorkspaceBody).catch((error: unknown) => error);
        t.ok(isNexusError(outcome) && ["invalid_request", "invalid_config"].includes(outcome.code), `refused: hostile ${what}`);
      }
      for (const id of accepted) {
        const detail = await waitForStatus(alice, id, ["error"]);
        t.equal(detail.error?.code, "clone_failed", `${detail.repository.url}: ${detail.error?.message}`);
        t.equal(detail.error?.phase, "repo_cloned");
        await alice.client.delete(id, { force: true });
        await until(async () => isGone(alice, id), "the failed workspace to be deleted", 120_000);
      }
      t.notOk(existsSync(canary), "the canary was never created on the host");
    });

    let bobWorkspace = "";
    await t.test("another user: 404 on the API, refused over SSH, unreachable over the network", async (t) => {
      const minimal = await makeRepo(stack.root, "octo", "minimal", { "README.md": "# minimal\n" });
      const accepted = await bob.client.createWorkspace({ provider, workspace_name: "bobs", repo: { owner: "octo", name: "minimal", url: minimal.dir } });
      bobWorkspace = accepted.workspace_id;
      await waitForStatus(bob, bobWorkspace, ["running"]);
      const aliceDetail = await alice.client.getWorkspace(aliceShop);
      for (const [what, attempt] of [
        ["get", () => bob.client.getWorkspace(aliceShop)],
        ["get by name", () => bob.client.getWorkspace(aliceDetail.workspace_name)],
        ["services", () => bob.client.getServices(aliceShop)],
        ["logs", () => bob.client.logs(aliceShop)],
        ["stop", () => bob.client.stop(aliceShop, { force: true })],
        ["start", () => bob.client.start(aliceShop)],
        ["delete", () => bob.client.delete(aliceShop, { force: true })],
        ["events", async () => {
          for await (const event of bob.client.events(aliceShop)) return event;
          return undefined;
        }],
      ] as const) {
        const outcome = await (attempt as () => Promise<unknown>)().catch((error: unknown) => error);
        t.ok(isNexusError(outcome) && outcome.code === "workspace_not_found", `bob ${what} on alice's workspace → workspace_not_found`);
      }
      t.equal((await alice.client.getWorkspace(aliceShop)).status, "running", "alice's workspace is untouched");

      const refused = await sshAsDev(bob, aliceDetail, ["echo", "in"], stack.root).then(
        () => "connected",
        (error: { stderr?: string }) => error.stderr ?? "failed",
      );
      t.match(refused, /Permission denied/, "bob's key is not authorized in alice's container");
      t.equal((await sshAsDev(alice, aliceDetail, ["echo", "in"], stack.root)).trim(), "in", "alice's is");

      const address = (await containers.exec(aliceShop, ["hostname", "-I"])).stdout.trim().split(/\s+/).find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
      t.ok(address, `alice's container has an IPv4 address (${address})`);
      t.ok(await reachable(address!, SERVICE_PORT), "the node reaches alice's service (it listens on every address)");
      const probe = ["bash", "-c", `timeout 5 bash -c 'exec 3<>/dev/tcp/${address}/${SERVICE_PORT}' && echo open || echo closed`];
      t.equal((await containers.exec(aliceShop, probe)).stdout.trim(), "open", "alice's own container reaches it");
      t.equal((await containers.exec(bobWorkspace, probe)).stdout.trim(), "closed", "bob's container cannot reach alice's container");
    });

    await t.test("no token or private key in the container, the database, the logs or the agent's disk", async (t) => {
      const served = await makeRepo(stack.root, "octo", "private", { "README.md": "# private\n" });
      t.ok(served.bare.endsWith("private.git"));
      const tokens = await rawTokens(stack, alice);
      const cloned = await createClient({ server: stack.server.url, token: tokens.apiToken }).createWorkspace({
        provider,
        workspace_name: "private",
        repo: { owner: "octo", name: "private", url: `${stack.git.url}/octo/private.git` },
        clone_token: stack.gitToken,
      });
      await waitForStatus(alice, cloned.workspace_id, ["running"]);
      const identity = JSON.parse(readFileSync(join(stack.agentDir, "agent.json"), "utf8")) as { node_token: string };
      const environ = readFileSync(`/proc/${stack.agent.child.pid}/environ`, "utf8").split("\0");
      const joinToken = environ.find((line) => line.startsWith("NEXUS_JOIN_TOKEN="))?.slice("NEXUS_JOIN_TOKEN=".length) ?? "";
      t.match(joinToken, /^nxj_/, "the join token the agent started with");
      // The first base64 line of every unencrypted OpenSSH ed25519 key is the same header: search the key material.
      const [, , privateKeyA, privateKeyB] = readFileSync(alice.keyFile, "utf8").split("\n") as [string, string, string, string];
      const secrets: Record<string, string> = {
        "the clone token": stack.gitToken,
        "alice's API token": tokens.apiToken,
        "alice's GitHub token": tokens.githubToken,
        "the node token": identity.node_token,
        "the join token": joinToken,
        "the admin token": stack.server.adminToken,
        "alice's private key (material)": privateKeyA,
        "alice's private key (more material)": privateKeyB,
      };
      for (const workspaceId of [cloned.workspace_id, aliceShop, bobWorkspace]) {
        // Patterns on stdin, not in argv, so the search cannot find itself in /proc.
        const grep = await containers.exec(
          workspaceId,
          ["grep", "-rIlF", "--exclude-dir=proc", "--exclude-dir=sys", "--exclude-dir=dev", "-f", "-", "/home", "/etc", "/var", "/tmp", "/opt", "/root", "/run"],
          { stdin: `${Object.values(secrets).join("\n")}\n` },
        );
        t.equal(grep.stdout.trim(), "", `${workspaceId}: no secret in the container's files`);
        t.equal(grep.exitCode, 1, `${workspaceId}: grep found nothing (${grep.stderr.trim().slice(0, 200)})`);
        const keys = await containers.exec(workspaceId, ["sh", "-c", "grep -rlI 'PRIVATE KEY' /home /root /tmp /opt 2>/dev/null; true"]);
        t.equal(keys.stdout.trim(), "", `${workspaceId}: no private key outside /etc/ssh (the container's own host keys)`);
      }
      for (const [what, secret] of Object.entries(secrets)) {
        t.same(filesContaining(stack.serverDir, secret).filter((f) => !(secret === stack.server.adminToken && f === "admin-token")), [], `${what}: not in the server's data (nexus.db, -wal)`);
        t.same(filesContaining(stack.agentDir, secret).filter((f) => !(secret === identity.node_token && f === "agent.json")), [], `${what}: not on the agent's disk`);
        t.notMatch(readFileSync(stack.serverLogFile, "utf8"), secret, `${what}: not in the server's log`);
        t.notMatch(readFileSync(stack.agentLogFile, "utf8"), secret, `${what}: not in the agent's log`);
      }
      for (const [where, text] of [["server log", readFileSync(stack.serverLogFile, "utf8")], ["agent log", readFileSync(stack.agentLogFile, "utf8")]] as const) {
        t.notMatch(text, /PRIVATE KEY|openssh-key-v1/, `no private key (a container's host key included) in the ${where}`);
      }
      t.same(filesContaining(stack.agentDir, "PRIVATE KEY"), [], "no private key on the agent's disk");
      const hostKeys = await Promise.all([cloned.workspace_id, aliceShop, bobWorkspace].map(async (id) => (await alice.client.getWorkspace(id).catch(() => bob.client.getWorkspace(id))).ssh.host_key));
      t.equal(new Set(hostKeys).size, 3, "every workspace has its own SSH host key");
      await noCanaryInContainer(t, bobWorkspace);
      t.notOk(existsSync(canary), "no canary on the host at the end");
    });
  });
}
