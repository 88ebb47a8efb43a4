// Pure validators for user-supplied strings that end up in paths, process arguments,
// container names or SSH configuration (SPEC §5 limits). Each returns a reason on
// failure so schemas and error messages can say exactly what is wrong.
import { createHash } from "node:crypto";
import { isIPv4 } from "node:net";

/** Workspace and node names (SPEC §5). No `_`, so a name never looks like an id (`ws_…`). */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function isValidName(value: string): boolean {
  return NAME_PATTERN.test(value);
}

// GitHub logins (users and organisations): alphanumerics and single hyphens, no
// leading or trailing hyphen, at most 39 characters.
const GITHUB_OWNER_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;

export function isValidGithubOwner(value: string): boolean {
  return GITHUB_OWNER_PATTERN.test(value);
}

/** Why a GitHub repository name is invalid, or undefined when it is valid. */
export function repoNameProblem(value: string): string | undefined {
  if (value.length === 0) return "is empty";
  if (value.length > 100) return "is longer than 100 characters";
  if (!/^[A-Za-z0-9._-]+$/.test(value)) return "may only contain letters, digits, '.', '_' and '-'";
  if (value === "." || value === "..") return `cannot be '${value}'`;
  // GitHub itself allows a leading '-'; nexus does not, so the name can never be read as an option.
  if (value.startsWith("-")) return "cannot start with '-'";
  if (/\.git$/i.test(value)) return "cannot end with '.git' (give the name without it)";
  return undefined;
}

export function isValidRepoName(value: string): boolean {
  return repoNameProblem(value) === undefined;
}

