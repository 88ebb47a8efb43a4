// Detector conformance: detect() is a pure function over a read-only file view, and
// every hint it returns is something the config generator can use and show.
import assert from "node:assert/strict";
import { silentLogger, type DetectorDescriptor, type PluginContext, type ServiceDetectorInstance, type ServiceHint } from "@nexus/core";
import type { ConformanceCase } from "../case.js";
import { assertDescriptor, parseOptions } from "../descriptor-checks.js";
import { createFileView, type FileTreeRecord } from "./file-view.js";

export interface DetectorFixture {
  /** Shown in the case name. */
  name: string;
  files: FileTreeRecord;
  /** Whether the detector must find something here (default true). */
  expectHints?: boolean;
}

export interface DetectorConformanceSetup {
  descriptor: DetectorDescriptor<any>;
  options?: unknown;
  /** Repositories the detector should recognise (and, with expectHints: false, ones it should not). */
  fixtures: DetectorFixture[];
  context?: Partial<PluginContext>;
}

/** Service names the config accepts (they become YAML keys and log/unit names). */
export const SERVICE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function assertStringList(value: unknown, what: string): void {
  assert.ok(Array.isArray(value) && value.every((s) => typeof s === "string" && s.trim() !== ""), `${what} must be a list of non-empty strings`);
}

function assertEnv(value: unknown, what: string): void {
  assert.ok(typeof value === "object" && value !== null, `${what} must be an object`);
  for (const [key, v] of Object.entries(value)) {
    assert.ok(ENV_NAME.test(key), `${what}: ${JSON.stringify(key)} is not a valid variable name`);
    assert.equal(typeof v, "string", `${what}.${key} must be a string`);
  }
}

/** Checks one hint; `where` prefixes every message. */
export function assertServiceHint(hint: ServiceHint, detectorName: string, where: string): void {
  assert.equal(hint.detector, detectorName, `${where}: hint.detector is "${hint.detector}", expected "${detectorName}"`);
  assert.ok(typeof hint.reason === "string" && hint.reason.trim() !== "", `${where}: hint has no reason (users are shown why it was guessed)`);
  assert.ok(
    typeof hint.dir === "string" && (hint.dir === "." || (!hint.dir.startsWith("/") && !hint.dir.endsWith("/") && !hint.dir.includes("\\") && !hint.dir.split("/").some((s) => s === "" || s === "." || s === ".."))),
    `${where}: hint.dir ${JSON.stringify(hint.dir)} is not "." or a relative POSIX path inside the repo`,
  );
  if (hint.setup !== undefined) assertStringList(hint.setup, `${where}: hint.setup`);
  if (hint.post_start !== undefined) assertStringList(hint.post_start, `${where}: hint.post_start`);
  if (hint.env !== undefined) assertEnv(hint.env, `${where}: hint.env`);
  const service = hint.service;
  if (service === undefined) return;
  assert.ok(SERVICE_NAME.test(service.name), `${where}: service name ${JSON.stringify(service.name)} does not match ${SERVICE_NAME}`);
  assert.ok(typeof service.command === "string" && service.command.trim() !== "", `${where}: service ${service.name} has no command`);
  if (service.port !== undefined) {
    assert.ok(Number.isInteger(service.port) && service.port >= 1 && service.port <= 65535, `${where}: service ${service.name} port ${service.port} is not 1-65535`);
  }
  if (service.depends_on !== undefined) assertStringList(service.depends_on, `${where}: service ${service.name} depends_on`);
  if (service.env !== undefined) assertEnv(service.env, `${where}: service ${service.name} env`);
  if (service.health_check !== undefined) {
    assert.ok(["http", "tcp", "exec"].includes(service.health_check.type), `${where}: unknown health_check type ${JSON.stringify(service.health_check.type)}`);
    if (service.health_check.type === "http") assert.ok(service.health_check.path.startsWith("/"), `${where}: http health_check path must start with "/"`);
    if (service.health_check.type === "exec") assert.ok(service.health_check.command.trim() !== "", `${where}: exec health_check has no command`);
  }
}

export function detectorConformanceCases(setup: DetectorConformanceSetup): ConformanceCase[] {
  const { descriptor } = setup;
  const instance = async (): Promise<ServiceDetectorInstance> => {
    const created = await descriptor.create({ env: {}, dataDir: "", log: silentLogger, ...setup.context }, parseOptions(descriptor, setup.options));
    assert.equal(typeof created?.detect, "function", "create() did not return an instance with detect()");
    return created;
  };
  const detect = (detector: ServiceDetectorInstance, files: FileTreeRecord, what: string): ServiceHint[] => {
    let hints: ServiceHint[];
    try {
      hints = detector.detect(createFileView(files));
    } catch (error) {
      assert.fail(`${what}: detect() threw: ${String(error)}`);
    }
    assert.ok(Array.isArray(hints), `${what}: detect() did not return an array`);
    return hints;
  };

  return [
    {
      id: "descriptor",
      name: "descriptor: branded, kebab-case name, plugin API v1, options accepted",
      async run() {
        assertDescriptor(descriptor, "detector", setup.options);
        await instance();
      },
    },
    {
      id: "empty-repository",
      name: "detect: an empty repository gives [] without throwing",
      async run() {
        assert.deepEqual(detect(await instance(), {}, "empty repository"), [], "detect() guessed services in an empty repository");
      },
    },
    {
      id: "fixtures-given",
      name: "setup: at least one fixture the detector recognises",
      async run() {
        assert.ok(setup.fixtures.some((f) => f.expectHints !== false), "give at least one fixture with expectHints (the default) so the suite exercises real hints");
      },
    },
    ...setup.fixtures.flatMap((fixture): ConformanceCase[] => [
      {
        id: `pure:${fixture.name}`,
        name: `detect is pure on "${fixture.name}": same input gives deep-equal output; the file view is not modified`,
        async run() {
          // The view is frozen: a detector that patches or writes to it throws, which fails the case.
          const files = fixture.files;
          const detector = await instance();
          const first = detect(detector, files, fixture.name);
          const snapshot = structuredClone(first);
          const second = detect(detector, files, fixture.name);
          assert.deepEqual(second, snapshot, "a second detect() on the same files returned something else");
          assert.deepEqual(first, snapshot, "the second detect() changed the hints the first one returned (shared mutable state)");
          assert.deepEqual(detect(await instance(), files, fixture.name), snapshot, "another instance returned other hints for the same files");
        },
      },
      {
        id: `hints:${fixture.name}`,
        name: `hints on "${fixture.name}" are well-formed: reason, relative dir, valid service name and port`,
        async run() {
          const hints = detect(await instance(), fixture.files, fixture.name);
          if (fixture.expectHints === false) assert.deepEqual(hints, [], `detect() guessed services in "${fixture.name}", which it must not recognise`);
          else assert.ok(hints.length > 0, `detect() found nothing in "${fixture.name}"`);
          hints.forEach((hint, index) => assertServiceHint(hint, descriptor.name, `${fixture.name} hint ${index}`));
        },
      },
    ]),
  ];
}
