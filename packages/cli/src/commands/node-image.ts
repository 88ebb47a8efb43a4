// `nexus node image build`: the workspace base image (Debian 12 via debootstrap),
// cached by recipe hash and imported into Incus and/or Docker as nexus/debian-12.
import { Option, type Command } from "commander";
import { buildBaseImage, importBaseImageToIncus, type ImageProgressEvent } from "@nexus/provider-lxc";
import { importBaseImageToDocker } from "@nexus/provider-docker";
import type { CliIO, CommandContext } from "../io.js";
import { action } from "../program.js";
import { formatDuration } from "../render.js";

export interface BuildImageOptions {
  provider: "lxc" | "docker" | "all";
  mirror?: string;
  rebuild?: boolean;
}

export interface BuildImageResult {
  recipe_hash: string;
  cached: boolean;
  rootfs: string;
  incus?: { alias: string; fingerprint: string; skipped: boolean };
  docker?: { reference: string; skipped: boolean };
  seconds: number;
}

export async function buildNodeImage(ctx: CommandContext, options: BuildImageOptions, signal?: AbortSignal): Promise<BuildImageResult> {
  const started = Date.now();
  let lastLine = "";
  const onProgress = (event: ImageProgressEvent) => {
    // One line per step and per ten percent: readable in CI logs and on a terminal alike.
    const pct = event.percent === undefined ? "" : ` ${String(Math.floor(event.percent / 10) * 10).padStart(3)}%`;
    const line = `[${event.step}]${pct} ${ctx.verbose ? event.message : event.message.slice(0, 100)}`;
    const key = `${event.step}${pct}`;
    if (ctx.verbose || key !== lastLine) ctx.warn(ctx.colors.dim(line));
    lastLine = key;
  };
  const artifacts = await buildBaseImage({ ...(options.mirror ? { mirror: options.mirror } : {}), rebuild: Boolean(options.rebuild), onProgress, ...(signal ? { signal } : {}) });
  const result: BuildImageResult = { recipe_hash: artifacts.recipeHash, cached: artifacts.cached, rootfs: artifacts.rootfsTar, seconds: 0 };
  if (options.provider !== "docker") {
    const incus = await importBaseImageToIncus(artifacts, { onProgress, ...(signal ? { signal } : {}) });
    result.incus = { alias: incus.alias, fingerprint: incus.fingerprint, skipped: incus.skipped };
  }
  if (options.provider !== "lxc") {
    const docker = await importBaseImageToDocker({ rootfsTar: artifacts.rootfsTar, recipeHash: artifacts.recipeHash }, { onProgress, ...(signal ? { signal } : {}) });
    result.docker = { reference: docker.reference, skipped: docker.skipped };
  }
  result.seconds = Math.round((Date.now() - started) / 100) / 10;
  const where = [result.incus && `Incus (${result.incus.alias}${result.incus.skipped ? ", already current" : ""})`, result.docker && `Docker (${result.docker.reference}${result.docker.skipped ? ", already current" : ""})`].filter(Boolean).join(" and ");
  ctx.say(`${ctx.colors.green("✓")} base image ${artifacts.recipeHash.slice(0, 12)} ${artifacts.cached ? "reused from cache" : "built"} and ready in ${where} — ${formatDuration(Date.now() - started)}`);
  ctx.result(result);
  return result;
}

/** Adds `image build` under the `node` command. */
export function registerImageCommands(node: Command, io: CliIO): void {
  const image = node.command("image").description("the workspace base image");
  action(
    image
      .command("build")
      .description("build the Debian 12 base image with debootstrap and import it (cached by recipe; needs root)")
      .addOption(new Option("--provider <name>", "engine to import into").choices(["lxc", "docker", "all"]).default("lxc"))
      .option("--mirror <url>", "Debian mirror (default: the host's apt mirror)")
      .option("--rebuild", "ignore the cache and build again")
      .addHelpText("after", "\nExamples:\n  $ sudo nexus node image build\n  $ sudo nexus node image build --provider all --mirror http://deb.debian.org/debian"),
    io,
    async (ctx, opts: BuildImageOptions) => {
      await buildNodeImage(ctx, opts);
    },
  );
}
