import t from "tap";
import { isNexusError, type NexusError } from "../../src/errors.js";
import { parseProjectConfig, projectConfigSchema, type ConfigIssue, type ProjectConfig } from "../../src/config/index.js";

/** Parses text that must be invalid; returns the error and its issues. */
function failure(text: string, file?: string): { error: NexusError; errors: ConfigIssue[] } {
  try {
    parseProjectConfig(text, file === undefined ? {} : { file });
  } catch (error) {
    if (!isNexusError(error)) throw error;
    return { error, errors: error.details.errors as ConfigIssue[] };
  }
  throw new Error("expected the config to be rejected");
}

const SPEC_EXAMPLE = `version: 1
name: my-project
provider: lxc                 # optional; lxc | docker | third-party name
image: nexus/debian-12        # optional; provider-specific image reference (default: the base image)
resources: { cpu: 2, memory: 4GiB, disk: 20GiB }
env: { NODE_ENV: development }
lifecycle:                    # shell scripts run as \`dev\` in the repo dir
  setup: npm ci               # once, after clone
  pre_start: ""               # every start, before services
  post_start: ""
  pre_stop: ""
services:
  db:
    command: postgres -D /home/dev/pgdata
    port: 5432
    expose: false             # not forwarded to the user's machine
    health_check: { type: tcp }
  api:
    command: npm run server
    port: 4000
    depends_on: [db]          # start after db is healthy
    env: { DATABASE_URL: postgres://localhost/dev }
    health_check: { type: http, path: /health, interval: 2s, timeout: 5s, retries: 30, start_period: 0s }
    restart: on-failure       # on-failure | always | never
  web:
    command: npm run dev
    port: 3000
    depends_on: [api]
`;

t.test("the SPEC §4 example parses to the normalised config without warnings", async (t) => {
  const { config, warnings } = parseProjectConfig(SPEC_EXAMPLE);
  t.same(warnings, []);
  const timing = { interval: 2000, timeout: 5000, retries: 30, start_period: 0 };
  const expected: ProjectConfig = {
    version: 1,
    name: "my-project",
    provider: "lxc",
    image: "nexus/debian-12",
    resources: { cpu: 2, memory: 4 * 2 ** 30, disk: 20 * 2 ** 30 },
    env: { NODE_ENV: "development" },
    lifecycle: { setup: "npm ci" },
    services: {
      db: {
        name: "db",
        command: "postgres -D /home/dev/pgdata",
        port: 5432,
        expose: false,
        depends_on: [],
        env: {},
        health_check: { type: "tcp", port: 5432, ...timing },
        restart: "on-failure",
      },
      api: {
        name: "api",
        command: "npm run server",
        port: 4000,
        expose: true,
        depends_on: ["db"],
        env: { DATABASE_URL: "postgres://localhost/dev" },
        health_check: { type: "http", port: 4000, path: "/health", ...timing },
        restart: "on-failure",
      },
      web: {
        name: "web",
        command: "npm run dev",
        port: 3000,
        expose: true,
        depends_on: ["api"],
        env: {},
        health_check: { type: "tcp", port: 3000, ...timing },
        restart: "on-failure",
      },
    },
    plugins: { providers: [], editors: [], detectors: [] },
  };
  t.same(config, expected);
  t.same(Object.keys(config.services), ["db", "api", "web"], "services keep file order");
});

t.test("defaults: version 1, tcp check with a port, process check without, expose true, restart on-failure", async (t) => {
  const { config } = parseProjectConfig("services:\n  api: { command: node server.js, port: 8080 }\n  worker: { command: node worker.js }\n");
  t.equal(config.version, 1);
  t.same(config.services.api!.health_check, { type: "tcp", port: 8080, interval: 2000, timeout: 5000, retries: 30, start_period: 0 });
  t.same(config.services.worker!.health_check, { type: "process", interval: 2000, timeout: 5000, retries: 30, start_period: 0 });
  t.equal(config.services.worker!.expose, true);
  t.equal(config.services.worker!.restart, "on-failure");
  t.notOk("port" in config.services.worker!);
  t.same(config.resources, {});
  t.same(config.lifecycle, {});
});

