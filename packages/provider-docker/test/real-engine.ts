// Shared by the *.real.test.ts files: a run id for the nexus.test-run label, a
// sweep that removes everything carrying it, and a precondition check that fails
// loudly when the engine or the base image is missing (real tests never skip).
import { randomUUID } from "node:crypto";
import { LABELS, silentLogger, type Op } from "@nexus/core";
import { DockerClient } from "../src/engine/client.js";
import { DEFAULT_IMAGE, resolveEndpoint } from "../src/options.js";

export const TEST_RUN = randomUUID();

export function op(timeoutMs = 120_000): Op {
  return { signal: AbortSignal.timeout(timeoutMs), log: silentLogger };
}

export function engineClient(): DockerClient {
  return new DockerClient(resolveEndpoint({}, process.env));
}

/** Throws with what to do when Docker or the base image is not there. */
export async function requireEngine(): Promise<void> {
  const client = engineClient();
  try {
    await client.apiVersion(AbortSignal.timeout(5_000));
    const image = await client.call("GET", `/images/${encodeURIComponent(DEFAULT_IMAGE)}/json`, { signal: AbortSignal.timeout(5_000), operation: "inspect image", accept: [404] });
    if (image.status === 404) throw new Error(`the base image ${DEFAULT_IMAGE} is missing: run scripts/engines/setup.sh (it imports it)`);
  } finally {
    await client.close();
  }
}

/** Force-removes every container labelled with this run's id (managed or not). */
export async function sweep(): Promise<number> {
  const client = engineClient();
  try {
    const filters = JSON.stringify({ label: [`${LABELS.testRun}=${TEST_RUN}`] });
    const containers = await client.json<Array<{ Id: string }>>("GET", "/containers/json", { query: { all: true, filters }, signal: AbortSignal.timeout(30_000), operation: "list" });
    for (const { Id } of containers) {
      await client.call("DELETE", `/containers/${Id}`, { query: { force: true, v: true }, signal: AbortSignal.timeout(30_000), operation: "remove", accept: [404, 409] });
    }
    return containers.length;
  } finally {
    await client.close();
  }
}

/** A container from the base image with only the test-run label: something list() must not report. */
export async function createDecoy(): Promise<{ id: string; remove(): Promise<void> }> {
  const client = engineClient();
  const { Id } = await client.json<{ Id: string }>("POST", "/containers/create", {
    body: { Image: DEFAULT_IMAGE, Entrypoint: ["/bin/true"], Labels: { [LABELS.testRun]: TEST_RUN } },
    signal: AbortSignal.timeout(30_000),
    operation: "create decoy",
  });
  return {
    id: Id,
    async remove() {
      try {
        await client.call("DELETE", `/containers/${Id}`, { query: { force: true }, signal: AbortSignal.timeout(30_000), operation: "remove decoy", accept: [404] });
      } finally {
        await client.close();
      }
    },
  };
}
