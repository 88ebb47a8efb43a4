// NEXUS_HOME/ssh/config and NEXUS_HOME/ssh/known_hosts belong to nexus. Each
// workspace is one marked block, so it can be replaced or removed exactly:
//
//   # nexus:begin api
//   Host nexus-api
//     HostName 10.0.0.5
//     …
//   # nexus:end api
//
// Writers take NEXUS_HOME/ssh/.lock around the read-modify-rename of both files, so
// concurrent `nexus` processes never lose each other's entries.
import { mkdirSync } from "node:fs";
import { silentLogger, type Op } from "@nexus/core";
import { controlPathFits, detectConnectionSharing, type ConnectionSharingSupport } from "./connection-sharing.js";
import type { Env } from "./executables.js";
import { readOptional, withFileLock, writeFileAtomic, type FileLockOptions } from "./files.js";
import { knownHostKeys, knownHostsName, withKnownHost, withoutKnownHost } from "./known-hosts.js";
import { nexusSshPaths, resolveNexusHome, type NexusSshPaths } from "./paths.js";
import { ensureSshInclude, type SshIncludeOptions, type SshIncludeResult } from "./ssh-include.js";
import {
  assertHostKey,
  assertLocalPath,
  assertPort,
  assertServiceName,
  assertSshHostName,
  assertWorkspaceName,
  hostAlias,
} from "./validate.js";

export const WORKSPACE_SSH_USER = "dev";
export const CONTROL_PERSIST = "10m";

export interface PortForward {
  /** Port on the user's machine (bound to localhost). */
  localPort: number;
  /** Port inside the workspace, reached at 127.0.0.1 there. */
  remotePort: number;
  /** The service it belongs to, written as a comment. */
  service?: string;
}

export interface WorkspaceSshEntry {
  workspace: string;
  /** The node's address the workspace's SSH port is published on. */
  hostName: string;
  port: number;
  /** The container's host key as the agent reported it: `<type> <base64> [comment]`. */
  hostKey: string;
  /** Absolute path of the private key; omitted: OpenSSH's defaults and agent. */
  identityFile?: string;
  forwards?: readonly PortForward[];
}

/** What the config file says about one workspace. */
export interface WorkspaceSshEntrySummary {
  workspace: string;
  /** `nexus-<workspace>`. */
  host: string;
  hostName: string;
  port: number;
  user: string;
  identityFile?: string;
  forwards: PortForward[];
  connectionSharing: boolean;
  /** The keys pinned in known_hosts for this endpoint. */
  hostKeys: string[];
}

export interface RenderOptions {
  paths: NexusSshPaths;
  connectionSharing: boolean;
}

const BEGIN = "# nexus:begin ";
const END = "# nexus:end ";
const HEADER = [
  "# Managed by nexus: one block per workspace, rewritten by `nexus workspace connect`.",
  "# Included from ~/.ssh/config. Edits here are overwritten.",
];

function configValue(value: string): string {
  return /\s/.test(value) ? `"${value}"` : value;
}

function validatedEntry(entry: WorkspaceSshEntry): Required<Omit<WorkspaceSshEntry, "identityFile">> & { identityFile?: string } {
  const forwards = (entry.forwards ?? []).map((forward) => ({
    localPort: assertPort(forward.localPort, "local port"),
    remotePort: assertPort(forward.remotePort, "remote port"),
    ...(forward.service === undefined ? {} : { service: assertServiceName(forward.service) }),
  }));
  return {
    workspace: assertWorkspaceName(entry.workspace),
    hostName: assertSshHostName(entry.hostName),
    port: assertPort(entry.port),
    hostKey: assertHostKey(entry.hostKey),
    ...(entry.identityFile === undefined ? {} : { identityFile: assertLocalPath(entry.identityFile, "identity file") }),
    forwards,
  };
}

/** The marked block for one workspace (validated; no line can be injected). */
export function renderWorkspaceEntry(entry: WorkspaceSshEntry, options: RenderOptions): string {
  const valid = validatedEntry(entry);
  const lines = [
    `${BEGIN}${valid.workspace}`,
    `Host ${hostAlias(valid.workspace)}`,
    `  HostName ${valid.hostName}`,
    `  Port ${valid.port}`,
    `  User ${WORKSPACE_SSH_USER}`,
    ...(valid.identityFile ? [`  IdentityFile ${configValue(valid.identityFile)}`, "  IdentitiesOnly yes"] : []),
    `  UserKnownHostsFile ${configValue(options.paths.knownHosts)}`,
    "  StrictHostKeyChecking yes",
    "  ForwardAgent yes",
    ...valid.forwards.flatMap((f) => [...(f.service ? [`  # service ${f.service}`] : []), `  LocalForward ${f.localPort} 127.0.0.1:${f.remotePort}`]),
    ...(options.connectionSharing
      ? ["  ControlMaster auto", `  ControlPath ${configValue(options.paths.controlPath)}`, `  ControlPersist ${CONTROL_PERSIST}`]
      : []),
    `${END}${valid.workspace}`,
  ];
  return `${lines.join("\n")}\n`;
}

