// The instance files API: `POST/GET /1.0/instances/<name>/files?path=…`.
import { NexusError, type WriteFileOptions } from "@nexus/core";
import type { IncusClient } from "./client.js";

export function instancePath(instance: string, ...rest: string[]): string {
  return ["/1.0/instances", encodeURIComponent(instance), ...rest].join("/");
}

/** Absolute, no NUL, no `..` segment: paths inside the container are still user input. */
export function checkContainerPath(path: string): void {
  if (typeof path !== "string" || !path.startsWith("/") || path.includes("\0") || path.split("/").includes("..")) {
    throw new NexusError("invalid_request", `lxc: container path ${JSON.stringify(path)} must be absolute without '..'`, {
      details: { plugin: "lxc", path },
    });
  }
}

/**
 * Ownership and mode travel as headers. Incus reads `X-Incus-*`, LXD `X-LXD-*`;
 * each ignores the other's, so both are sent and one client serves both daemons.
 */
function fileHeaders(options: WriteFileOptions & { type?: "file" | "directory" }): Record<string, string> {
  const values: Record<string, string> = { type: options.type ?? "file", write: "overwrite" };
  if (options.uid !== undefined) values.uid = String(options.uid);
  if (options.gid !== undefined) values.gid = String(options.gid);
  if (options.mode !== undefined) values.mode = `0${(options.mode & 0o7777).toString(8)}`;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    headers[`x-incus-${k}`] = v;
    headers[`x-lxd-${k}`] = v;
  }
  return headers;
}

export async function pushFile(
  client: IncusClient,
  instance: string,
  path: string,
  data: string | Uint8Array,
  signal: AbortSignal,
  options: WriteFileOptions & { type?: "file" | "directory" } = {},
): Promise<void> {
  checkContainerPath(path);
  const rawBody = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  await client.sync("POST", instancePath(instance, "files"), {
    query: { path },
    rawBody,
    headers: fileHeaders(options),
    signal,
    phase: `write ${path}`,
  });
}

export async function pullFile(client: IncusClient, instance: string, path: string, signal: AbortSignal): Promise<Buffer> {
  checkContainerPath(path);
  const { body } = await client.raw("GET", instancePath(instance, "files"), { query: { path }, signal, phase: `read ${path}` });
  return body;
}
