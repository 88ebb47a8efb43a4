// Imports the base image's rootfs tarball into Docker through the Engine API
// (`POST /images/create?fromSrc=-`, what `docker import` does). The image is
// tagged `<repository>:<recipe hash, 12 chars>` and `:latest`, and labelled
// `nexus.recipe=<hash>`, so a second import of the same recipe is skipped.

import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Transform } from "node:stream";
import { Agent, request, type Dispatcher } from "undici";
import { NexusError } from "@nexus/core";

export const DOCKER_BASE_IMAGE_REPOSITORY = "nexus/debian-12";
export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";
export const RECIPE_LABEL = "nexus.recipe";

/** Same shape as the lxc builder's progress events, so one listener serves both. */
export interface ImageImportProgressEvent {
  step: "import";
  message: string;
  percent?: number;
}

export interface DockerImportOptions {
  /** Default: DOCKER_HOST when it is unix://…, else /var/run/docker.sock. */
  socketPath?: string;
  /** Default nexus/debian-12. */
  repository?: string;
  onProgress?: (event: ImageImportProgressEvent) => void;
  signal?: AbortSignal;
}

export interface DockerImportResult {
  /** `<repository>:latest` */
  reference: string;
  /** `<repository>:<hash12>` */
  recipeReference: string;
  id: string;
  /** True when `:latest` was already this recipe's image. */
  skipped: boolean;
}

interface DockerImageInspect {
  Id: string;
  Config: { Labels: Record<string, string> | null } | null;
  RepoTags: string[] | null;
}

/** The Docker socket from DOCKER_HOST (unix:// only) or the default path. */
export function dockerSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST;
  if (host?.startsWith("unix://")) return host.slice("unix://".length);
  return DEFAULT_DOCKER_SOCKET;
}

/** Dockerfile instructions applied on import (the Engine API's `changes`). */
export function importChanges(recipeHash: string): string[] {
  return [
    `LABEL ${RECIPE_LABEL}=${recipeHash}`,
    'CMD ["/usr/local/sbin/nexus-sshd"]',
    "EXPOSE 22",
    "ENV LANG=C.UTF-8",
  ];
}

/** The query string of the import call: repository, tag and changes. */
export function importQuery(repository: string, recipeHash: string): URLSearchParams {
  const query = new URLSearchParams({ fromSrc: "-", repo: repository, tag: recipeHash.slice(0, 12) });
  for (const change of importChanges(recipeHash)) query.append("changes", change);
  query.set("message", `nexus base image, recipe ${recipeHash}`);
  return query;
}

class DockerHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const CONNECT_ERRORS = new Set(["ECONNREFUSED", "ENOENT", "EACCES", "ECONNRESET", "EPIPE"]);

class DockerImageApi {
  private readonly dispatcher: Agent;

  constructor(
    readonly socketPath: string,
    private readonly signal?: AbortSignal,
  ) {
    this.dispatcher = new Agent({ connect: { socketPath } });
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }

  async send(
    method: Dispatcher.HttpMethod,
    path: string,
    body?: NodeJS.ReadableStream,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; text: string }> {
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`http://docker${path}`, {
        dispatcher: this.dispatcher,
        method,
        headers,
        ...(body ? { body: body as import("node:stream").Readable } : {}),
        ...(this.signal ? { signal: this.signal } : {}),
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code;
      if (code && CONNECT_ERRORS.has(code)) {
        throw new NexusError("provider_unavailable", `Docker is not reachable on ${this.socketPath}: ${(error as Error).message}`, {
          details: { socket: this.socketPath },
          hint: "Start dockerd (scripts/engines/setup.sh) or run `nexus doctor`.",
          cause: error,
        });
      }
      throw error;
    }
    const text = await response.body.text();
    if (response.statusCode >= 400) {
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        // Docker answered with plain text; keep it as it is.
      }
      throw new DockerHttpError(response.statusCode, message.trim());
    }
    return { status: response.statusCode, text };
  }

  async inspect(reference: string): Promise<DockerImageInspect | undefined> {
    try {
      return JSON.parse((await this.send("GET", `/images/${reference}/json`)).text) as DockerImageInspect;
    } catch (error) {
      if (error instanceof DockerHttpError && error.status === 404) return undefined;
      throw error;
    }
  }

  async tag(source: string, repository: string, tag: string): Promise<void> {
    await this.send("POST", `/images/${source}/tag?${new URLSearchParams({ repo: repository, tag })}`);
  }
}

