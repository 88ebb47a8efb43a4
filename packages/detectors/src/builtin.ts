import type { DetectorDescriptor } from "@nexus/core";
import { composeDetector } from "./detectors/compose.js";
import { devcontainerDetector } from "./detectors/devcontainer.js";
import { goDetector } from "./detectors/go.js";
import { nodeDetector } from "./detectors/node/index.js";
import { pythonDetector } from "./detectors/python.js";
import { rubyDetector } from "./detectors/ruby.js";
import { staticDetector } from "./detectors/static.js";

/**
 * First-party detectors in precedence order. Language detectors come first because they know
 * the dev command (`npm run dev`); compose adds the services they do not cover; devcontainer
 * adds lifecycle commands, env and forwarded ports; the static server is the last resort.
 */
export const builtinDetectors: readonly DetectorDescriptor[] = Object.freeze([
  nodeDetector,
  pythonDetector,
  rubyDetector,
  goDetector,
  composeDetector,
  devcontainerDetector,
  staticDetector,
]);
