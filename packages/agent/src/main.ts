#!/usr/bin/env node
// `nexus-agent`: the node agent as a process. JSON logs (pino, secrets redacted) on
// stdout; SIGTERM or SIGINT stops it gracefully (a second signal exits at once).
import { createLogger, isNexusError } from "@nexus/core";
import { USAGE, parseAgentArgs } from "./args.js";
import { runAgent, type RunningAgent } from "./run.js";

async function main(): Promise<void> {
  let args;
  try {
    args = parseAgentArgs(process.argv.slice(2), process.env);
    // Read once; nothing the agent starts (git, providers' helpers) needs to see it.
    delete process.env.NEXUS_JOIN_TOKEN;
  } catch (error) {
    fail(error);
    return;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return;
  }
  const log = createLogger({ level: args.logLevel, base: { name: "nexus-agent", pid: process.pid } }, process.stdout);
  // Handled from the start: a signal while the agent registers (it may already be
  // heartbeating) stops it as soon as it is up, instead of killing it half-way.
  let agent: RunningAgent | undefined;
  let stopping = false;
  const shutDown = (running: RunningAgent) =>
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "stopping failed");
        process.exit(1);
      },
    );
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, agent ? "stopping" : "stopping once started");
    if (agent) void shutDown(agent);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  try {
    agent = await runAgent(args, log);
  } catch (error) {
    log.error({ err: error }, "the agent could not start");
    fail(error);
    return;
  }
  if (stopping) void shutDown(agent);
}

function fail(error: unknown): void {
  if (isNexusError(error)) {
    process.stderr.write(`nexus-agent: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ""}`);
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(`nexus-agent: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}

void main();
