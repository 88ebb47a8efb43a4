import assert from "node:assert/strict";
import { PLUGIN_API_VERSION, PLUGIN_NAME_PATTERN, PluginRegistry, isPluginDescriptor, type PluginDescriptor, type PluginKind } from "@nexus/core";

/** What every plugin kind must satisfy before the registry will take it. */
export function assertDescriptor(descriptor: PluginDescriptor, kind: PluginKind, options: unknown): void {
  assert.ok(isPluginDescriptor(descriptor), "descriptor is not branded: create it with the matching define* helper from @nexus/core");
  assert.equal(descriptor.kind, kind, `descriptor kind is "${descriptor.kind}", expected "${kind}"`);
  assert.ok(PLUGIN_NAME_PATTERN.test(descriptor.name), `name ${JSON.stringify(descriptor.name)} is not kebab-case`);
  assert.equal(descriptor.apiVersion, PLUGIN_API_VERSION, `apiVersion is ${descriptor.apiVersion}, this nexus speaks ${PLUGIN_API_VERSION}`);
  assert.ok(Object.isFrozen(descriptor), "descriptor is not frozen (define* freezes it; do not copy it into a new object)");
  assert.equal(typeof descriptor.create, "function", "descriptor.create is not a function");
  if (descriptor.description !== undefined) assert.equal(typeof descriptor.description, "string", "description is not a string");
  if (descriptor.options) {
    const parsed = descriptor.options.safeParse(options ?? {});
    assert.ok(parsed.success, `options schema rejects the given options: ${parsed.success ? "" : JSON.stringify(parsed.error.issues)}`);
  } else {
    assert.ok(options === undefined, "options were given but the descriptor declares no options schema");
  }
  // The registry is the real entry point: it must accept the plugin with these options.
  new PluginRegistry().register([descriptor, options]);
}

/** Parses options the way the registry does, so instances get what they would get at runtime. */
export function parseOptions(descriptor: PluginDescriptor, options: unknown): unknown {
  return descriptor.options ? descriptor.options.parse(options ?? {}) : options;
}
