// `nexus ssh setup`: the user's SSH key (found or generated), on their GitHub account,
// and registered with the nexus server so workspaces accept it. Safe to run again.
import { homedir, hostname } from "node:os";
import { resolve } from "node:path";
import type { Command } from "commander";
import { createClient } from "@nexus/core";
import type { SshKeyUploadStatus } from "@nexus/github";
import { nexusHome, readCredentials, readUserConfig, writeCredentials } from "../home.js";
import type { CliIO, CommandContext } from "../io.js";
import { action } from "../program.js";
import { githubSession } from "./auth.js";

export interface SshSetupResult {
  key: { path: string; public_key_path: string; type: string; fingerprint: string; generated: boolean };
  github: { login: string; upload: SshKeyUploadStatus; key_id?: number };
  server: { url: string; user_id: string; github_username: string } | null;
}

const UPLOAD_MESSAGES: Record<SshKeyUploadStatus, string> = {
  created: "added to",
  exists: "already on",
  in_use_elsewhere: "not added to",
};

export async function sshSetup(ctx: CommandContext, options: { key?: string } = {}): Promise<SshSetupResult> {
  const { findOrCreateSshKey, uploadSshKey } = await import("@nexus/github");
  const home = nexusHome(ctx.io.env);
  const userHome = ctx.io.env.HOME || homedir();
  // A quoted `~/…` reaches us unexpanded.
  const keyPath = options.key === undefined ? undefined : resolve(ctx.io.cwd, options.key.replace(/^~(?=\/|$)/, userHome));
  const key = await findOrCreateSshKey({ home: userHome, keyPath });
  ctx.say(`${ctx.colors.green("✓")} SSH key ${key.publicKeyPath} ${ctx.colors.dim(`(${key.fingerprint})`)}${key.generated ? " — generated" : ""}`);

  const session = await githubSession(ctx);
  const upload = await uploadSshKey(session.client, key.publicKey, `nexus (${hostname()})`);
  const login = session.user.login;
  if (upload.status === "in_use_elsewhere") {
    ctx.warn(
      `${ctx.colors.yellow("warning")} GitHub already has this key on another account or as a deploy key, so it was not added to ${login}'s account; ` +
        "git over SSH will act as that account. Use another key with `nexus ssh setup --key PATH`.",
    );
  } else {
    ctx.say(`${ctx.colors.green("✓")} Key ${UPLOAD_MESSAGES[upload.status]} GitHub account ${ctx.colors.bold(login)}`);
  }

  const configured = ctx.server ?? readUserConfig(home).server;
  let server: SshSetupResult["server"] = null;
  if (configured === undefined) {
    ctx.say(`${ctx.colors.dim("-")} No nexus server configured: skipped registration (use --server URL, NEXUS_SERVER, or \`server:\` in ${home}/config.yaml)`);
  } else {
    const url = configured.replace(/\/+$/, "");
    // register-github takes the GitHub token as the bearer and answers with the nexus API token.
    const registered = await createClient({ server: url, token: session.token }).registerGithub({
      github_username: login,
      github_id: session.user.id,
      ssh_pubkey: key.publicKey,
    });
    const credentials = readCredentials(home);
    writeCredentials(home, {
      ...credentials,
      servers: { ...credentials.servers, [url]: { api_token: registered.api_token, user_id: registered.user_id, github_username: registered.github_username } },
    });
    server = { url, user_id: registered.user_id, github_username: registered.github_username };
    ctx.say(`${ctx.colors.green("✓")} Registered with ${url} as ${ctx.colors.bold(registered.github_username)} (${registered.user_id})`);
  }

  const result: SshSetupResult = {
    key: { path: key.privateKeyPath, public_key_path: key.publicKeyPath, type: key.type, fingerprint: key.fingerprint, generated: key.generated },
    github: { login, upload: upload.status, ...(upload.id !== undefined ? { key_id: upload.id } : {}) },
    server,
  };
  ctx.result(result);
  return result;
}

export function registerSshCommands(program: Command, io: CliIO): void {
  const ssh = program.command("ssh").description("set up the SSH key workspaces accept");
  action(
    ssh
      .command("setup")
      .description("find or generate an ed25519 key, add it to GitHub (an existing key is fine) and register it with the server")
      .option("--key <path>", "use this private key (generated there when missing) instead of ~/.ssh/id_ed25519, id_rsa or id_ecdsa")
      .addHelpText("after", "\nExamples:\n  $ nexus ssh setup\n  $ nexus ssh setup --server https://nexus.example.com\n  $ nexus ssh setup --key ~/.ssh/work_ed25519 --json"),
    io,
    async (ctx, options: { key?: string }) => {
      await sshSetup(ctx, options);
    },
  );
}
