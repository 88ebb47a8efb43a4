// The Debian mirror the image is built from: by default the one this machine's
// apt already uses (it is known to be reachable), or one given with --mirror.

import { readFile } from "node:fs/promises";
import { NexusError } from "@nexus/core";

export const DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian";

/** Checks a user-supplied mirror and returns it normalised (no trailing slash). */
export function validateMirrorUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new NexusError("invalid_request", `mirror is not a URL: ${JSON.stringify(input)}`, { details: { mirror: input } });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new NexusError("invalid_request", `mirror must be an http:// or https:// URL, got ${url.protocol}`, {
      details: { mirror: input },
    });
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new NexusError("invalid_request", "mirror must not carry credentials, a query or a fragment", {
      details: { mirror: url.origin + url.pathname },
    });
  }
  return url.href.replace(/\/+$/, "");
}

/**
 * The first mirror in a deb822 `.sources` file that serves `suite` for binary
 * packages (`Types: deb`). Returns undefined when none does.
 */
export function mirrorFromDeb822(text: string, suite: string): string | undefined {
  // Stanzas are separated by blank lines; continuation lines start with a space.
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const line of stanza.split("\n")) {
      if (line.startsWith("#")) continue;
      const continuation = /^\s+\S/.test(line);
      if (continuation && last) {
        fields.set(last, `${fields.get(last) ?? ""} ${line.trim()}`);
        continue;
      }
      const match = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (!match) continue;
      last = match[1]!.toLowerCase();
      fields.set(last, match[2]!.trim());
    }
    if (fields.get("enabled")?.toLowerCase() === "no") continue;
    const words = (key: string) => (fields.get(key) ?? "").split(/\s+/).filter(Boolean);
    if (!words("types").includes("deb") || !words("suites").includes(suite)) continue;
    const uri = words("uris").find((u) => /^https?:\/\//.test(u));
    if (uri) return uri.replace(/\/+$/, "");
  }
  return undefined;
}

/** The first `deb` line of a one-line-style sources.list that serves `suite`. */
export function mirrorFromSourcesList(text: string, suite: string): string | undefined {
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*$/, "").trim();
    if (!line.startsWith("deb ")) continue;
    // Optional options block: deb [arch=amd64 signed-by=...] URI suite components
    const words = line.replace(/^deb\s+(\[[^\]]*\]\s+)?/, "").split(/\s+/);
    const [uri, lineSuite] = words;
    if (uri && lineSuite === suite && /^https?:\/\//.test(uri)) return uri.replace(/\/+$/, "");
  }
  return undefined;
}

export interface AptSourcePaths {
  deb822: string;
  sourcesList: string;
}

const HOST_APT_SOURCES: AptSourcePaths = {
  deb822: "/etc/apt/sources.list.d/debian.sources",
  sourcesList: "/etc/apt/sources.list",
};

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** The mirror this machine's apt uses for `suite`, else Debian's redirector. */
export async function hostDebianMirror(suite: string, paths: AptSourcePaths = HOST_APT_SOURCES): Promise<string> {
  const deb822 = await readIfPresent(paths.deb822);
  const fromDeb822 = deb822 === undefined ? undefined : mirrorFromDeb822(deb822, suite);
  if (fromDeb822) return fromDeb822;
  const list = await readIfPresent(paths.sourcesList);
  const fromList = list === undefined ? undefined : mirrorFromSourcesList(list, suite);
  return fromList ?? DEFAULT_DEBIAN_MIRROR;
}

/** apt sources written into the image: the build mirror, bookworm and its updates. */
export function imageAptSources(mirror: string, suite: string): string {
  return [
    "Types: deb",
    `URIs: ${mirror}`,
    `Suites: ${suite} ${suite}-updates`,
    "Components: main",
    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
    "",
  ].join("\n");
}
