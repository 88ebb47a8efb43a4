// The user's SSH key: found in ~/.ssh (ed25519, then rsa, then ecdsa) or generated
// in-process as ed25519 in OpenSSH format (no ssh-keygen needed), and uploaded to the
// user's GitHub account so git over SSH and the workspace both accept it.
import { constants } from "node:fs";
import { chmod, mkdir, open, readFile, stat } from "node:fs/promises";
import { hostname, userInfo } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import ssh2 from "ssh2";
import { NexusError, isNexusError, isValidSshPublicKey, sshPublicKeyFingerprint, sshPublicKeyProblem } from "@nexus/core";
import type { CallOptions, GithubClient } from "./client.js";

/** Default keys, in the order they are preferred. */
export const DEFAULT_KEY_NAMES = ["id_ed25519", "id_rsa", "id_ecdsa"] as const;

export interface LocalSshKey {
  privateKeyPath: string;
  publicKeyPath: string;
  /** One line: `<type> <base64> [comment]`. */
  publicKey: string;
  type: string;
  /** `SHA256:…`, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** True when this call created the key. */
  generated: boolean;
}

export interface FindOrCreateSshKeyOptions {
  /** The user's home directory (keys live in `<home>/.ssh`). */
  home: string;
  /** A specific private key; generated there when it does not exist. */
  keyPath?: string | undefined;
  /** Comment of a generated key (default `<user>@<host>`). */
  comment?: string | undefined;
}

export async function findOrCreateSshKey(options: FindOrCreateSshKeyOptions): Promise<LocalSshKey> {
  if (!isAbsolute(options.home)) throw new NexusError("invalid_request", `home directory ${JSON.stringify(options.home)} is not absolute`);
  if (options.keyPath !== undefined) {
    if (!isAbsolute(options.keyPath)) throw new NexusError("invalid_request", `SSH key path ${JSON.stringify(options.keyPath)} is not absolute`);
    const privateKeyPath = options.keyPath.replace(/\.pub$/, "");
    const found = await readKeyPair(privateKeyPath);
    if (found) return found;
    if (await exists(privateKeyPath)) {
      throw new NexusError("invalid_request", `${privateKeyPath} exists but no public key could be read from it or from ${privateKeyPath}.pub`, {
        details: { path: privateKeyPath },
        hint: `Write its public key with \`ssh-keygen -y -f ${privateKeyPath} > ${privateKeyPath}.pub\`, or choose another key with --key.`,
      });
    }
    return generateKeyPair(privateKeyPath, options.comment);
  }
  const sshDir = join(options.home, ".ssh");
  for (const name of DEFAULT_KEY_NAMES) {
    const found = await readKeyPair(join(sshDir, name));
    if (found) return found;
  }
  return generateKeyPair(join(sshDir, "id_ed25519"), options.comment);
}

/** The public half of a key pair: `<path>.pub`, else derived from an unencrypted private key. */
async function readKeyPair(privateKeyPath: string): Promise<LocalSshKey | null> {
  const publicKeyPath = `${privateKeyPath}.pub`;
  if (!(await exists(privateKeyPath))) return null;
  const publicText = await readFile(publicKeyPath, "utf8").catch(() => undefined);
  let publicKey = publicText?.split(/\r?\n/).find((line) => line.trim() !== "")?.trim();
  if (publicKey === undefined || sshPublicKeyProblem(publicKey) !== undefined) {
    const parsed = ssh2.utils.parseKey(await readFile(privateKeyPath));
    // An encrypted key without its .pub cannot be read without the passphrase: skip it.
    if (parsed instanceof Error) return null;
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key) return null;
    publicKey = `${key.type} ${key.getPublicSSH().toString("base64")}${key.comment ? ` ${key.comment}` : ""}`;
    if (sshPublicKeyProblem(publicKey) !== undefined) return null;
  }
  return describe(privateKeyPath, publicKeyPath, publicKey, false);
}

/**
 * A new ed25519 key pair in OpenSSH format. ssh2 drops a leading zero byte of the public key
 * (mscdex/ssh2#1513), so about one pair in 256 is malformed and OpenSSH refuses it: a pair is
 * drawn again until both halves parse with a 32-byte public key.
 */