interface Block {
  workspace: string;
  text: string;
}

/** The marked blocks of the nexus config, in file order. Text outside blocks is not kept. */
export function parseBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  let current: { workspace: string; lines: string[] } | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith(BEGIN)) {
      current = { workspace: line.slice(BEGIN.length).trim(), lines: [line] };
    } else if (current && line.startsWith(END)) {
      if (line.slice(END.length).trim() === current.workspace) blocks.push({ workspace: current.workspace, text: `${[...current.lines, line].join("\n")}\n` });
      current = undefined;
    } else if (current) {
      current.lines.push(line);
    }
  }
  return blocks;
}

function summarize(block: Block, knownHosts: string): WorkspaceSshEntrySummary | undefined {
  const values = new Map<string, string[]>();
  const forwards: PortForward[] = [];
  let service: string | undefined;
  for (const raw of block.text.split("\n")) {
    const line = raw.trim();
    const comment = /^# service (\S+)$/.exec(line);
    if (comment) {
      service = comment[1];
      continue;
    }
    const match = /^(\w+)\s+(.*)$/.exec(line);
    if (!match || line.startsWith("#")) continue;
    const key = match[1]!.toLowerCase();
    const value = match[2]!.replace(/^"(.*)"$/, "$1");
    if (key === "localforward") {
      const forward = /^(\d+) 127\.0\.0\.1:(\d+)$/.exec(value);
      if (forward) forwards.push({ localPort: Number(forward[1]), remotePort: Number(forward[2]), ...(service ? { service } : {}) });
      service = undefined;
      continue;
    }
    values.set(key, [...(values.get(key) ?? []), value]);
  }
  const first = (key: string) => values.get(key)?.[0];
  const hostName = first("hostname");
  const port = Number(first("port"));
  if (!hostName || !Number.isInteger(port)) return undefined;
  const identityFile = first("identityfile");
  return {
    workspace: block.workspace,
    host: first("host") ?? hostAlias(block.workspace),
    hostName,
    port,
    user: first("user") ?? WORKSPACE_SSH_USER,
    ...(identityFile ? { identityFile } : {}),
    forwards,
    connectionSharing: first("controlmaster") === "auto",
    hostKeys: knownHostKeys(knownHosts, knownHostsName(hostName, port)),
  };
}

/** Whether some block connects to the known_hosts name `endpoint`. */
function endpointInUse(blocks: readonly Block[], endpoint: string): boolean {
  return blocks.some((b) => {
    const summary = summarize(b, "");
    return summary !== undefined && knownHostsName(summary.hostName, summary.port) === endpoint;
  });
}

function renderFile(blocks: readonly Block[]): string {
  return [HEADER.join("\n"), ...blocks.map((b) => b.text.trimEnd())].join("\n\n") + "\n";
}

export interface SshConfigOptions {
  /** Default: NEXUS_HOME from `env` (~/.nexus). */
  nexusHome?: string;
  env?: Env;
  /**
   * Write ControlMaster/ControlPath/ControlPersist. Default: decided once from `ssh -V`
   * and the platform, and only when the socket path fits.
   */
  connectionSharing?: boolean;
  op?: Op;
  lock?: FileLockOptions;
}

export interface WrittenWorkspaceEntry {
  workspace: string;
  host: string;
  /** NEXUS_HOME/ssh/config. */
  file: string;
  /** The block as written. */
  text: string;
  /** False when an identical block was already there. */
  changed: boolean;
  connectionSharing: ConnectionSharingSupport;
}

export interface NexusSshConfig {
  readonly paths: NexusSshPaths;
  /** Adds or replaces the workspace's block and pins its host key (replacing older keys of that endpoint). */
  writeWorkspaceEntry(entry: WorkspaceSshEntry): Promise<WrittenWorkspaceEntry>;
  /** Removes the block and its known_hosts lines; false when there was none. */
  removeWorkspaceEntry(workspace: string): Promise<boolean>;
  listWorkspaceEntries(): WorkspaceSshEntrySummary[];
  readWorkspaceEntry(workspace: string): WorkspaceSshEntrySummary | undefined;
  /** `ensureSshInclude` for this NEXUS_HOME. */
  ensureInclude(options?: Omit<SshIncludeOptions, "nexusHome">): Promise<SshIncludeResult>;
  /** Whether entries get connection sharing here (probed once). */
  connectionSharing(): Promise<ConnectionSharingSupport>;
}

