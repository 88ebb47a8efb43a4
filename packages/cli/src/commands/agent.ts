import type { Command } from "commander";
import type { CliIO } from "../io.js";

/** `nexus agent start`, `nexus node …`: owned by the agent work. */
export function registerAgentCommands(_program: Command, _io: CliIO): void {}