t.test("health check forms: http path defaults to /, type inferred from path or command, own port, durations", async (t) => {
  const { config } = parseProjectConfig(`services:
  a: { command: x, port: 3000, health_check: { type: http } }
  b: { command: x, port: 3001, health_check: { path: /ready, interval: 500ms, timeout: 1m30s, retries: 3, start_period: 10 } }
  c: { command: x, health_check: { command: "pg_isready -q" } }
  d: { command: x, health_check: { type: tcp, port: 6379 } }
  e: { command: x, port: 9000, health_check: { type: process } }
  f: { command: x, port: 9001, health_check: { timeout: 10s } }
`);
  const s = config.services;
  t.match(s.a!.health_check, { type: "http", port: 3000, path: "/" });
  t.same(s.b!.health_check, { type: "http", port: 3001, path: "/ready", interval: 500, timeout: 90_000, retries: 3, start_period: 10_000 });
  t.match(s.c!.health_check, { type: "exec", command: "pg_isready -q" });
  t.match(s.d!.health_check, { type: "tcp", port: 6379 });
  t.same(s.e!.health_check.type, "process");
  t.match(s.f!.health_check, { type: "tcp", port: 9001, timeout: 10_000 });
});

t.test("env values are converted to strings; lifecycle lists become one script; plugins keep their options", async (t) => {
  const { config } = parseProjectConfig(`env: { PORT: 3000, DEBUG: true, NAME: x }
lifecycle:
  setup: [npm ci, npm run build]
  post_start: |
    echo ready
plugins:
  providers: [nexus-provider-fly, ["@acme/nexus-provider-k8s", { context: dev }]]
  editors: [nexus-editor-helix]
`);
  t.same(config.env, { PORT: "3000", DEBUG: "true", NAME: "x" });
  t.same(config.lifecycle, { setup: "npm ci\nnpm run build", post_start: "echo ready" });
  t.same(config.plugins, {
    providers: ["nexus-provider-fly", ["@acme/nexus-provider-k8s", { context: "dev" }]],
    editors: ["nexus-editor-helix"],
    detectors: [],
  });
});

t.test("top-level providers/editors/detectors lists are shorthands for plugins:", async (t) => {
  const { config, warnings } = parseProjectConfig(`plugins: { providers: [nexus-provider-a] }
providers: ["@nexus/provider-lxc", [nexus-provider-foo, { region: eu }]]
editors: [nexus-editor-b]
detectors: [nexus-detector-c]
`);
  t.same(warnings, []);
  t.same(config.plugins, {
    providers: ["nexus-provider-a", "@nexus/provider-lxc", ["nexus-provider-foo", { region: "eu" }]],
    editors: ["nexus-editor-b"],
    detectors: ["nexus-detector-c"],
  });
  t.notOk("provider" in config);
  t.throws(() => parseProjectConfig("providers: [Not A Package]\n"), { message: /^\.nexus\/config\.yaml:1:13: providers\[0\]: "Not A Package" is not an npm package name/ });
  t.throws(() => parseProjectConfig("plugins: { editors: [[x, y]] }\n"), { message: /plugins\.editors\[0\]\[1\]: /m });
});

t.test("a depends_on cycle between api and web names both services at the depends_on entry", async (t) => {
  const { error, errors } = failure(`version: 1
services:
  api:
    command: npm run server
    port: 4000
    depends_on: [web]
  web:
    command: npm run dev
    port: 3000
    depends_on: [api]
`);
  t.equal(error.code, "invalid_config");
  t.equal(error.message, '.nexus/config.yaml:6:18: services.api.depends_on: dependency cycle api -> web -> api: services "api", "web" wait for each other, so none can start');
  t.same(errors, [
    {
      path: "services.api.depends_on",
      message: 'dependency cycle api -> web -> api: services "api", "web" wait for each other, so none can start',
      line: 6,
      column: 18,
      service: "api",
    },
  ]);
  t.equal(error.details.file, ".nexus/config.yaml");
});

t.test("a 3-cycle in block style names the whole cycle", async (t) => {
  const { error } = failure(`services:
  web:
    command: a
    depends_on:
      - api
  db:
    command: c
    depends_on:
      - web
  api:
    command: b
    depends_on:
      - db
`);
  t.match(error.message, /^\.nexus\/config\.yaml:13:9: services\.api\.depends_on: dependency cycle api -> db -> web -> api/);
});

t.test("an unknown depends_on target names the service and the target at its list entry", async (t) => {
  const { error, errors } = failure(`services:
  web:
    command: npm run dev
    depends_on: [api, cache]
  api:
    command: npm run server
`);
  t.same(errors, [
    { path: "services.web.depends_on", message: 'service "web" depends on "cache", which is not a defined service', line: 4, column: 23, service: "web" },
  ]);
  t.match(error.message, /^\.nexus\/config\.yaml:4:23: services\.web\.depends_on: service "web" depends on "cache"/);
});

t.test("duplicate ports name both services at the second port", async (t) => {
  const { errors } = failure(`services:
  api: { command: a, port: 3000 }
  web:
    command: b
    port: 3000
`);
  t.same(errors, [{ path: "services.web.port", message: 'services "api" and "web" both use port 3000', line: 5, column: 11, service: "web" }]);
});

