// Shared set-up for the server tests: a MemoryStore (or SQLite file) on a fake clock, the
// services, the fastify app (inject only), a GitHub emulator for token verification, and
// helpers that play the user, the admin and the agent over HTTP.
import { generateKeyPairSync } from "node:crypto";
import type { Test } from "tap";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { createServices, type NexusServices, type ServicesOptions, type Store } from "@nexus/core";
import { MemoryStore, createLogCapture, type LogCapture } from "@nexus/testkit";
import { startGithubEmulator, type GithubEmulator } from "@nexus/github/testing";
import { buildServer, type BuildServerOptions } from "@nexus/server";

export const ADMIN_TOKEN = "admin-secret-token-for-tests";

export class FakeClock {
  #ms: number;
  constructor(start = Date.parse("2026-01-01T00:00:00.000Z")) {
    this.#ms = start;
  }
  now(): Date {
    return new Date(this.#ms);
  }
  advance(ms: number): void {
    this.#ms += ms;
  }
}

/** A fresh, valid OpenSSH ed25519 public key line. */
export function sshPublicKey(comment = "test@nexus"): string {
  const { publicKey } = generateKeyPairSync("ed25519");
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x as string, "base64url");
  const type = Buffer.from("ssh-ed25519");
  const blob = Buffer.concat([u32(type.length), type, u32(raw.length), raw]);
  return `ssh-ed25519 ${blob.toString("base64")} ${comment}`;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export interface HarnessOptions {
  services?: Partial<ServicesOptions>;
  server?: Partial<BuildServerOptions>;
  /** Default: a MemoryStore on the harness clock. */
  store?: (clock: FakeClock) => Store;
}

export interface RegisteredUser {
  login: string;
  user_id: string;
  apiToken: string;
  githubToken: string;
  key: string;
}

export interface RegisteredNode {
  node_id: string;
  token: string;
  name: string;
}

export interface Harness {
  app: FastifyInstance;
  services: NexusServices;
  store: Store;
  clock: FakeClock;
  github: GithubEmulator;
  logs: LogCapture;
  request(init: { method: string; url: string; token?: string; body?: unknown; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
  user(login: string): Promise<RegisteredUser>;
  node(name: string, init?: Partial<{ providers: string[]; ports: [number, number]; max: number }>): Promise<RegisteredNode>;
  /** Creates a workspace as the user; returns the parsed 202 body. */
  create(user: RegisteredUser, body: Record<string, unknown>, headers?: Record<string, string>): Promise<{ workspace_id: string; workspace_name: string; ssh_port: number | null; status: string }>;
  poll(node: RegisteredNode, wait?: number): Promise<{ id: string; type: string; workspace_id: string | null; payload: Record<string, unknown> }[]>;
  result(node: RegisteredNode, commandId: string, body: unknown): Promise<LightMyRequestResponse>;
  events(node: RegisteredNode, events: unknown[]): Promise<LightMyRequestResponse>;
  detail(user: RegisteredUser, ref: string): Promise<Record<string, any>>;
}

export async function harness(t: Test, options: HarnessOptions = {}): Promise<Harness> {
  const clock = new FakeClock();
  const store = options.store?.(clock) ?? new MemoryStore({ now: () => clock.now() });
  const github = await startGithubEmulator();
  const logs = createLogCapture();
  const services = createServices({
    store,
    clock,
    log: logs.log,
    githubApiUrl: github.apiUrl,
    githubHost: "github.com",
    adminToken: ADMIN_TOKEN,
    ...options.services,
  });
  const app = buildServer({ services, tickIntervalMs: false, rateLimit: false, ...options.server });
  await app.ready();
  t.teardown(async () => {
    await app.close();
    await github.close();
    await store.close();
  });

  const request: Harness["request"] = (init) =>
    app.inject({
      method: init.method as "GET",
      url: init.url,
      headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...init.headers },
      ...(init.body === undefined ? {} : { payload: init.body as object }),
    });

  const h: Harness = {
    app,
    services,
    store,
    clock,
    github,
    logs,
    request,
    async user(login) {
      const account = github.user(login) ?? github.addUser(login);
      const githubToken = github.issueToken(login);
      const key = sshPublicKey(`${login}@laptop`);
      const res = await request({
        method: "POST",
        url: "/api/v1/users/register-github",
        token: githubToken,
        body: { github_username: login, github_id: account.id, ssh_pubkey: key },
      });
      if (res.statusCode !== 201 && res.statusCode !== 200) throw new Error(`register ${login}: ${res.statusCode} ${res.body}`);
      const body = res.json() as { user_id: string; api_token: string };
      return { login, user_id: body.user_id, apiToken: body.api_token, githubToken, key };
    },
    async node(name, init = {}) {
      const joined = await request({ method: "POST", url: "/api/v1/nodes/tokens", token: ADMIN_TOKEN, body: {} });
      const join = (joined.json() as { token: string }).token;
      const ports = init.ports ?? [2222, 2299];
      const res = await request({
        method: "POST",
        url: "/api/v1/nodes/register",
        token: join,
        body: {
          name,
          providers: init.providers ?? ["lxc"],
          ssh_host: `${name}.example.test`,
          ssh_port_range: { start: ports[0], end: ports[1] },
          capacity: { max_workspaces: init.max ?? 50 },
          version: "1.0.0",
        },
      });
      if (res.statusCode !== 201) throw new Error(`register node ${name}: ${res.statusCode} ${res.body}`);
      const body = res.json() as { node_id: string; node_token: string };
      return { node_id: body.node_id, token: body.node_token, name };
    },
    async create(user, body, headers) {
      const res = await request({ method: "POST", url: "/api/v1/workspaces/create-from-repo", token: user.apiToken, body, ...(headers ? { headers } : {}) });
      if (res.statusCode !== 202) throw new Error(`create: ${res.statusCode} ${res.body}`);
      return res.json();
    },
    async poll(node, wait = 0) {
      const res = await request({ method: "GET", url: `/api/v1/nodes/${node.node_id}/commands?wait=${wait}`, token: node.token });
      if (res.statusCode !== 200) throw new Error(`poll: ${res.statusCode} ${res.body}`);
      return (res.json() as { commands: never[] }).commands;
    },
    result(node, commandId, body) {
      return request({ method: "POST", url: `/api/v1/nodes/${node.node_id}/commands/${commandId}/result`, token: node.token, body });
    },
    events(node, events) {
      return request({ method: "POST", url: `/api/v1/nodes/${node.node_id}/events`, token: node.token, body: { events } });
    },
    async detail(user, ref) {
      const res = await request({ method: "GET", url: `/api/v1/workspaces/${ref}`, token: user.apiToken });
      if (res.statusCode !== 200) throw new Error(`get ${ref}: ${res.statusCode} ${res.body}`);
      return res.json();
    },
  };
  return h;
}

/** The handle and host key an agent reports for a created container. */
export function createdResult(workspaceId: string, port = 2222) {
  return {
    ok: true,
    type: "create",
    data: {
      handle: { provider: "lxc", id: `nexus-${workspaceId.slice(3)}`, workspaceId, labels: { "nexus.workspace": workspaceId }, sshPort: port },
      host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyForTests",
    },
  };
}
