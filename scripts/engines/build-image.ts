// Builds the nexus base image and imports it into Incus and/or Docker.
//   node --conditions=nexus-source --import=tsx scripts/engines/build-image.ts \
//     --provider lxc|docker|all [--mirror URL] [--cache-dir DIR] [--rebuild]
// Prints progress on stderr and one JSON summary on stdout. Run as root.

import { parseArgs } from "node:util";
import { isNexusError } from "@nexus/core";
import { buildBaseImage, importBaseImageToIncus, type ImageProgressEvent } from "../../packages/provider-lxc/src/image/index.js";
import { importBaseImageToDocker } from "../../packages/provider-docker/src/image/index.js";

const { values } = parseArgs({
  options: {
    provider: { type: "string", default: "all" },
    mirror: { type: "string" },
    "cache-dir": { type: "string" },
    rebuild: { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
  },
});

const provider = values.provider;
if (provider !== "lxc" && provider !== "docker" && provider !== "all") {
  process.stderr.write(`--provider must be lxc, docker or all (got ${provider})\n`);
  process.exit(2);
}

let lastStep = "";
let lastPercent = -1;
function onProgress(event: ImageProgressEvent): void {
  // Step changes and whole-ten percentages always; every line only with --verbose.
  const percent = event.percent === undefined ? undefined : Math.floor(event.percent / 10) * 10;
  if (values.verbose || event.step !== lastStep || (percent !== undefined && percent !== lastPercent)) {
    const pct = event.percent === undefined ? "" : ` ${String(Math.round(event.percent)).padStart(3)}%`;
    process.stderr.write(`[${event.step}]${pct} ${event.message}\n`);
  }
  lastStep = event.step;
  if (percent !== undefined) lastPercent = percent;
}

try {
  const started = Date.now();
  const artifacts = await buildBaseImage({
    ...(values.mirror !== undefined ? { mirror: values.mirror } : {}),
    ...(values["cache-dir"] !== undefined ? { cacheDir: values["cache-dir"] } : {}),
    rebuild: values.rebuild,
    onProgress,
  });
  const summary: Record<string, unknown> = {
    recipeHash: artifacts.recipeHash,
    cached: artifacts.cached,
    rootfsTar: artifacts.rootfsTar,
  };
  if (provider === "lxc" || provider === "all") {
    summary.incus = await importBaseImageToIncus(artifacts, { onProgress });
  }
  if (provider === "docker" || provider === "all") {
    summary.docker = await importBaseImageToDocker(
      { rootfsTar: artifacts.rootfsTar, recipeHash: artifacts.recipeHash },
      { onProgress },
    );
  }
  summary.seconds = Math.round((Date.now() - started) / 100) / 10;
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
} catch (error) {
  if (isNexusError(error)) {
    process.stderr.write(`error: ${error.code}: ${error.message}\n`);
    if (Object.keys(error.details).length > 0) process.stderr.write(`${JSON.stringify(error.details, null, 2)}\n`);
    if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
    process.exit(error.exitCode);
  }
  throw error;
}
