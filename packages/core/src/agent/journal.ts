// The command journal (<dataDir>/commands.json): ids of recently finished commands, so
// that a redelivered command is not run twice (delivery is at-least-once), and the
// commands in flight, so that an agent restarted mid-command can finish or fail them
// rather than leave a workspace stuck. It never holds a payload: a create's payload
// carries the clone token.
import { join } from "node:path";
import { z } from "zod";
import type { Logger } from "../logger.js";
import type { CommandType } from "../wire/nodes.js";
import { CREATE_PHASES, type CreatePhase } from "../state.js";
import { readJsonFile, writePrivateFile } from "./files.js";

/** Finished command ids kept for de-duplication. */
const REMEMBERED = 2_000;

const EntrySchema = z.object({
  id: z.string(),
  type: z.string(),
  workspace_id: z.string().nullable(),
  started_at: z.string(),
  phase: z.enum(CREATE_PHASES).optional(),
  force: z.boolean().optional(),
  /** The outcome, once known, for command types whose result is small and holds no secrets. */
  result: z.record(z.string(), z.unknown()).optional(),
});
export type JournalEntry = Omit<z.infer<typeof EntrySchema>, "type"> & { type: CommandType };

const FileSchema = z.object({
  version: z.literal(1),
  finished: z.array(z.string()),
  in_flight: z.array(EntrySchema),
});

export class CommandJournal {
  readonly #file: string;
  readonly #log: Logger;
  readonly #finished: string[];
  readonly #finishedSet: Set<string>;
  readonly #inFlight = new Map<string, JournalEntry>();
  /** Entries found in flight at start: left by the previous run. */
  readonly leftOver: JournalEntry[];
  #writing: Promise<void> = Promise.resolve();
  #dirty = false;

  private constructor(file: string, log: Logger, finished: string[], leftOver: JournalEntry[]) {
    this.#file = file;
    this.#log = log;
    this.#finished = finished.slice(-REMEMBERED);
    this.#finishedSet = new Set(this.#finished);
    this.leftOver = leftOver;
    for (const entry of leftOver) this.#inFlight.set(entry.id, entry);
  }

  static async open(dataDir: string, log: Logger): Promise<CommandJournal> {
    const file = join(dataDir, "commands.json");
    const parsed = FileSchema.safeParse(await readJsonFile(file));
    return parsed.success
      ? new CommandJournal(file, log, parsed.data.finished, parsed.data.in_flight as JournalEntry[])
      : new CommandJournal(file, log, [], []);
  }

  /** Seen before: finished, or running now. */
  knows(id: string): boolean {
    return this.#finishedSet.has(id) || this.#inFlight.has(id);
  }

  begin(entry: JournalEntry): void {
    this.#inFlight.set(entry.id, entry);
    this.#save();
  }

  update(id: string, patch: Partial<Pick<JournalEntry, "phase" | "result">>): void {
    const entry = this.#inFlight.get(id);
    if (!entry) return;
    Object.assign(entry, patch);
    this.#save();
  }

  /** The result has been delivered: remember the id only. */
  finish(id: string): void {
    this.#inFlight.delete(id);
    if (!this.#finishedSet.has(id)) {
      this.#finished.push(id);
      this.#finishedSet.add(id);
      while (this.#finished.length > REMEMBERED) this.#finishedSet.delete(this.#finished.shift()!);
    }
    this.#save();
  }

  inFlight(): JournalEntry[] {
    return [...this.#inFlight.values()];
  }

  /** Resolves once everything recorded so far is on disk. */
  async flush(): Promise<void> {
    await this.#writing;
  }

  // Writes are chained and coalesced: at most one in progress, one more queued.
  #save(): void {
    if (this.#dirty) return;
    this.#dirty = true;
    this.#writing = this.#writing.then(async () => {
      this.#dirty = false;
      const data = { version: 1, finished: this.#finished, in_flight: [...this.#inFlight.values()] };
      await writePrivateFile(this.#file, JSON.stringify(data)).catch((error: unknown) => {
        this.#log.error({ err: error, file: this.#file }, "cannot write the command journal; a restart may run a command twice");
      });
    });
  }
}
