import { readFileSync } from "node:fs";
import { join } from "node:path";
import { NexusError } from "@nexus/core";
import { z } from "zod";
import { IMAGE_REFERENCE } from "./validate.js";

export const DEFAULT_SOCKET = "/var/run/docker.sock";
export const DEFAULT_IMAGE = "nexus/debian-12";
export const DEFAULT_NETWORK = "nexus-isolated";
export const DEFAULT_CA_BUNDLE_PATH = "/etc/ssl/certs/ca-certificates.crt";

export const dockerOptionsSchema = z.strictObject({
  /** Path of the Engine's unix socket (default /var/run/docker.sock). */
  socket: z.string().startsWith("/", "socket must be an absolute path").optional(),
  /** An endpoint in DOCKER_HOST form: `unix:///path` or `tcp://host:port`; wins over `socket` and DOCKER_HOST. */
  host: z.string().regex(/^(?:unix|tcp):\/\/\S+$/, "host must look like unix:///path or tcp://host:port").optional(),
  /** Base image for workspaces whose spec names none. */
  image: z.string().regex(IMAGE_REFERENCE, "not a Docker image reference").default(DEFAULT_IMAGE),
  /** Bridge network (inter-container traffic disabled) every workspace joins. */
  network: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, "not a Docker network name").default(DEFAULT_NETWORK),
  /** Append the node's CA bundle to each workspace's bundle (TLS-intercepting proxies). */
  injectCaBundle: z.boolean().default(false),
  /** Where the node's CA bundle is read from when `injectCaBundle` is on. */
  caBundlePath: z.string().startsWith("/", "caBundlePath must be an absolute path").default(DEFAULT_CA_BUNDLE_PATH),
});

export type DockerOptionsInput = z.input<typeof dockerOptionsSchema>;
export type DockerOptions = z.output<typeof dockerOptionsSchema>;

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

/** Where the Engine API is: a unix socket or a TCP origin (with client TLS when DOCKER_TLS_VERIFY is set). */
export type DockerEndpoint =
  | { kind: "unix"; socketPath: string }
  | { kind: "tcp"; origin: string; tls?: TlsFiles };

export function describeEndpoint(endpoint: DockerEndpoint): string {
  return endpoint.kind === "unix" ? `unix://${endpoint.socketPath}` : endpoint.origin;
}

/** Precedence: `host` option, `socket` option, DOCKER_HOST, the default socket. */
export function resolveEndpoint(options: Pick<DockerOptions, "host" | "socket">, env: Readonly<Record<string, string | undefined>>): DockerEndpoint {
  if (options.host) return parseDockerHost(options.host, env, "host option");
  if (options.socket) return { kind: "unix", socketPath: options.socket };
  const fromEnv = env.DOCKER_HOST?.trim();
  if (fromEnv) return parseDockerHost(fromEnv, env, "DOCKER_HOST");
  return { kind: "unix", socketPath: DEFAULT_SOCKET };
}

function parseDockerHost(value: string, env: Readonly<Record<string, string | undefined>>, source: string): DockerEndpoint {
  const invalid = (why: string): NexusError =>
    new NexusError("invalid_config", `docker: ${source} ${JSON.stringify(value)} ${why}`, {
      details: { [source === "DOCKER_HOST" ? "DOCKER_HOST" : "host"]: value },
      hint: "Use unix:///var/run/docker.sock or tcp://HOST:PORT (ssh:// and npipe:// endpoints need the docker CLI, which nexus does not use).",
    });
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid("is not a URL");
  }
  if (url.protocol === "unix:") {
    if (!url.pathname.startsWith("/")) throw invalid("has no socket path");
    return { kind: "unix", socketPath: decodeURIComponent(url.pathname) };
  }
  if (url.protocol === "tcp:") {
    if (!url.hostname) throw invalid("has no host");
    const tlsOn = Boolean(env.DOCKER_TLS_VERIFY && env.DOCKER_TLS_VERIFY !== "0");
    const port = url.port || (tlsOn ? "2376" : "2375");
    const host = url.hostname.includes(":") && !url.hostname.startsWith("[") ? `[${url.hostname}]` : url.hostname;
    if (!tlsOn) return { kind: "tcp", origin: `http://${host}:${port}` };
    const dir = env.DOCKER_CERT_PATH || join(env.HOME ?? "/root", ".docker");
    return { kind: "tcp", origin: `https://${host}:${port}`, tls: readTlsFiles(dir) };
  }
  throw invalid("uses an unsupported scheme");
}

function readTlsFiles(dir: string): TlsFiles {
  try {
    return {
      ca: readFileSync(join(dir, "ca.pem"), "utf8"),
      cert: readFileSync(join(dir, "cert.pem"), "utf8"),
      key: readFileSync(join(dir, "key.pem"), "utf8"),
    };
  } catch (cause) {
    throw new NexusError("invalid_config", `docker: DOCKER_TLS_VERIFY is set but the client certificates in ${dir} cannot be read`, {
      cause,
      details: { certPath: dir },
      hint: "Set DOCKER_CERT_PATH to a directory holding ca.pem, cert.pem and key.pem.",
    });
  }
}