t.test("bad values: ports out of range, unknown restart policy, names, version, port 22", async (t) => {
  const { error, errors } = failure(`version: 2
name: My Project
services:
  neg: { command: a, port: -1 }
  big: { command: b, port: 65536 }
  frac: { command: c, port: 80.5 }
  ssh: { command: d, port: 22 }
  flaky:
    command: e
    restart: sometimes
  Bad_Name: { command: f }
`);
  t.same(
    errors.map((e) => [e.line, e.column, e.path, e.service]),
    [
      [1, 10, "version", undefined],
      [2, 7, "name", undefined],
      [4, 28, "services.neg.port", "neg"],
      [5, 28, "services.big.port", "big"],
      [6, 29, "services.frac.port", "frac"],
      [7, 28, "services.ssh.port", "ssh"],
      [10, 14, "services.flaky.restart", "flaky"],
      [11, 3, "services.Bad_Name", "Bad_Name"],
    ],
  );
  t.match(errors[0]!.message, "unsupported config version 2: this nexus reads version 1");
  t.match(errors[2]!.message, "port must be a whole number from 1 to 65535, got -1");
  t.match(errors[3]!.message, "got 65536");
  t.match(errors[5]!.message, "port 22 belongs to the workspace's SSH server");
  t.match(errors[6]!.message, 'restart must be on-failure, always or never, got "sometimes"');
  t.match(errors[7]!.message, /"Bad_Name" is not a valid service name: use 1 to 63 characters: lowercase letters, digits, '-' and '_'/);
  // One line per error, each with file:line:column.
  t.equal(error.message.split("\n").length, 8);
  for (const line of error.message.split("\n")) t.match(line, /^\.nexus\/config\.yaml:\d+:\d+: /);
});

t.test("missing and mistyped fields point at the service or the value", async (t) => {
  const { errors } = failure(`services:
  api:
    port: 3000
  web:
    command: ""
  cron:
    command: x
    depends_on: db
    env: { 1BAD: x, OK: [1] }
    expose: "yes"
`);
  t.same(
    errors.map((e) => [e.line, e.column, e.path]),
    [
      [2, 3, "services.api.command"],
      [5, 14, "services.web.command"],
      [8, 17, "services.cron.depends_on"],
      [9, 12, "services.cron.env.1BAD"],
      [9, 25, "services.cron.env.OK"],
      [10, 13, "services.cron.expose"],
    ],
  );
  t.match(errors[1]!.message, "a command must not be empty");
  t.match(errors[2]!.message, 'depends_on must be a list of service names such as [db], got "db"');
  t.match(errors[3]!.message, '"1BAD" is not a valid environment variable name');
});

t.test("health_check: unknown keys and fields of another type are errors; http and tcp need a port", async (t) => {
  const { errors } = failure(`services:
  a:
    command: x
    port: 80
    health_check: { type: http, paht: /health }
  b:
    command: x
    port: 81
    health_check: { type: tcp, path: /health }
  c:
    command: x
    health_check: { type: http, path: /health }
  d:
    command: x
    health_check: { type: exec }
  e:
    command: x
    health_check: { type: ping }
  f:
    command: x
    port: 82
    health_check: { path: /x, interval: 3x, retries: 0, timeout: 0 }
  g:
    command: x
    health_check: 5
`);
  t.same(
    errors.map((e) => [e.line, e.column, e.path, e.service, e.message]),
    [
      [5, 33, "services.a.health_check.paht", "a", 'unknown key "paht" in services.a.health_check'],
      [9, 38, "services.b.health_check.path", "b", "path only applies to http checks, but this check is tcp"],
      [12, 19, "services.c.health_check", "c", "an http health check needs a port: set the service's port (or health_check.port)"],
      [15, 27, "services.d.health_check.type", "d", "an exec check needs a command"],
      [18, 27, "services.e.health_check.type", "e", 'health_check.type must be http, tcp, exec or process, got "ping"'],
      [22, 41, "services.f.health_check.interval", "f", '"3x" is not a valid duration: a duration is a number of seconds (10) or a number with a unit (500ms, 10s, 2m, 1h, 1m30s)'],
      [22, 54, "services.f.health_check.retries", "f", "retries must be a whole number of at least 1, got 0"],
      [22, 66, "services.f.health_check.timeout", "f", "timeout must be longer than 0"],
      [25, 19, "services.g.health_check", "g", "health_check must be a mapping such as { type: http, path: /health }, got 5"],
    ],
  );
});

t.test("resources: sizes and cpu are checked where they are written", async (t) => {
  const { errors } = failure("resources: { cpu: 0, memory: 4G, disk: lots }\n");
  t.same(
    errors.map((e) => [e.line, e.column, e.path]),
    [
      [1, 19, "resources.cpu"],
      [1, 30, "resources.memory"],
      [1, 40, "resources.disk"],
    ],
  );
  t.match(errors[1]!.message, '"4G" is not a valid size: "G" is ambiguous: write GiB (powers of 1024) or GB (powers of 1000)');
});

