import t from "tap";
import { parseProjectConfig, type ConfigWarning } from "../../src/config/index.js";

const TIMING = { interval: 2000, timeout: 5000, retries: 30, start_period: 0 };

function deprecations(warnings: ConfigWarning[]): [number, number, string, string][] {
  return warnings.filter((w) => w.code === "deprecated").map((w) => [w.line, w.column, w.path, w.message]);
}

t.test("top-level environment: is read as env, with a warning at the key", async (t) => {
  const { config, warnings } = parseProjectConfig("version: 1\nenvironment:\n  NODE_ENV: development\n");
  t.same(config.env, { NODE_ENV: "development" });
  t.same(deprecations(warnings), [[2, 1, "environment", 'environment is deprecated; rename it to "env"']]);
  t.equal(warnings[0]!.text, '.nexus/config.yaml:2:1: environment: environment is deprecated; rename it to "env"');
  t.equal(warnings[0]!.file, ".nexus/config.yaml");
});

t.test("service environment: is read as env, with a warning naming the service", async (t) => {
  const { config, warnings } = parseProjectConfig("services:\n  api:\n    command: x\n    environment: { PORT: 4000 }\n");
  t.same(config.services.api!.env, { PORT: "4000" });
  t.same(deprecations(warnings), [[4, 5, "services.api.environment", 'environment is deprecated; rename it to "env"']]);
  t.equal(warnings[0]!.service, "api");
});

t.test("healthcheck: { url, interval, timeout, retries } becomes an http check; integer durations are seconds", async (t) => {
  const { config, warnings } = parseProjectConfig(`services:
  api:
    command: npm start
    port: 3000
    healthcheck:
      url: http://localhost:3000/health
      interval: 2
      timeout: 10
      retries: 5
`);
  t.same(config.services.api!.health_check, { type: "http", port: 3000, path: "/health", interval: 2000, timeout: 10_000, retries: 5, start_period: 0 });
  t.same(deprecations(warnings), [
    [5, 5, "services.api.healthcheck", "healthcheck is deprecated; write health_check: { type: http, path: /health, interval: 2s, timeout: 10s, retries: 5 }"],
  ]);
});

t.test("healthcheck url on another port checks that port", async (t) => {
  const { config, warnings } = parseProjectConfig(`services:
  api:
    command: npm start
    port: 3000
    healthcheck: { url: "http://localhost:9090/metrics?probe=1" }
`);
  t.same(config.services.api!.health_check, { type: "http", port: 9090, path: "/metrics?probe=1", ...TIMING });
  t.match(warnings[0]!.message, "write health_check: { type: http, path: /metrics?probe=1, port: 9090 }");
});

t.test('health_check: "http://…" string becomes an http check, with a warning at the value', async (t) => {
  const { config, warnings } = parseProjectConfig(`services:
  web:
    command: npm run dev
    port: 8080
    health_check: "http://localhost:8080/ready"
`);
  t.same(config.services.web!.health_check, { type: "http", port: 8080, path: "/ready", ...TIMING });
  t.same(deprecations(warnings), [
    [5, 19, "services.web.health_check", "a URL string as health_check is deprecated; write health_check: { type: http, path: /ready }"],
  ]);
});

t.test("a URL health check with a remote host warns that the host is ignored", async (t) => {
  const { warnings } = parseProjectConfig('services:\n  web:\n    command: x\n    port: 80\n    health_check: "http://example.com/"\n');
  t.match(warnings, [{ code: "deprecated" }, { code: "ignored", line: 5, column: 19, message: 'the host "example.com" is ignored: health checks connect to localhost inside the workspace' }]);
});

t.test("a health_check string that is not an http URL is an error at the value", async (t) => {
  t.throws(() => parseProjectConfig('services:\n  web:\n    command: x\n    health_check: "curl -f localhost"\n'), {
    code: "invalid_config",
    message: '.nexus/config.yaml:4:19: services.web.health_check: "curl -f localhost" is not a URL; write an http:// URL or use { type: http, path: /health }',
  });
  t.throws(() => parseProjectConfig('services:\n  web:\n    command: x\n    health_check: "https://localhost/"\n'), {
    message: /:4:19: services\.web\.health_check: "https:\/\/localhost\/" is not an http:\/\/ URL/,
  });
});