/** The `:latest` image when it was built from `recipeHash`. */
export async function findDockerBaseImage(input: {
  recipeHash: string;
  socketPath?: string;
  repository?: string;
  signal?: AbortSignal;
}): Promise<{ id: string } | undefined> {
  const api = new DockerImageApi(input.socketPath ?? dockerSocketPath(), input.signal);
  try {
    const image = await api.inspect(`${input.repository ?? DOCKER_BASE_IMAGE_REPOSITORY}:latest`);
    return image?.Config?.Labels?.[RECIPE_LABEL] === input.recipeHash ? { id: image.Id } : undefined;
  } catch (error) {
    throw asImportError(error);
  } finally {
    await api.close();
  }
}

export async function importBaseImageToDocker(
  artifacts: { rootfsTar: string; recipeHash: string },
  options: DockerImportOptions = {},
): Promise<DockerImportResult> {
  const report = options.onProgress ?? (() => {});
  const repository = options.repository ?? DOCKER_BASE_IMAGE_REPOSITORY;
  const reference = `${repository}:latest`;
  const recipeReference = `${repository}:${artifacts.recipeHash.slice(0, 12)}`;
  const api = new DockerImageApi(options.socketPath ?? dockerSocketPath(), options.signal);
  try {
    const latest = await api.inspect(reference);
    if (latest?.Config?.Labels?.[RECIPE_LABEL] === artifacts.recipeHash) {
      report({ step: "import", message: `docker: ${reference} is already ${latest.Id.slice(7, 19)}`, percent: 100 });
      return { reference, recipeReference, id: latest.Id, skipped: true };
    }

    let image = await api.inspect(recipeReference);
    if (image?.Config?.Labels?.[RECIPE_LABEL] !== artifacts.recipeHash) {
      await importRootfs(api, repository, artifacts, report);
      image = await api.inspect(recipeReference);
      if (!image) throw new DockerHttpError(500, `import finished but ${recipeReference} does not exist`);
    }
    await api.tag(image.Id, repository, "latest");
    await removeSupersededTags(api, repository, artifacts.recipeHash);
    report({ step: "import", message: `docker: ${reference} → ${image.Id.slice(7, 19)}`, percent: 100 });
    return { reference, recipeReference, id: image.Id, skipped: false };
  } catch (error) {
    throw asImportError(error);
  } finally {
    await api.close();
  }
}

async function importRootfs(
  api: DockerImageApi,
  repository: string,
  artifacts: { rootfsTar: string; recipeHash: string },
  report: NonNullable<DockerImportOptions["onProgress"]>,
): Promise<void> {
  const size = (await stat(artifacts.rootfsTar)).size;
  let sent = 0;
  let lastPercent = -1;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sent += chunk.length;
      const percent = Math.floor((90 * sent) / size);
      if (percent !== lastPercent && percent % 10 === 0) {
        lastPercent = percent;
        report({ step: "import", message: `docker: sent ${Math.round(sent / 2 ** 20)} of ${Math.round(size / 2 ** 20)} MiB`, percent });
      }
      callback(null, chunk);
    },
  });
  const { text } = await api.send(
    "POST",
    `/images/create?${importQuery(repository, artifacts.recipeHash)}`,
    createReadStream(artifacts.rootfsTar).pipe(counter),
    { "content-type": "application/x-tar" },
  );
  // The answer is a stream of JSON messages; a failure arrives as {"error": …} with status 200.
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const message = JSON.parse(line) as { error?: string };
    if (message.error) throw new DockerHttpError(500, message.error);
  }
}

/** Older recipes' tags go; an image still used by a container stays (Docker answers 409). */
async function removeSupersededTags(api: DockerImageApi, repository: string, recipeHash: string): Promise<void> {
  const filters = JSON.stringify({ reference: [repository] });
  const images = JSON.parse((await api.send("GET", `/images/json?${new URLSearchParams({ filters })}`)).text) as {
    Id: string;
    Labels: Record<string, string> | null;
    RepoTags: string[] | null;
  }[];
  for (const image of images) {
    if (image.Labels?.[RECIPE_LABEL] === recipeHash || image.Labels?.[RECIPE_LABEL] === undefined) continue;
    for (const tag of image.RepoTags ?? []) {
      try {
        await api.send("DELETE", `/images/${tag}`);
      } catch (error) {
        if (!(error instanceof DockerHttpError && error.status === 409)) throw error;
      }
    }
  }
}

/** Docker API errors become provision_failed; NexusErrors and aborts pass through. */
function asImportError(error: unknown): unknown {
  if (!(error instanceof DockerHttpError)) return error;
  return new NexusError("provision_failed", `Docker image import failed: ${error.message}`, {
    details: { status: error.status },
    cause: error,
  });
}
