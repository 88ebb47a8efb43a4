import type { NexusError, ServiceHintService } from "@nexus/core";

/** One thing detection guessed or decided, shown to the user (and as a comment in the YAML). */
export interface Guess {
  detector: string;
  reason: string;
  /** Package directory relative to the repo root ("." for the root). */
  dir: string;
}

/** A detector that could not finish, e.g. on an invalid package.json; the others still ran. */
export interface DetectionProblem {
  detector: string;
  error: NexusError;
}

export interface GeneratedService {
  command: string;
  port?: number;
  expose?: boolean;
  depends_on?: string[];
  env?: Record<string, string>;
  health_check?: ServiceHintService["health_check"];
}

/** A plain object in the shape of .nexus/config.yaml (SPEC §4), holding only what detection found. */
export interface GeneratedConfig {
  version: 1;
  name: string;
  env?: Record<string, string>;
  lifecycle?: { setup?: string; post_start?: string };
  services?: Record<string, GeneratedService>;
}
