import type { Command } from "commander";
import type { CliIO } from "../io.js";

/** `nexus server start|stop`: owned by the server work. */
export function registerServerCommands(_program: Command, _io: CliIO): void {}
