// The node's identity: registered once with a join token, then kept in
// <dataDir>/agent.json (0600) so that a restarted agent is the same node.
import { join } from "node:path";
import { z } from "zod";
import pkg from "../../package.json" with { type: "json" };
import type { NodeClient } from "../client.js";
import { NexusError } from "../errors.js";
import type { Logger } from "../logger.js";
import { Secret } from "../secret.js";
import { NodeIdSchema } from "../wire/common.js";
import { readJsonFile, writePrivateFile } from "./files.js";
import type { ResolvedAgentOptions } from "./options.js";

export const AGENT_VERSION: string = pkg.version;

const StoredIdentitySchema = z.object({
  server: z.string(),
  name: z.string(),
  node_id: NodeIdSchema,
  node_token: z.string().startsWith("nxn_"),
  registered_at: z.string().optional(),
});

export interface NodeIdentity {
  nodeId: string;
  nodeToken: Secret;
  /** Seconds between heartbeats the server asked for. */
  heartbeatSeconds: number;
}

const DEFAULT_HEARTBEAT_SECONDS = 10;

function sameServer(a: string, b: string): boolean {
  return new URL(a).href.replace(/\/+$/, "") === new URL(b).href.replace(/\/+$/, "");
}

export class IdentityStore {
  readonly file: string;

  constructor(
    private readonly options: ResolvedAgentOptions,
    private readonly client: NodeClient,
    private readonly log: Logger,
  ) {
    this.file = join(options.dataDir, "agent.json");
  }

  /** The given identity, else the stored one (same server and name), else a new registration. */
  async load(signal: AbortSignal): Promise<NodeIdentity> {
    const { options } = this;
    if (options.nodeId !== undefined && options.nodeToken !== undefined) {
      await this.#save(options.nodeId, options.nodeToken);
      return { nodeId: options.nodeId, nodeToken: new Secret(options.nodeToken), heartbeatSeconds: DEFAULT_HEARTBEAT_SECONDS };
    }
    const stored = StoredIdentitySchema.safeParse(await readJsonFile(this.file));
    if (stored.success && sameServer(stored.data.server, options.server) && stored.data.name === options.name) {
      this.log.info({ node_id: stored.data.node_id }, `using the node identity in ${this.file}`);
      return { nodeId: stored.data.node_id, nodeToken: new Secret(stored.data.node_token), heartbeatSeconds: DEFAULT_HEARTBEAT_SECONDS };
    }
    return this.register(signal);
  }

  get canRegister(): boolean {
    return this.options.joinToken !== undefined && this.options.joinToken !== "";
  }

  async register(signal: AbortSignal): Promise<NodeIdentity> {
    const { options } = this;
    if (!this.canRegister) {
      throw new NexusError("auth_required", `node ${options.name} is not registered with ${options.server} and no join token was given`, {
        hint: "Create one with `nexus node token create` (admin) and pass it as --join-token or NEXUS_JOIN_TOKEN.",
      });
    }
    const response = await this.client.register(
      {
        name: options.name,
        providers: [options.providerName],
        ssh_host: options.sshHost,
        ssh_port_range: { start: options.sshPorts[0], end: options.sshPorts[1] },
        capacity: options.capacity,
        version: AGENT_VERSION,
      },
      { token: options.joinToken!, signal },
    );
    await this.#save(response.node_id, response.node_token);
    this.log.info({ node_id: response.node_id }, `registered node ${options.name} with ${options.server}`);
    return { nodeId: response.node_id, nodeToken: new Secret(response.node_token), heartbeatSeconds: response.heartbeat_interval_seconds };
  }

  async #save(nodeId: string, nodeToken: string): Promise<void> {
    const record = { server: this.options.server, name: this.options.name, node_id: nodeId, node_token: nodeToken, registered_at: new Date().toISOString() };
    await writePrivateFile(this.file, `${JSON.stringify(record, null, 2)}\n`);
  }
}
