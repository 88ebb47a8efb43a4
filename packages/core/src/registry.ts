import type { PluginContext } from "./contracts/common.js";
import { PLUGIN_API_VERSION } from "./contracts/common.js";
import {
  isPluginDescriptor,
  type AuthProviderDescriptor,
  type DetectorDescriptor,
  type EditorDescriptor,
  type PluginDescriptor,
  type PluginKind,
  type ProviderDescriptor,
} from "./define.js";
import { NexusError, isNexusError, toNexusError } from "./errors.js";
import type { AuthProviderInstance } from "./contracts/auth.js";
import type { ServiceDetectorInstance } from "./contracts/detector.js";
import type { EditorLauncherInstance } from "./contracts/editor.js";
import type { ProviderInstance } from "./contracts/provider.js";
import { zodIssuesToDetails } from "./zod-issues.js";

/** A plugin given in code: the descriptor, or the descriptor with its options. */
export type PluginInput = PluginDescriptor | readonly [PluginDescriptor, unknown] | { plugin: PluginDescriptor; options?: unknown };
/** A plugin declared in config by package name: `"pkg"` or `["pkg", { …options }]`. */
export type PluginSpec = string | readonly [string, unknown];

export interface LoadFailure {
  spec: string;
  error: NexusError;
}

interface Registered {
  descriptor: PluginDescriptor;
  options: unknown;
  instance?: Promise<unknown>;
}

type InstanceOf<K extends PluginKind> = K extends "provider" ? ProviderInstance
  : K extends "auth" ? AuthProviderInstance
  : K extends "editor" ? EditorLauncherInstance
  : ServiceDetectorInstance;
type DescriptorOf<K extends PluginKind> = K extends "provider" ? ProviderDescriptor
  : K extends "auth" ? AuthProviderDescriptor
  : K extends "editor" ? EditorDescriptor
  : DetectorDescriptor;

/** Third-party packages must be named so; first-party ones live under @nexus/. */
const PACKAGE_NAME = /^(?:@nexus\/[a-z0-9-]+|(?:@[a-z0-9-~][a-z0-9-._~]*\/)?nexus-(?:provider|editor|detector|auth)-[a-z0-9-._~]+)$/;

export interface RegistryOptions {
  /** How a package name becomes a module; defaults to dynamic import(). */
  importer?: (specifier: string) => Promise<unknown>;
}

export class PluginRegistry {
  readonly #plugins = new Map<string, Registered>();
  readonly #failures: LoadFailure[] = [];
  readonly #importer: (specifier: string) => Promise<unknown>;

  constructor(options: RegistryOptions = {}) {
    this.#importer = options.importer ?? ((specifier) => import(specifier));
  }

  /** Registers a plugin given in code; throws invalid_config at once on a bad plugin. */
  register(input: PluginInput): PluginDescriptor {
    const [descriptor, rawOptions] = Array.isArray(input)
      ? [input[0], input[1]]
      : isPluginDescriptor(input) ? [input, undefined] : [(input as { plugin: PluginDescriptor }).plugin, (input as { options?: unknown }).options];
    if (!isPluginDescriptor(descriptor)) {
      throw new NexusError("invalid_config", "not a nexus plugin: use defineProvider/defineAuthProvider/defineEditor/defineDetector", {
        details: { got: typeof descriptor },
      });
    }
    if (descriptor.apiVersion !== PLUGIN_API_VERSION) {
      throw new NexusError("invalid_config", `${descriptor.kind} plugin "${descriptor.name}" targets plugin API v${descriptor.apiVersion}; this nexus supports v${PLUGIN_API_VERSION}`, {
        details: { kind: descriptor.kind, name: descriptor.name, apiVersion: descriptor.apiVersion, supported: PLUGIN_API_VERSION },
        hint: "Upgrade the plugin or nexus so that both speak the same plugin API version.",
      });
    }
    const key = `${descriptor.kind}:${descriptor.name}`;
    if (this.#plugins.has(key)) {
      throw new NexusError("invalid_config", `${descriptor.kind} plugin "${descriptor.name}" is registered twice`, { details: { kind: descriptor.kind, name: descriptor.name } });
    }
    let options = rawOptions;
    if (descriptor.options) {
      const parsed = descriptor.options.safeParse(rawOptions ?? {});
      if (!parsed.success) {
        throw new NexusError("invalid_config", `invalid options for ${descriptor.kind} plugin "${descriptor.name}"`, {
          details: { kind: descriptor.kind, name: descriptor.name, issues: zodIssuesToDetails(parsed.error.issues) },
        });
      }
      options = parsed.data;
    }
    this.#plugins.set(key, { descriptor, options });
    return descriptor;
  }

