import { generateKeyPairSync } from "node:crypto";

export interface TestKeyPair {
  /** OpenSSH public key line: `ssh-ed25519 AAAA… comment`. */
  publicKey: string;
  /** PKCS#8 PEM; tests use it to prove private material never leaks. */
  privateKeyPem: string;
}

function sshString(data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, data]);
}

/**
 * A fresh ed25519 key pair, public half in OpenSSH format (RFC 8709 wire blob).
 * An empty comment gives the bare `type base64` form host keys are reported in.
 */
export function generateTestKeyPair(comment = "nexus-test"): TestKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  // SPKI DER for ed25519 is a fixed 12-byte prefix followed by the 32-byte key.
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const blob = Buffer.concat([sshString(Buffer.from("ssh-ed25519")), sshString(raw)]);
  return {
    publicKey: `ssh-ed25519 ${blob.toString("base64")}${comment ? ` ${comment}` : ""}`,
    privateKeyPem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
  };
}

/** What an SSH public key (host or user) looks like, with an optional comment. */
export const OPENSSH_PUBLIC_KEY = /^(?:ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)) [A-Za-z0-9+/]+={0,3}(?: \S.*)?$/;
