// Imports the built image into Incus through its REST API (no `incus` CLI) as a
// split image (metadata tarball + rootfs tarball) and points the alias at it.
// An alias already on an image with the same recipe means there is nothing to do.

import { openAsBlob } from "node:fs";
import { stat } from "node:fs/promises";
import { FormData } from "undici";
import { NexusError } from "@nexus/core";
import { DEFAULT_INCUS_SOCKET, IncusHttpError, IncusImageApi } from "./incus-api.js";
import type { ImageProgressListener } from "./progress.js";
import { BASE_IMAGE_ALIAS } from "./recipe.js";

/** Image property holding the recipe hash (also in metadata.yaml). */
export const RECIPE_PROPERTY = "nexus.recipe";

export interface IncusImportOptions {
  /** Default /var/lib/incus/unix.socket. */
  socketPath?: string;
  /** Default nexus/debian-12. */
  alias?: string;
  onProgress?: ImageProgressListener;
  signal?: AbortSignal;
}

export interface IncusImportResult {
  alias: string;
  fingerprint: string;
  /** True when the alias already pointed at this recipe's image. */
  skipped: boolean;
}

interface IncusImage {
  fingerprint: string;
  properties: Record<string, string> | null;
  aliases: { name: string }[] | null;
}

const aliasPath = (alias: string) => `/1.0/images/aliases/${encodeURIComponent(alias)}`;

async function aliasTarget(api: IncusImageApi, alias: string): Promise<string | undefined> {
  try {
    const { metadata } = await api.call<{ target: string }>("GET", aliasPath(alias));
    return metadata.target;
  } catch (error) {
    if (error instanceof IncusHttpError && error.status === 404) return undefined;
    throw error;
  }
}

async function getImage(api: IncusImageApi, fingerprint: string): Promise<IncusImage | undefined> {
  try {
    return (await api.call<IncusImage>("GET", `/1.0/images/${encodeURIComponent(fingerprint)}`)).metadata;
  } catch (error) {
    if (error instanceof IncusHttpError && error.status === 404) return undefined;
    throw error;
  }
}

/** The image the alias points at, when it was built from `recipeHash`. */
export async function findIncusBaseImage(input: {
  recipeHash: string;
  socketPath?: string;
  alias?: string;
  signal?: AbortSignal;
}): Promise<{ fingerprint: string } | undefined> {
  const api = new IncusImageApi(input.socketPath ?? DEFAULT_INCUS_SOCKET, input.signal);
  try {
    const target = await aliasTarget(api, input.alias ?? BASE_IMAGE_ALIAS);
    const image = target === undefined ? undefined : await getImage(api, target);
    return image?.properties?.[RECIPE_PROPERTY] === input.recipeHash ? { fingerprint: image.fingerprint } : undefined;
  } catch (error) {
    throw asImportError(error);
  } finally {
    await api.close();
  }
}

export async function importBaseImageToIncus(
  artifacts: { rootfsTar: string; incusMetadataTar: string; recipeHash: string },
  options: IncusImportOptions = {},
): Promise<IncusImportResult> {
  const report = options.onProgress ?? (() => {});
  const alias = options.alias ?? BASE_IMAGE_ALIAS;
  const api = new IncusImageApi(options.socketPath ?? DEFAULT_INCUS_SOCKET, options.signal);
  try {
    const previous = await aliasTarget(api, alias);
    const previousImage = previous === undefined ? undefined : await getImage(api, previous);
    if (previousImage?.properties?.[RECIPE_PROPERTY] === artifacts.recipeHash) {
      report({ step: "import", message: `incus: ${alias} is already image ${previousImage.fingerprint.slice(0, 12)}`, percent: 100 });
      return { alias, fingerprint: previousImage.fingerprint, skipped: true };
    }

    // An unaliased image from the same recipe (e.g. the alias was removed) is reused.
    const { metadata: images } = await api.call<IncusImage[]>("GET", "/1.0/images?recursion=1");
    let fingerprint = images.find((image) => image.properties?.[RECIPE_PROPERTY] === artifacts.recipeHash)?.fingerprint;
    if (fingerprint === undefined) {
      const size = (await stat(artifacts.rootfsTar)).size;
      report({ step: "import", message: `incus: uploading ${Math.round(size / 2 ** 20)} MiB`, percent: 0 });
      fingerprint = await upload(api, artifacts);
      report({ step: "import", message: `incus: imported image ${fingerprint.slice(0, 12)}`, percent: 90 });
    }

    const description = `nexus workspace base, recipe ${artifacts.recipeHash.slice(0, 12)}`;
    if (previous === undefined) {
      await api.call("POST", "/1.0/images/aliases", { name: alias, target: fingerprint, description });
    } else {
      await api.call("PUT", aliasPath(alias), { target: fingerprint, description });
    }
    // The superseded nexus image would only take space in the pool; instances
    // made from it keep their own copies.
    if (previousImage?.properties?.[RECIPE_PROPERTY] && previousImage.fingerprint !== fingerprint) {
      const { operation } = await api.call("DELETE", `/1.0/images/${previousImage.fingerprint}`);
      if (operation) await api.wait(operation);
    }
    report({ step: "import", message: `incus: ${alias} → ${fingerprint.slice(0, 12)}`, percent: 100 });
    return { alias, fingerprint, skipped: false };
  } catch (error) {
    throw asImportError(error);
  } finally {
    await api.close();
  }
}

async function upload(
  api: IncusImageApi,
  artifacts: { rootfsTar: string; incusMetadataTar: string },
): Promise<string> {
  // Incus reads the parts in this order and by these names (split image upload).
  const form = new FormData();
  form.append("metadata", await openAsBlob(artifacts.incusMetadataTar), "metadata.tar");
  form.append("rootfs", await openAsBlob(artifacts.rootfsTar), "rootfs.tar");
  const { operation } = await api.call("POST", "/1.0/images", form);
  if (!operation) throw new IncusHttpError(500, "image upload returned no operation");
  const done = await api.wait(operation);
  const fingerprint = done.metadata?.fingerprint;
  if (typeof fingerprint !== "string") throw new IncusHttpError(500, "image upload finished without a fingerprint");
  return fingerprint;
}

/** Incus API errors become provision_failed; NexusErrors and aborts pass through. */
function asImportError(error: unknown): unknown {
  if (!(error instanceof IncusHttpError)) return error;
  return new NexusError("provision_failed", `Incus image import failed: ${error.message}`, {
    details: { status: error.status },
    cause: error,
  });
}
