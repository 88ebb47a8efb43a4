// SHA256SUMS in the format `sha256sum -c` and `shasum -a 256 -c` read: "<hex>  <name>".
import { createHash } from "node:crypto";
import { createReadStream, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";

export const CHECKSUMS_FILE = "SHA256SUMS";

export async function sha256File(path) {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

/** Writes SHA256SUMS for every regular file in `dir` (except itself), sorted by name; returns its text. */
export async function writeChecksums(dir) {
  const names = readdirSync(dir)
    .filter((name) => name !== CHECKSUMS_FILE && statSync(join(dir, name)).isFile())
    .sort();
  const lines = [];
  for (const name of names) lines.push(`${await sha256File(join(dir, name))}  ${name}`);
  const text = lines.length ? `${lines.join("\n")}\n` : "";
  writeFileSync(join(dir, CHECKSUMS_FILE), text);
  return text;
}

// `node scripts/release/checksums.mjs DIR` rewrites DIR/SHA256SUMS, e.g. after signing the
// darwin binaries (signing changes their bytes).
if (process.argv[1] && process.argv[1].endsWith("checksums.mjs")) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write("usage: node scripts/release/checksums.mjs DIR\n");
    process.exitCode = 2;
  } else {
    process.stdout.write(await writeChecksums(dir));
  }
}
