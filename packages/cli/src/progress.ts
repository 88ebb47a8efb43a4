// Create progress on a terminal: one spinner for the phase under way, and a line with
// its duration when it completes (SPEC §3 phases). Drawn on stderr and only when the
// context is interactive (a TTY, no --json/--quiet, not CI); otherwise every call is a no-op.
import { createSpinner, type Spinner } from "nanospinner";
import { CREATE_PHASES, type CreatePhase, type WorkspaceDetail } from "@nexus/core";
import type { CommandContext } from "./io.js";
import { formatDuration } from "./render.js";

/** What a completed phase is called. */
export const PHASE_DONE: Record<CreatePhase, string> = {
  scheduled: "scheduled on a node",
  container_created: "container created",
  ssh_ready: "SSH ready",
  repo_cloned: "repository cloned",
  setup_done: "setup done",
  services_started: "services started",
  services_healthy: "services healthy",
};

/** What a phase under way is called. */
export const PHASE_RUNNING: Record<CreatePhase, string> = {
  scheduled: "waiting for a node",
  container_created: "creating the container",
  ssh_ready: "waiting for SSH",
  repo_cloned: "cloning the repository",
  setup_done: "running setup",
  services_started: "starting services",
  services_healthy: "waiting for services to be healthy",
};

const PHASE_WIDTH = Math.max(...Object.values(PHASE_DONE).map((label) => label.length));

export interface PhaseProgress {
  /** Draws what changed since the last detail. */
  update(detail: WorkspaceDetail): void;
  /** A free-form step outside the create phases (forking, cloning locally, waiting to stop). */
  step(label: string): void;
  /** Marks the current step done, with an optional duration. */
  done(label?: string, ms?: number): void;
  /** Stops drawing, marking the current step failed when a reason is given. */
  stop(failure?: string): void;
}

const SILENT: PhaseProgress = { update() {}, step() {}, done() {}, stop() {} };

const FRAME_MS = 80;

export function createPhaseProgress(ctx: CommandContext): PhaseProgress {
  if (!ctx.interactive) return SILENT;
  const stream = ctx.io.stderr as NodeJS.WriteStream;
  // nanospinner redraws in place only when stdout is a terminal too; otherwise it would
  // print a line per frame, so then only the completed steps are printed.
  const animated = Boolean(ctx.io.stdout.isTTY) && ctx.io.env.TERM !== "dumb";
  const { green, red, dim } = ctx.colors;
  const printed = new Set<CreatePhase>();
  let spinner: Spinner | undefined;
  let timer: NodeJS.Timeout | undefined;
  let current: string | undefined;

  // Frames are driven here rather than by spinner.start(): start() installs SIGINT/SIGTERM
  // handlers that exit the process, and Ctrl-C must reach the command (it explains what
  // keeps running in the background).
  const spin = (text: string) => {
    if (current === text) return;
    current = text;
    if (!animated) return;
    if (spinner) spinner.update({ text }).spin();
    else {
      spinner = createSpinner(text, { stream }).spin();
      timer = setInterval(() => spinner?.spin(), FRAME_MS);
      timer.unref();
    }
  };
  const clear = () => {
    clearInterval(timer);
    timer = undefined;
    if (spinner) {
      spinner.clear();
      spinner.reset();
      stream.write("\x1b[?25h");
    }
    spinner = undefined;
    current = undefined;
  };
  const line = (mark: string, text: string) => {
    clear();
    stream.write(`${mark} ${text}\n`);
  };
  const doneLine = (label: string, ms: number | undefined) =>
    line(green("✔"), ms === undefined ? label : `${label.padEnd(PHASE_WIDTH)}  ${dim(formatDuration(ms))}`);

  return {
    update(detail) {
      const byName = new Map(detail.phases.map((p) => [p.name, p]));
      for (const name of CREATE_PHASES) {
        const phase = byName.get(name);
        if (phase && phase.duration_ms !== null && !printed.has(name)) {
          printed.add(name);
          doneLine(PHASE_DONE[name], phase.duration_ms);
        }
      }
      if (detail.status === "error") return;
      const running = CREATE_PHASES.find((name) => byName.get(name)?.duration_ms === null);
      if (running) spin(PHASE_RUNNING[running]);
      else if (detail.status === "pending") spin(PHASE_RUNNING.scheduled);
      else if (detail.status === "creating") {
        const next = CREATE_PHASES.find((name) => !byName.has(name));
        spin(next ? PHASE_RUNNING[next] : "finishing");
      } else if (detail.status === "running") clear();
    },
    step(label) {
      spin(label);
    },
    done(label, ms) {
      const text = label ?? current;
      if (text === undefined) return;
      doneLine(text, ms);
    },
    stop(failure) {
      if (failure !== undefined) line(red("✖"), failure);
      else clear();
    },
  };
}