// Characters `git check-ref-format` refuses anywhere in a ref: ASCII controls, DEL,
// space, and ~ ^ : ? * [ \ .
const REF_FORBIDDEN_CHAR = /[\x00-\x20\x7f~^:?*[\\]/;
const MAX_BRANCH_BYTES = 255;
// Git accepts these, but they reorder or hide text wherever a branch is shown (CLI
// tables, status, logs), so one branch could pose as another ("Trojan Source").
const INVISIBLE_OR_BIDI_CHAR = /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/u;

/**
 * Why a branch name fails `git check-ref-format --branch`, or undefined when it passes.
 * Stricter than git in three ways: `@` alone (git's shorthand for HEAD) is refused,
 * names are limited to 255 bytes (the file-name limit of the ref store), and invisible
 * or text-direction characters (and ill-formed Unicode) are refused.
 */
export function branchNameProblem(value: string): string | undefined {
  if (value.length === 0) return "is empty";
  if (Buffer.byteLength(value, "utf8") > MAX_BRANCH_BYTES) return `is longer than ${MAX_BRANCH_BYTES} bytes`;
  if (value === "@") return "cannot be '@'";
  if (value === "HEAD") return "cannot be 'HEAD'";
  if (value.startsWith("-")) return "cannot start with '-'";
  const bad = REF_FORBIDDEN_CHAR.exec(value);
  if (bad) return `cannot contain ${describeChar(bad[0])}`;
  if (!value.isWellFormed()) return "is not valid Unicode (a lone surrogate)";
  const invisible = INVISIBLE_OR_BIDI_CHAR.exec(value);
  if (invisible) return `cannot contain the invisible or text-direction character U+${invisible[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
  if (value.includes("..")) return "cannot contain '..'";
  if (value.includes("@{")) return "cannot contain '@{'";
  if (value.startsWith("/")) return "cannot start with '/'";
  if (value.endsWith("/")) return "cannot end with '/'";
  if (value.includes("//")) return "cannot contain '//'";
  if (value.endsWith(".")) return "cannot end with '.'";
  for (const component of value.split("/")) {
    if (component.startsWith(".")) return `has a component starting with '.' (${JSON.stringify(component)})`;
    if (component.endsWith(".lock")) return `has a component ending with '.lock' (${JSON.stringify(component)})`;
  }
  return undefined;
}

export function isValidBranchName(value: string): boolean {
  return branchNameProblem(value) === undefined;
}

function describeChar(char: string): string {
  const code = char.charCodeAt(0);
  if (char === " ") return "a space";
  if (code < 0x20 || code === 0x7f) return `a control character (0x${code.toString(16).padStart(2, "0")})`;
  return `'${char}'`;
}

/**
 * A DNS host name or an IPv4 address. IPv6 literals are refused: these values are
 * written into SSH configuration and URLs where brackets would be needed.
 */
export function isValidHostname(value: string): boolean {
  if (isIPv4(value)) return true;
  if (value.length === 0 || value.length > 253) return false;
  const labels = value.endsWith(".") ? value.slice(0, -1).split(".") : value.split(".");
  // A final all-numeric label would make this look like a mistyped IPv4 address.
  if (/^\d+$/.test(labels[labels.length - 1] ?? "")) return false;
  return labels.every((label) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label));
}

/** Service names as they appear in `.nexus/config.yaml` and in compose files. */
export const SERVICE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/**
 * Provider-specific image references: `nexus/debian-12`, `images:ubuntu/22.04`,
 * `debian:12@sha256:…`. Never a path: no `..`, no leading `/` or `-`.
 */
export const IMAGE_REF_PATTERN = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,254}$/;

/** Environment variable names (POSIX portable set). */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export const SSH_KEY_TYPES = [
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
] as const;

const MAX_SSH_KEY_LENGTH = 16 * 1024;

/**
 * Why an OpenSSH public key line is unacceptable, or undefined. The line is written to
 * authorized_keys, so it must be exactly `<type> <base64> [comment]` on one line: no
 * options prefix (`command="…"`), no second key smuggled in after a newline.
 */
export function sshPublicKeyProblem(value: string): string | undefined {
  if (value.length > MAX_SSH_KEY_LENGTH) return `is longer than ${MAX_SSH_KEY_LENGTH} characters`;
  const match = /^(\S+) ([A-Za-z0-9+/]+={0,3})(?: ([^\x00-\x1f\x7f]{0,512}))?$/.exec(value);
  if (!match) return "is not a single-line OpenSSH public key (`<type> <base64> [comment]`)";
  const [, type, blob] = match as unknown as [string, string, string];
  if (!(SSH_KEY_TYPES as readonly string[]).includes(type)) return `has unsupported key type ${JSON.stringify(type)}`;
  // The blob starts with the key type as an SSH string; a mismatch means a damaged or forged key.
  const bytes = Buffer.from(blob, "base64");
  if (bytes.length < 4) return "has a truncated key blob";
  const typeLength = bytes.readUInt32BE(0);
  if (bytes.length < 4 + typeLength || bytes.subarray(4, 4 + typeLength).toString("latin1") !== type) {
    return "has a key blob that does not match its type";
  }
  // ssh-ed25519: the type, then the 32-byte key as an SSH string, nothing else (OpenSSH
  // refuses any other length; ssh2's generator makes such keys now and then, mscdex/ssh2#1513).
  if (type === "ssh-ed25519") {
    const keyAt = 4 + typeLength;
    if (bytes.length !== keyAt + 4 + ED25519_KEY_BYTES || bytes.readUInt32BE(keyAt) !== ED25519_KEY_BYTES) return "has an ed25519 key that is not 32 bytes";
  }
  return undefined;
}

const ED25519_KEY_BYTES = 32;

export function isValidSshPublicKey(value: string): boolean {
  return sshPublicKeyProblem(value) === undefined;
}

/** `SHA256:…` as printed by `ssh-keygen -lf` (unpadded base64 of the blob's SHA-256). */
export function sshPublicKeyFingerprint(publicKey: string): string {
  const blob = publicKey.trim().split(/\s+/)[1] ?? "";
  const digest = createHash("sha256").update(Buffer.from(blob, "base64")).digest("base64");
  return `SHA256:${digest.replace(/=+$/, "")}`;
}