t.test("YAML syntax errors name the file, line and column", async (t) => {
  const { error, errors } = failure("version: 1\nservices:\n  api: { command: x\n  web: y\n", "repo/.nexus/config.yaml");
  t.equal(error.code, "invalid_config");
  t.ok(errors.length > 0);
  t.same(errors[0], { path: "", line: 4, column: 3, message: "YAML: Flow map in block collection must be sufficiently indented and end with a }" });
  t.match(error.message, /^repo\/\.nexus\/config\.yaml:4:3: YAML: Flow map/);
  t.match(failure("services:\n  api:\n   command: x\n  port: 1\n    bad: 2\n").errors[0], { line: 4, column: 9, message: /^YAML: / });

  const duplicate = failure("name: a\nname: b\n");
  t.same(duplicate.errors, [{ path: "", message: "YAML: Map keys must be unique", line: 2, column: 1 }]);
  t.equal(failure("\tname: a\n").errors[0]!.line, 1);
});

t.test("a document that is not a mapping is rejected at 1:1; an empty one is an empty config with a warning", async (t) => {
  t.match(failure("- a\n- b\n").error.message, ".nexus/config.yaml:1:1: the config must be a mapping (version, name, services, ...)");
  const empty = parseProjectConfig("# nothing yet\n");
  t.same(empty.config.services, {});
  t.match(empty.warnings, [{ code: "empty", line: 1, column: 1, text: ".nexus/config.yaml:1:1: the file is empty: no services will be started" }]);
});

t.test("unknown keys are warnings with their position and a suggestion, not errors", async (t) => {
  const { config, warnings } = parseProjectConfig(`version: 1
nmae: x
services:
  api:
    command: x
    dependson: [db]
resources: { cpus: 2 }
`);
  t.same(Object.keys(config.services), ["api"]);
  t.same(
    warnings.map((w) => [w.code, w.line, w.column, w.path, w.service, w.message]),
    [
      ["unknown_key", 2, 1, "nmae", undefined, 'unknown key "nmae" in the config is ignored; did you mean "name"?'],
      ["unknown_key", 6, 5, "services.api.dependson", "api", 'unknown key "dependson" in service "api" is ignored; did you mean "depends_on"?'],
      ["unknown_key", 7, 14, "resources.cpus", undefined, 'unknown key "cpus" in resources is ignored; did you mean "cpu"?'],
    ],
  );
  t.equal(warnings[1]!.text, '.nexus/config.yaml:6:5: services.api.dependson: unknown key "dependson" in service "api" is ignored; did you mean "depends_on"?');
  t.equal(warnings[1]!.file, ".nexus/config.yaml");
});

t.test("all problems are reported together, shape errors and graph errors alike", async (t) => {
  const { errors } = failure(`services:
  a: { command: x, depends_on: [b], restart: sometimes }
  b: { command: y, depends_on: [a], port: 80.5 }
  c: { command: z, port: 80 }
  d: { command: z, port: 80 }
`);
  t.same(errors.map((e) => e.path), ["services.a.depends_on", "services.a.restart", "services.b.port", "services.d.port"]);
  t.match(errors[0]!.message, "a -> b -> a");
});

t.test("YAML anchors and merge keys work; x- extension keys are ignored silently", async (t) => {
  const { config, warnings } = parseProjectConfig(`x-common: &common
  restart: always
  env: { A: "1" }
services:
  api:
    <<: *common
    command: x
`);
  t.match(config.services.api, { restart: "always", env: { A: "1" } });
  t.same(warnings, []);
  t.throws(() => parseProjectConfig("services:\n  a:\n    command: x\n    port: 1\n    health_check: { path: /a b }\n"), {
    message: '.nexus/config.yaml:5:27: services.a.health_check.path: path must start with "/" and contain no spaces, got "/a b"',
  });
});

t.test("projectConfigSchema alone validates data and reports graph problems", async (t) => {
  const parsed = projectConfigSchema.parse({ services: { a: { command: "x", port: 3000 } } });
  t.equal(parsed.services.a!.health_check.type, "tcp");
  const result = projectConfigSchema.safeParse({ services: { a: { command: "x", depends_on: ["a"] } } });
  t.notOk(result.success);
  t.match(result.error?.issues, [{ path: ["services", "a", "depends_on"], message: /depends on itself/ }]);
});

t.test("oversized files are refused before parsing", async (t) => {
  t.match(failure(`# ${"x".repeat(1024 * 1024)}\n`).errors[0]!.message, /larger than 1048576 bytes/);
});