/** The nexus-owned SSH files of one NEXUS_HOME. Nothing is written until a method is called. */
export function createSshConfig(options: SshConfigOptions = {}): NexusSshConfig {
  const env = options.env ?? process.env;
  const nexusHome = options.nexusHome ?? resolveNexusHome(env);
  const paths = nexusSshPaths(nexusHome);
  const op = options.op ?? { signal: AbortSignal.timeout(10_000), log: silentLogger };
  let sharing: Promise<ConnectionSharingSupport> | undefined;

  const connectionSharing = () => {
    sharing ??= (async (): Promise<ConnectionSharingSupport> => {
      if (!controlPathFits(paths.controlPath)) return { supported: false, reason: `ControlPath ${paths.controlPath} is too long for a Unix socket` };
      if (options.connectionSharing !== undefined) {
        return options.connectionSharing ? { supported: true } : { supported: false, reason: "turned off" };
      }
      return detectConnectionSharing(env, op);
    })();
    return sharing;
  };

  const readText = (path: string) => readOptional(path)?.toString("utf8") ?? "";
  const ensureDir = () => mkdirSync(paths.dir, { recursive: true, mode: 0o700 });

  const readWorkspaceEntry = (workspace: string) => {
    const block = parseBlocks(readText(paths.config)).find((b) => b.workspace === workspace);
    return block ? summarize(block, readText(paths.knownHosts)) : undefined;
  };

  return {
    paths,
    connectionSharing,

    async writeWorkspaceEntry(entry) {
      const support = await connectionSharing();
      const valid = validatedEntry(entry);
      const text = renderWorkspaceEntry(valid, { paths, connectionSharing: support.supported });
      const name = knownHostsName(valid.hostName, valid.port);
      ensureDir();
      return withFileLock(paths.lock, () => {
        const blocks = parseBlocks(readText(paths.config));
        const knownHosts = readText(paths.knownHosts);
        const index = blocks.findIndex((b) => b.workspace === valid.workspace);
        const previous = index >= 0 ? summarize(blocks[index]!, knownHosts) : undefined;
        const next = index >= 0 ? blocks.with(index, { workspace: valid.workspace, text }) : [...blocks, { workspace: valid.workspace, text }];
        let nextKnownHosts = withKnownHost(knownHosts, name, valid.hostKey);
        // The workspace moved (new node or port): unpin its old endpoint unless another entry uses it.
        const previousName = previous && knownHostsName(previous.hostName, previous.port);
        if (previousName && previousName !== name && !endpointInUse(next, previousName)) nextKnownHosts = withoutKnownHost(nextKnownHosts, previousName);
        const changed = index < 0 || blocks[index]!.text !== text || nextKnownHosts !== knownHosts;
        if (nextKnownHosts !== knownHosts) writeFileAtomic(paths.knownHosts, nextKnownHosts, 0o600);
        if (index < 0 || blocks[index]!.text !== text) writeFileAtomic(paths.config, renderFile(next), 0o600);
        return { workspace: valid.workspace, host: hostAlias(valid.workspace), file: paths.config, text, changed, connectionSharing: support };
      }, options.lock);
    },

    async removeWorkspaceEntry(workspace) {
      assertWorkspaceName(workspace);
      ensureDir();
      return withFileLock(paths.lock, () => {
        const blocks = parseBlocks(readText(paths.config));
        const removed = blocks.find((b) => b.workspace === workspace);
        if (!removed) return false;
        const rest = blocks.filter((b) => b !== removed);
        const knownHosts = readText(paths.knownHosts);
        const summary = summarize(removed, knownHosts);
        const endpoint = summary && knownHostsName(summary.hostName, summary.port);
        if (endpoint && !endpointInUse(rest, endpoint)) {
          const nextKnownHosts = withoutKnownHost(knownHosts, endpoint);
          if (nextKnownHosts !== knownHosts) writeFileAtomic(paths.knownHosts, nextKnownHosts, 0o600);
        }
        writeFileAtomic(paths.config, renderFile(rest), 0o600);
        return true;
      }, options.lock);
    },

    listWorkspaceEntries() {
      const knownHosts = readText(paths.knownHosts);
      return parseBlocks(readText(paths.config)).flatMap((b) => summarize(b, knownHosts) ?? []);
    },

    readWorkspaceEntry(workspace) {
      return readWorkspaceEntry(workspace);
    },

    ensureInclude(includeOptions = {}) {
      return ensureSshInclude({ env, lock: options.lock, ...includeOptions, nexusHome });
    },
  };
}
