// The one tsup configuration every package extends: ESM, Node 22, types emitted,
// dependencies left external (npm installs them), one entry per public surface.
import { defineConfig, type Options } from "tsup";

export function nexusBuild(overrides: Partial<Options> = {}): ReturnType<typeof defineConfig> {
  return defineConfig({
    entry: ["src/index.ts"],
    format: ["esm"],
    target: "node22",
    platform: "node",
    dts: true,
    sourcemap: true,
    clean: true,
    splitting: false,
    treeshake: true,
    // Keep `node:` specifiers: node:sea, node:sqlite and node:test exist only with the prefix.
    removeNodeProtocol: false,
    outDir: "dist",
    ...overrides,
  });
}
