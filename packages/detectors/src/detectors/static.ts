import type { FileView, ServiceHint } from "@nexus/core";
import { PLUGIN_API_VERSION, defineDetector } from "@nexus/core";

const DETECTOR = "static";
const PORT = 8080;

/** Any of these means the project has a toolchain of its own, and index.html is its input or output, not the site. */
export const PROJECT_MARKERS: readonly string[] = [
  "package.json", "pyproject.toml", "requirements.txt", "Pipfile", "setup.py", "manage.py", "Gemfile", "go.mod",
  "Cargo.toml", "composer.json", "pom.xml", "build.gradle", "deno.json", "compose.yaml", "compose.yml",
  "docker-compose.yml", "docker-compose.yaml", "Dockerfile",
];

export function detectStatic(files: FileView): ServiceHint[] {
  if (!files.exists("index.html")) return [];
  const marker = PROJECT_MARKERS.find((file) => files.exists(file));
  if (marker) return [];
  return [{
    detector: DETECTOR,
    dir: ".",
    reason: `service \`web\`: index.html and no project manifest, so a static file server on ${PORT}`,
    service: { name: "web", command: `python3 -m http.server ${PORT}`, port: PORT, health_check: { type: "http", path: "/" } },
  }];
}

export const staticDetector = defineDetector({
  name: DETECTOR,
  apiVersion: PLUGIN_API_VERSION,
  description: "index.html only: a static file server",
  detect: detectStatic,
});
