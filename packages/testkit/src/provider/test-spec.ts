import { createServer } from "node:net";
import { LABELS, type ResourceLimits, type WorkspaceSpec } from "@nexus/core";

export interface TestSpecInput {
  /** Unique per workspace (the suites pass e.g. `idem-3fa2c1`): lower-case letters, digits, '-'. */
  suffix: string;
  /** The run's `nexus.test-run` label value; lets a sweep remove everything the run made. */
  testRun: string;
  sshPort: number;
  authorizedKeys: string[];
  image?: string;
  sshBindAddress?: string;
  resources?: ResourceLimits;
  labels?: Record<string, string>;
}

/** A valid WorkspaceSpec for a test resource, carrying the `nexus.test-run` label. */
export function testWorkspaceSpec(input: TestSpecInput): WorkspaceSpec {
  if (!/^[a-z0-9][a-z0-9-]{0,50}$/.test(input.suffix)) {
    throw new TypeError(`test spec suffix ${JSON.stringify(input.suffix)} must match ^[a-z0-9][a-z0-9-]{0,50}$`);
  }
  return {
    workspaceId: `ws_test_${input.suffix.replaceAll("-", "_")}`,
    name: `t-${input.suffix}`,
    sshPort: input.sshPort,
    authorizedKeys: input.authorizedKeys,
    labels: { ...input.labels, [LABELS.testRun]: input.testRun },
    ...(input.image === undefined ? {} : { image: input.image }),
    ...(input.sshBindAddress === undefined ? {} : { sshBindAddress: input.sshBindAddress }),
    ...(input.resources === undefined ? {} : { resources: input.resources }),
  };
}

function probeFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port assigned"))));
    });
  });
}

/**
 * Hands out TCP ports that are free right now and never the same one twice, so
 * parallel provisions in one run cannot collide on the SSH port.
 */
export function createPortAllocator(host = "127.0.0.1"): () => Promise<number> {
  const given = new Set<number>();
  return async () => {
    for (;;) {
      const port = await probeFreePort(host);
      if (!given.has(port)) {
        given.add(port);
        return port;
      }
    }
  };
}
