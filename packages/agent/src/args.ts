// `nexus-agent` flags → the runtime's options. Parsed with node:util's parseArgs: the
// agent is a long-running daemon with a handful of flags, not an interactive CLI.
import { readFileSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { NexusError } from "@nexus/core";

export const PROVIDER_PACKAGES: Readonly<Record<string, string>> = {
  lxc: "@nexus/provider-lxc",
  docker: "@nexus/provider-docker",
};

export const USAGE = `Usage: nexus-agent --server URL [--join-token TOKEN] [options]

Runs a nexus node agent: registers with the coordination server, then creates and
manages workspace containers with the chosen provider.

Options:
  --server URL              coordination server (env NEXUS_SERVER)
  --join-token TOKEN        join token from \`nexus node token create\` (env NEXUS_JOIN_TOKEN);
                            needed only until the node is registered (kept in --data)
  --provider NAME           lxc (default) or docker
  --name NAME               node name (default: the host name)
  --ssh-host HOST           address users' SSH connects to (default: the host name)
  --ssh-ports START-END     node ports for workspace SSH (default 2222-2299)
  --data DIR                identity, command journal, repository mirrors
                            (default: $NEXUS_HOME/agent, ~/.nexus/agent)
  --max-workspaces N        capacity reported to the server (default: the port range's size)
  --allow-local-repos       accept file:// and local-path repositories (single machine only)
  --github-host HOST        host of accepted repository URLs (default github.com)
  --allow-repo-host HOST    another accepted repository host[:port] (repeatable)
  --allow-http-repos        accept plain http:// repository URLs to allowed hosts
  --ca-bundle FILE          PEM certificates added to every workspace's trust store
  --provider-option K=V     a provider option, V as JSON when it parses (repeatable),
                            e.g. storagePool=nexus, injectCaBundle=true
  --label K=V               a label on every container this agent creates (repeatable)
  --log-level LEVEL         trace, debug, info (default), warn, error (env NEXUS_LOG_LEVEL)
  -h, --help                this help
`;

export interface AgentArgs {
  help: boolean;
  server: string;
  joinToken: string | undefined;
  provider: string;
  providerPackage: string;
  providerOptions: Record<string, unknown>;
  name: string;
  sshHost: string;
  sshPorts: [number, number];
  dataDir: string;
  maxWorkspaces: number | undefined;
  allowLocalRepos: boolean;
  githubHost: string | undefined;
  allowedRepoHosts: string[];
  allowHttpRepos: boolean;
  caBundle: string | undefined;
  labels: Record<string, string>;
  logLevel: string;
}

function usage(message: string, details: Record<string, unknown> = {}): NexusError {
  return new NexusError("invalid_request", message, { details, hint: "Run `nexus-agent --help` for the flags." });
}

/** The host name as a node name: lower case, letters, digits and '-'. */
export function defaultNodeName(host = hostname()): string {
  const name = host.split(".")[0]!.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63);
  return name === "" ? "node" : name;
}

export function parsePortRange(text: string): [number, number] {
  const match = /^(\d{1,5})-(\d{1,5})$/.exec(text);
  const range = match ? ([Number(match[1]), Number(match[2])] as [number, number]) : undefined;
  if (!range || range[0] < 1 || range[1] > 65535 || range[0] > range[1]) throw usage(`--ssh-ports ${JSON.stringify(text)} must be START-END with 1 <= START <= END <= 65535`);
  return range;
}

function pairs(values: readonly string[], flag: string, parse: (value: string) => unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const entry of values) {
    const eq = entry.indexOf("=");
    if (eq <= 0) throw usage(`${flag} ${JSON.stringify(entry)} must be KEY=VALUE`);
    out[entry.slice(0, eq)] = parse(entry.slice(eq + 1));
  }
  return out;
}

function jsonOrText(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

export function parseAgentArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): AgentArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        server: { type: "string" },
        "join-token": { type: "string" },
        provider: { type: "string", default: "lxc" },
        name: { type: "string" },
        "ssh-host": { type: "string" },
        "ssh-ports": { type: "string", default: "2222-2299" },
        data: { type: "string" },
        "max-workspaces": { type: "string" },
        "allow-local-repos": { type: "boolean", default: false },
        "github-host": { type: "string" },
        "allow-repo-host": { type: "string", multiple: true, default: [] },
        "allow-http-repos": { type: "boolean", default: false },
        "ca-bundle": { type: "string" },
        "provider-option": { type: "string", multiple: true, default: [] },
        label: { type: "string", multiple: true, default: [] },
        "log-level": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }).values;
  } catch (error) {
    throw usage((error as Error).message);
  }
  const provider = parsed.provider!;
  const providerPackage = PROVIDER_PACKAGES[provider];
  if (!providerPackage) throw usage(`--provider must be one of ${Object.keys(PROVIDER_PACKAGES).join(", ")}, got ${JSON.stringify(provider)}`);
  const server = parsed.server ?? env.NEXUS_SERVER ?? "";
  if (!parsed.help && server === "") throw usage("--server is required (or set NEXUS_SERVER)");
  const home = env.NEXUS_HOME ? resolve(env.NEXUS_HOME) : join(env.HOME || homedir(), ".nexus");
  const dataDir = parsed.data === undefined ? join(home, "agent") : isAbsolute(parsed.data) ? parsed.data : resolve(parsed.data);
  let maxWorkspaces: number | undefined;
  if (parsed["max-workspaces"] !== undefined) {
    maxWorkspaces = Number(parsed["max-workspaces"]);
    if (!Number.isInteger(maxWorkspaces) || maxWorkspaces < 1) throw usage("--max-workspaces must be a whole number of at least 1");
  }
  let caBundle: string | undefined;
  if (parsed["ca-bundle"] !== undefined) {
    try {
      caBundle = readFileSync(parsed["ca-bundle"], "utf8");
    } catch (error) {
      throw usage(`--ca-bundle: cannot read ${parsed["ca-bundle"]}: ${(error as Error).message}`);
    }
    if (!caBundle.includes("-----BEGIN CERTIFICATE-----")) throw usage(`--ca-bundle ${parsed["ca-bundle"]} holds no PEM certificate`);
  }
  const host = hostname();
  return {
    help: parsed.help!,
    server,
    joinToken: parsed["join-token"] ?? (env.NEXUS_JOIN_TOKEN || undefined),
    provider,
    providerPackage,
    providerOptions: pairs(parsed["provider-option"]!, "--provider-option", jsonOrText),
    name: parsed.name ?? defaultNodeName(host),
    sshHost: parsed["ssh-host"] ?? host,
    sshPorts: parsePortRange(parsed["ssh-ports"]!),
    dataDir,
    maxWorkspaces,
    allowLocalRepos: parsed["allow-local-repos"]!,
    githubHost: parsed["github-host"],
    allowedRepoHosts: parsed["allow-repo-host"]!,
    allowHttpRepos: parsed["allow-http-repos"]!,
    caBundle,
    labels: pairs(parsed.label!, "--label", (v) => v) as Record<string, string>,
    logLevel: parsed["log-level"] ?? env.NEXUS_LOG_LEVEL ?? "info",
  };
}