  /**
   * Loads plugins declared by package name. A failure is recorded (see failures())
   * and does not stop the others, so one broken plugin never breaks unrelated commands.
   */
  async load(specs: readonly PluginSpec[]): Promise<void> {
    for (const spec of specs) {
      const [name, options] = typeof spec === "string" ? [spec, undefined] : [spec[0], spec[1]];
      try {
        if (typeof name !== "string" || !PACKAGE_NAME.test(name)) {
          throw new NexusError("invalid_config", `plugin package ${JSON.stringify(name)} is not a nexus plugin name`, {
            hint: "Plugin packages are named @nexus/*, nexus-provider-*, nexus-editor-*, nexus-detector-* or nexus-auth-*.",
          });
        }
        let mod: unknown;
        try {
          mod = await this.#importer(name);
        } catch (cause) {
          const missing = (cause as { code?: unknown }).code === "ERR_MODULE_NOT_FOUND" || (cause as { code?: unknown }).code === "MODULE_NOT_FOUND";
          throw new NexusError("invalid_config", `plugin package "${name}" could not be loaded: ${(cause as Error).message}`, {
            cause,
            // not_installed: the package (or one of its dependencies) is not there; import_failed: it threw.
            details: { plugin: name, reason: missing ? "not_installed" : "import_failed" },
            hint: `Install it next to nexus (npm i ${name}) or remove it from the config.`,
          });
        }
        const descriptor = (mod as { default?: unknown }).default ?? mod;
        if (!isPluginDescriptor(descriptor)) {
          throw new NexusError("invalid_config", `plugin package "${name}" has no plugin as its default export`);
        }
        this.register([descriptor, options]);
      } catch (error) {
        const wrapped = isNexusError(error) ? error : toNexusError(error, { plugin: String(name) });
        this.#failures.push({ spec: String(name), error: wrapped });
      }
    }
  }

  failures(): readonly LoadFailure[] {
    return this.#failures;
  }

  list<K extends PluginKind>(kind: K): DescriptorOf<K>[] {
    return [...this.#plugins.values()].map((p) => p.descriptor).filter((d) => d.kind === kind) as DescriptorOf<K>[];
  }

  has(kind: PluginKind, name: string): boolean {
    return this.#plugins.has(`${kind}:${name}`);
  }

  get<K extends PluginKind>(kind: K, name: string): DescriptorOf<K> {
    const entry = this.#plugins.get(`${kind}:${name}`);
    if (!entry) {
      const known = this.list(kind).map((d) => d.name);
      const failed = this.#failures.find((f) => f.spec.endsWith(name));
      throw new NexusError(kind === "provider" ? "provider_unavailable" : "invalid_config", `no ${kind} plugin named "${name}"${failed ? ` (loading it failed: ${failed.error.message})` : ""}`, {
        details: { kind, name, available: known },
        hint: known.length ? `Available: ${known.join(", ")}.` : `No ${kind} plugins are registered.`,
      });
    }
    return entry.descriptor as DescriptorOf<K>;
  }

  /** Creates (once) and returns the plugin's instance. */
  async instance<K extends PluginKind>(kind: K, name: string, ctx: PluginContext): Promise<InstanceOf<K>> {
    const descriptor = this.get(kind, name);
    const entry = this.#plugins.get(`${kind}:${name}`)!;
    entry.instance ??= Promise.resolve()
      .then(() => (descriptor.create as (c: PluginContext, o: unknown) => unknown)({ ...ctx, log: ctx.log.child({ plugin: `${kind}:${name}` }) }, entry.options))
      .catch((error: unknown) => {
        entry.instance = undefined;
        throw toNexusError(error, { plugin: `${kind}:${name}` });
      });
    return entry.instance as Promise<InstanceOf<K>>;
  }

  /** Disposes every created provider/auth instance. */
  async dispose(): Promise<void> {
    const pending = [...this.#plugins.values()].filter((p) => p.instance).map(async (p) => {
      const instance = (await p.instance!.catch(() => undefined)) as { dispose?: () => Promise<void> } | undefined;
      p.instance = undefined;
      await instance?.dispose?.();
    });
    await Promise.allSettled(pending);
  }
}

export interface NexusPlugins {
  providers?: readonly PluginInput[];
  auth?: readonly PluginInput[];
  editors?: readonly PluginInput[];
  detectors?: readonly PluginInput[];
  importer?: RegistryOptions["importer"];
}

/** A registry with the given plugins registered: `createNexus({ providers: [lxc()] })`. */
export function createNexus(plugins: NexusPlugins = {}): PluginRegistry {
  const registry = new PluginRegistry({ importer: plugins.importer });
  for (const input of [...(plugins.providers ?? []), ...(plugins.auth ?? []), ...(plugins.editors ?? []), ...(plugins.detectors ?? [])]) {
    registry.register(input);
  }
  return registry;
}