t.test("timeout: 10 (integer seconds) is read as 10s with a warning, in health_check and on the service", async (t) => {
  const { config, warnings } = parseProjectConfig(`services:
  api:
    command: x
    port: 3000
    health_check: { type: http, path: /health, timeout: 10 }
  db:
    command: y
    port: 5432
    timeout: 30
`);
  t.equal(config.services.api!.health_check.timeout, 10_000);
  t.equal(config.services.db!.health_check.timeout, 30_000);
  t.same(deprecations(warnings), [
    [5, 57, "services.api.health_check.timeout", "timeout: 10 (integer seconds) is deprecated; write timeout: 10s"],
    [9, 5, "services.db.timeout", "timeout on a service is deprecated (and integer seconds are); write health_check: { timeout: 30s }"],
  ]);
  // Other durations may be bare seconds without a warning.
  const plain = parseProjectConfig("services:\n  a: { command: x, port: 1, health_check: { interval: 3, timeout: 4s } }\n");
  t.same(plain.warnings, []);
  t.equal(plain.config.services.a!.health_check.interval, 3000);
});

t.test("health_check.url inside the mapping is read as path, with a warning", async (t) => {
  const { config, warnings } = parseProjectConfig("services:\n  a:\n    command: x\n    port: 3000\n    health_check: { url: http://localhost:3000/up }\n");
  t.match(config.services.a!.health_check, { type: "http", port: 3000, path: "/up" });
  t.same(deprecations(warnings), [[5, 21, "services.a.health_check.url", "health_check.url is deprecated; write path: /up"]]);
});

t.test("top-level providers: { default, <name>: { image } } becomes provider and image", async (t) => {
  const { config, warnings } = parseProjectConfig(`version: 1
providers:
  default: lxc
  lxc:
    image: images:debian/12
  docker:
    image: debian:12
`);
  t.equal(config.provider, "lxc");
  t.equal(config.image, "images:debian/12");
  t.same(deprecations(warnings), [[2, 1, "providers", "providers is deprecated; write provider: lxc and image: images:debian/12 at the top level"]]);
  t.match(warnings, [{ code: "deprecated" }, { code: "ignored", path: "providers.docker.image", line: 7, column: 5 }]);

  const single = parseProjectConfig("providers:\n  docker: { image: node:22 }\n");
  t.same([single.config.provider, single.config.image], ["docker", "node:22"]);
});

t.test("old and new spellings together are an error, not a guess", async (t) => {
  const both = `env: { A: "1" }
environment: { A: "2" }
provider: docker
providers: { default: lxc }
services:
  api:
    command: x
    port: 3000
    health_check: { type: tcp }
    healthcheck: { url: "http://localhost:3000/" }
    timeout: 5
    env: {}
    environment: {}
`;
  try {
    parseProjectConfig(both);
    t.fail("expected an error");
  } catch (error) {
    const errors = (error as { details: { errors: { path: string; line: number; column: number }[] } }).details.errors;
    t.same(
      errors.map((e) => [e.path, e.line, e.column]),
      [
        ["environment", 2, 1],
        ["providers", 4, 1],
        ["services.api.healthcheck", 10, 5],
        ["services.api.environment", 13, 5],
      ],
    );
  }
  const check = "services:\n  api:\n    command: x\n    port: 3000\n    health_check: { type: tcp, timeout: 2s }\n    healthcheck: { url: \"http://localhost:3000/\" }\n    timeout: 5\n";
  t.throws(() => parseProjectConfig(check), { message: /services\.api\.healthcheck: both health_check and the old healthcheck are set[\s\S]*services\.api\.timeout: timeout is set both here/ });
});
