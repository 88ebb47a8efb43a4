import type { z } from "zod";
import type { AuthProviderInstance } from "./contracts/auth.js";
import type { PluginContext } from "./contracts/common.js";
import type { FileView, ServiceDetectorInstance, ServiceHint } from "./contracts/detector.js";
import type { EditorLauncherInstance } from "./contracts/editor.js";
import type { ProviderCapabilities, ProviderInstance } from "./contracts/provider.js";
import { NexusError } from "./errors.js";

export const PLUGIN_BRAND = Symbol.for("nexus.plugin");
export const PLUGIN_NAME_PATTERN = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

export type PluginKind = "provider" | "auth" | "editor" | "detector";

interface DescriptorBase<K extends PluginKind, O, I> {
  readonly kind: K;
  /** kebab-case, unique per kind. */
  readonly name: string;
  /** Contract version this plugin was written against. */
  readonly apiVersion: number;
  readonly description?: string;
  /** Validates the plugin's options; issues become invalid_config with paths. */
  readonly options?: z.ZodType<O>;
  /** Lazy factory: heavy imports belong here, not at module top level. */
  create(ctx: PluginContext, options: O): Promise<I> | I;
}

export interface ProviderDescriptor<O = unknown> extends DescriptorBase<"provider", O, ProviderInstance> {
  readonly capabilities: ProviderCapabilities;
}
export type AuthProviderDescriptor<O = unknown> = DescriptorBase<"auth", O, AuthProviderInstance>;
export interface EditorDescriptor<O = unknown> extends DescriptorBase<"editor", O, EditorLauncherInstance> {
  readonly displayName: string;
}
export type DetectorDescriptor<O = unknown> = DescriptorBase<"detector", O, ServiceDetectorInstance>;

export type PluginDescriptor = ProviderDescriptor<any> | AuthProviderDescriptor<any> | EditorDescriptor<any> | DetectorDescriptor<any>;

type Input<D> = Omit<D, "kind">;

function brand<D extends { name: string; kind: PluginKind }>(descriptor: D): Readonly<D> {
  if (typeof descriptor.name !== "string" || !PLUGIN_NAME_PATTERN.test(descriptor.name)) {
    throw new NexusError("invalid_config", `plugin name ${JSON.stringify(descriptor.name)} is not kebab-case`, {
      details: { kind: descriptor.kind, name: descriptor.name },
      hint: "Plugin names are lower-case words joined by '-', e.g. `my-provider`.",
    });
  }
  Object.defineProperty(descriptor, PLUGIN_BRAND, { value: true, enumerable: false });
  return Object.freeze(descriptor);
}

export function defineProvider<O = undefined>(input: Input<ProviderDescriptor<O>>): ProviderDescriptor<O> {
  return brand({ ...input, capabilities: Object.freeze({ ...input.capabilities }), kind: "provider" as const });
}

export function defineAuthProvider<O = undefined>(input: Input<AuthProviderDescriptor<O>>): AuthProviderDescriptor<O> {
  return brand({ ...input, kind: "auth" as const });
}

export function defineEditor<O = undefined>(input: Input<EditorDescriptor<O>>): EditorDescriptor<O> {
  return brand({ ...input, kind: "editor" as const });
}

/** Detectors are pure functions; pass `detect` directly, or `create` when they take options. */
export function defineDetector<O = undefined>(
  input: Omit<Input<DetectorDescriptor<O>>, "create"> & ({ create: DetectorDescriptor<O>["create"] } | { detect(files: FileView): ServiceHint[] }),
): DetectorDescriptor<O> {
  const { detect, create, ...rest } = input as typeof input & { detect?: (files: FileView) => ServiceHint[]; create?: DetectorDescriptor<O>["create"] };
  const factory: DetectorDescriptor<O>["create"] = create ?? (() => ({ detect: detect! }));
  return brand({ ...rest, create: factory, kind: "detector" as const });
}

export function isPluginDescriptor(value: unknown): value is PluginDescriptor {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[PLUGIN_BRAND] === true;
}
