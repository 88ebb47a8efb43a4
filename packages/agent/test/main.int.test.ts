// The nexus-agent process: registers, heartbeats, logs JSON without the join token,
// and exits cleanly on SIGTERM.
import t from "tap";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeServer } from "../../core/test/agent/helpers/fake-server.js";

const MAIN = join(import.meta.dirname, "..", "src", "main.ts");

t.test("registers with the join token and stops on SIGTERM", async (t) => {
  const server = await startFakeServer();
  const dataDir = mkdtempSync(join(tmpdir(), "nexus-agent-main-"));
  t.teardown(async () => {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const child = spawn(
    process.execPath,
    ["--import=tsx", "--conditions=nexus-source", MAIN, "--server", server.url, "--provider", "docker", "--name", "proc-node",
      "--ssh-host", "127.0.0.1", "--data", dataDir, "--provider-option", `socket=${join(dataDir, "no-docker.sock")}`],
    { env: { ...process.env, NEXUS_JOIN_TOKEN: server.joinToken }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  await server.until(() => server.heartbeats.length > 0, "a heartbeat", 30_000);
  t.match(server.registrations[0], { name: "proc-node", providers: ["docker"] });
  t.match(server.heartbeats[0], { providers: [{ name: "docker", ok: false }] }, "an unreachable engine is reported, not fatal");
  t.equal(JSON.parse(readFileSync(join(dataDir, "agent.json"), "utf8")).name, "proc-node");
  child.kill("SIGTERM");
  t.equal(await exited, 0, `exit code 0 (stderr: ${stderr})`);
  const lines = stdout.trim().split("\n").map((line) => JSON.parse(line) as { msg: string; name: string });
  t.ok(lines.some((l) => l.msg === "agent started"), "JSON log lines");
  t.ok(lines.every((l) => l.name === "nexus-agent"));
  t.notMatch(stdout + stderr, server.joinToken, "the join token is never logged");
});

t.test("a SIGTERM while it is still registering stops it once it is up, cleanly", async (t) => {
  const server = await startFakeServer();
  const dataDir = mkdtempSync(join(tmpdir(), "nexus-agent-main-"));
  t.teardown(async () => {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const release = server.holdRegistrations();
  const child = spawn(
    process.execPath,
    ["--import=tsx", "--conditions=nexus-source", MAIN, "--server", server.url, "--provider", "docker", "--name", "early-stop",
      "--ssh-host", "127.0.0.1", "--data", dataDir, "--provider-option", `socket=${join(dataDir, "no-docker.sock")}`],
    { env: { ...process.env, NEXUS_JOIN_TOKEN: server.joinToken }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  await server.until(() => server.registrations.length > 0, "the registration", 30_000);
  child.kill("SIGTERM");
  await server.until(() => stdout.includes("stopping once started"), "the agent to note the signal", 10_000);
  release();
  t.equal(await exited, 0, "exit code 0, not killed by the signal");
});

t.test("a bad flag exits with the usage error's code", async (t) => {
  const child = spawn(process.execPath, ["--import=tsx", "--conditions=nexus-source", MAIN, "--provider", "podman", "--server", "http://127.0.0.1:1"], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  t.equal(code, 2);
  t.match(stderr, /--provider must be one of/);
});
