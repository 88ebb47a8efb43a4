import t from "tap";
import { dockerOptionsSchema, resolveEndpoint } from "../src/options.js";

t.test("defaults", async (t) => {
  t.same(dockerOptionsSchema.parse({}), { image: "nexus/debian-12", network: "nexus-isolated", injectCaBundle: false, caBundlePath: "/etc/ssl/certs/ca-certificates.crt" });
  t.throws(() => dockerOptionsSchema.parse({ socket: "relative.sock" }));
  t.throws(() => dockerOptionsSchema.parse({ host: "ssh://me@box" }));
  t.throws(() => dockerOptionsSchema.parse({ network: "a b" }));
  t.throws(() => dockerOptionsSchema.parse({ unknown: 1 }), "unknown options are a config error, not ignored");
});

t.test("endpoint precedence: host option, socket option, DOCKER_HOST, default socket", async (t) => {
  t.same(resolveEndpoint({}, {}), { kind: "unix", socketPath: "/var/run/docker.sock" });
  t.same(resolveEndpoint({}, { DOCKER_HOST: "unix:///run/user/1000/docker.sock" }), { kind: "unix", socketPath: "/run/user/1000/docker.sock" });
  t.same(resolveEndpoint({ socket: "/s.sock" }, { DOCKER_HOST: "tcp://10.0.0.1:2375" }), { kind: "unix", socketPath: "/s.sock" });
  t.same(resolveEndpoint({ host: "tcp://10.0.0.1", socket: "/s.sock" }, {}), { kind: "tcp", origin: "http://10.0.0.1:2375" });
  t.same(resolveEndpoint({}, { DOCKER_HOST: "tcp://[::1]:2400" }), { kind: "tcp", origin: "http://[::1]:2400" });
});

t.test("DOCKER_TLS_VERIFY switches to https with the client certificates", async (t) => {
  const { tempTree } = await import("@nexus/test-utils");
  const certs = tempTree({ "ca.pem": "CA", "cert.pem": "CERT", "key.pem": "KEY" });
  t.teardown(certs.cleanup);
  const endpoint = resolveEndpoint({}, { DOCKER_HOST: "tcp://docker.example:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: certs.dir });
  t.same(endpoint, { kind: "tcp", origin: "https://docker.example:2376", tls: { ca: "CA", cert: "CERT", key: "KEY" } });
  t.throws(() => resolveEndpoint({}, { DOCKER_HOST: "tcp://d:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/nonexistent" }), { code: "invalid_config" });
});

t.test("unsupported DOCKER_HOST schemes are invalid_config with a hint", async (t) => {
  for (const value of ["ssh://me@box", "npipe:////./pipe/docker_engine", "not a url"]) {
    t.throws(() => resolveEndpoint({}, { DOCKER_HOST: value }), { code: "invalid_config", hint: /unix:\/\/\/var\/run\/docker\.sock/ }, value);
  }
});