export function generateEd25519Pair(comment?: string): { private: string; public: string } {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync("ed25519", comment === undefined ? undefined : { comment });
    if (isValidSshPublicKey(pair.public.trim()) && !(ssh2.utils.parseKey(pair.private) instanceof Error)) return pair;
  }
}

async function generateKeyPair(privateKeyPath: string, comment: string | undefined): Promise<LocalSshKey> {
  const dir = dirname(privateKeyPath);
  if (!(await exists(dir))) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  }
  const pair = generateEd25519Pair(comment ?? defaultComment());
  const publicKey = pair.public.trim();
  const publicKeyPath = `${privateKeyPath}.pub`;
  // O_EXCL: never overwrite a key that appeared meanwhile.
  await writeNew(privateKeyPath, pair.private.endsWith("\n") ? pair.private : `${pair.private}\n`, 0o600);
  await writeNew(publicKeyPath, `${publicKey}\n`, 0o644);
  return describe(privateKeyPath, publicKeyPath, publicKey, true);
}

async function writeNew(path: string, content: string, mode: number): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await handle.writeFile(content);
    await handle.chmod(mode);
  } finally {
    await handle.close();
  }
}

function describe(privateKeyPath: string, publicKeyPath: string, publicKey: string, generated: boolean): LocalSshKey {
  return {
    privateKeyPath,
    publicKeyPath,
    publicKey,
    type: publicKey.split(" ")[0] ?? "",
    fingerprint: sshPublicKeyFingerprint(publicKey),
    generated,
  };
}

function defaultComment(): string {
  let user = "nexus";
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (containers): keep the generic name.
  }
  return `${user}@${hostname()}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export type SshKeyUploadStatus = "created" | "exists" | "in_use_elsewhere";

export interface SshKeyUpload {
  /** created: uploaded now; exists: already on this account; in_use_elsewhere: GitHub has it on another account or as a deploy key. */
  status: SshKeyUploadStatus;
  id?: number;
}

/** `<type> <base64>`: what GitHub stores and compares (it drops the comment). */
function keyIdentity(publicKey: string): string {
  return publicKey.trim().split(/\s+/).slice(0, 2).join(" ");
}

/**
 * Adds the public key to the authenticated user's account; a key already there is
 * success. GitHub answers 422 "key is already in use" both for this account and for
 * keys held elsewhere, so the account's list tells the two apart.
 */
export async function uploadSshKey(client: GithubClient, publicKey: string, title: string, call?: CallOptions): Promise<SshKeyUpload> {
  const problem = sshPublicKeyProblem(publicKey.trim());
  if (problem) throw new NexusError("invalid_request", `the SSH public key ${problem}`, { details: { reason: problem } });
  const wanted = keyIdentity(publicKey);
  const findOwn = async (): Promise<SshKeyUpload | null> => {
    const own = (await client.listSshKeys(call).catch((error: unknown) => { throw scopeError(error); })).find((k) => keyIdentity(k.key) === wanted);
    return own ? { status: "exists", id: own.id } : null;
  };
  const existing = await findOwn();
  if (existing) return existing;
  try {
    const created = await client.createSshKey({ title: title.slice(0, 100) || "nexus", key: wanted }, call);
    return { status: "created", id: created.id };
  } catch (error) {
    if (isNexusError(error) && error.code === "invalid_request" && isKeyInUse(error.details.errors)) {
      return (await findOwn()) ?? { status: "in_use_elsewhere" };
    }
    throw scopeError(error);
  }
}

function isKeyInUse(errors: unknown): boolean {
  return Array.isArray(errors) && errors.some((e) => typeof (e as { message?: unknown })?.message === "string" && /already in use/i.test((e as { message: string }).message));
}

// GitHub answers 404 (classic tokens) or 403 (fine-grained) when the token lacks the key scope.
function scopeError(error: unknown): unknown {
  if (isNexusError(error) && (error.code === "not_found" || error.code === "forbidden")) {
    return new NexusError("forbidden", `GitHub did not let this token manage SSH keys (${error.message})`, {
      cause: error,
      details: error.details,
      hint: "The token needs the admin:public_key scope: run `nexus auth github --device`, or `gh auth refresh -s admin:public_key`.",
    });
  }
  return error;
}
