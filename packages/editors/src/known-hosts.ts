// NEXUS_HOME/ssh/known_hosts holds one pinned key per workspace endpoint, in OpenSSH's
// format: `host` for port 22, `[host]:port` otherwise (IPv6 literals too).

/** The known_hosts name OpenSSH looks up for `host` on `port`. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function lineNames(line: string): string[] {
  const trimmed = line.trim();
  if (trimmed === "" || trimmed.startsWith("#")) return [];
  // A marker (@cert-authority, @revoked) shifts the host list to the second field.
  const fields = trimmed.split(/\s+/);
  const hosts = fields[0]?.startsWith("@") ? fields[1] : fields[0];
  return (hosts ?? "").split(",");
}

/** `text` without the lines for `name`. */
export function withoutKnownHost(text: string, name: string): string {
  const kept = text.split("\n").filter((line) => line !== "" && !lineNames(line).includes(name));
  return kept.length ? `${kept.join("\n")}\n` : "";
}

/** `text` with every line for `name` replaced by one line pinning `key` (`<type> <base64>`). */
export function withKnownHost(text: string, name: string, key: string): string {
  const pinned = text.split("\n").filter((line) => lineNames(line).includes(name));
  if (pinned.length === 1 && pinned[0] === `${name} ${key}`) return text;
  return `${withoutKnownHost(text, name)}${name} ${key}\n`;
}

/** The keys pinned for `name`. */
export function knownHostKeys(text: string, name: string): string[] {
  return text
    .split("\n")
    .filter((line) => !line.trim().startsWith("@") && lineNames(line).includes(name))
    .map((line) => line.trim().split(/\s+/).slice(1, 3).join(" "));
}
