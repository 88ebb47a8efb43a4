import t from "tap";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isNexusError } from "@nexus/core";
import { defaultNodeName, parseAgentArgs, parsePortRange } from "@nexus/agent";

t.test("flags become runtime options", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "nexus-agent-args-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ca = join(dir, "ca.pem");
  writeFileSync(ca, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  const args = parseAgentArgs(
    [
      "--server", "http://127.0.0.1:3001", "--provider", "docker", "--name", "node-1", "--ssh-host", "node1.example.com",
      "--ssh-ports", "3000-3009", "--data", dir, "--allow-local-repos", "--allow-repo-host", "git.example.com:8443",
      "--provider-option", "injectCaBundle=true", "--provider-option", "network=nexus-net", "--label", "nexus.test-run=abc",
      "--ca-bundle", ca, "--max-workspaces", "5",
    ],
    { NEXUS_JOIN_TOKEN: "nxj_fromenv" },
  );
  t.match(args, {
    server: "http://127.0.0.1:3001", joinToken: "nxj_fromenv", provider: "docker", providerPackage: "@nexus/provider-docker",
    providerOptions: { injectCaBundle: true, network: "nexus-net" }, name: "node-1", sshHost: "node1.example.com",
    sshPorts: [3000, 3009], dataDir: dir, allowLocalRepos: true, allowedRepoHosts: ["git.example.com:8443"],
    labels: { "nexus.test-run": "abc" }, maxWorkspaces: 5,
  });
  t.match(args.caBundle, /BEGIN CERTIFICATE/);
});

t.test("defaults: lxc, 2222-2299, NEXUS_HOME/agent, the host's name", async (t) => {
  const args = parseAgentArgs(["--server", "http://x:1", "--join-token", "nxj_flag"], { NEXUS_HOME: "/srv/nexus", NEXUS_JOIN_TOKEN: "nxj_env" });
  t.match(args, { provider: "lxc", sshPorts: [2222, 2299], dataDir: "/srv/nexus/agent", joinToken: "nxj_flag", allowLocalRepos: false, logLevel: "info" });
  t.equal(defaultNodeName("Build_Box.example.com"), "build-box");
  t.equal(defaultNodeName("___"), "node");
});

t.test("bad flags are invalid_request with a hint", async (t) => {
  const cases: [string[], RegExp][] = [
    [["--server", "http://x:1", "--provider", "podman"], /--provider must be one of lxc, docker/],
    [["--join-token", "x"], /--server is required/],
    [["--server", "http://x:1", "--bogus"], /bogus/],
    [["--server", "http://x:1", "--label", "novalue"], /KEY=VALUE/],
    [["--server", "http://x:1", "--ca-bundle", "/no/such/file"], /cannot read/],
  ];
  for (const [argv, message] of cases) {
    try {
      parseAgentArgs(argv, {});
      t.fail(`accepted ${argv.join(" ")}`);
    } catch (error) {
      t.ok(isNexusError(error) && error.code === "invalid_request", argv.join(" "));
      t.match((error as Error).message, message);
    }
  }
  t.throws(() => parsePortRange("2299-2222"), /START <= END/);
  t.throws(() => parsePortRange("22"), /START-END/);
  t.same(parsePortRange("2222-2222"), [2222, 2222]);
});
