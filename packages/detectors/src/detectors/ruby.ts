import type { FileView, ServiceHint } from "@nexus/core";
import { PLUGIN_API_VERSION, defineDetector } from "@nexus/core";

const DETECTOR = "ruby";

function gems(gemfile: string): Set<string> {
  return new Set([...gemfile.matchAll(/^\s*gem\s+['"]([^'"]+)['"]/gm)].map((match) => match[1]!));
}

/** Rails 7.1+ apps route a health endpoint (`get "up" => "rails/health#show"`); older ones only get a TCP check. */
function railsHealthPath(files: FileView): string | undefined {
  const routes = files.read("config/routes.rb") ?? "";
  const match = /^\s*get\s+['"]\/?([\w/-]+)['"]\s*(?:=>|,\s*to:)\s*['"]rails\/health#show['"]/m.exec(routes);
  return match ? `/${match[1]}` : undefined;
}

export function detectRuby(files: FileView): ServiceHint[] {
  const gemfile = files.read("Gemfile");
  if (gemfile === undefined) return [];
  const hints: ServiceHint[] = [{
    detector: DETECTOR,
    dir: ".",
    reason: `setup installs gems with bundler: Gemfile${files.exists("Gemfile.lock") ? " and Gemfile.lock" : ""} found`,
    setup: ["bundle install"],
  }];
  const declared = gems(gemfile);

  if (files.exists("config/application.rb") || files.exists("bin/rails") || declared.has("rails")) {
    const rails = files.exists("bin/rails") ? "bin/rails" : "bundle exec rails";
    // A SQLite app works right after db:prepare; other databases need a server that setup cannot assume is running.
    if (/^\s*adapter:\s*sqlite3\b/m.test(files.read("config/database.yml") ?? "")) {
      hints.push({ detector: DETECTOR, dir: ".", reason: "config/database.yml uses SQLite, so setup also prepares the database", setup: [`${rails} db:prepare`] });
    }
    const healthPath = railsHealthPath(files);
    hints.push({
      detector: DETECTOR,
      dir: ".",
      reason: `service \`web\`: a Rails app (${files.exists("config/application.rb") ? "config/application.rb" : "the rails gem"}); Rails' default port 3000${healthPath ? `; health from its \`${healthPath}\` route` : ""}`,
      service: { name: "web", command: `${rails} server -b 0.0.0.0 -p 3000`, port: 3000, health_check: healthPath ? { type: "http", path: healthPath } : { type: "tcp" } },
    });
    return hints;
  }
  if (files.exists("config.ru")) {
    hints.push({
      detector: DETECTOR,
      dir: ".",
      reason: "service `web`: config.ru found (a Rack app); rackup's default port 9292",
      service: { name: "web", command: "bundle exec rackup -o 0.0.0.0 -p 9292", port: 9292, health_check: { type: "tcp" } },
    });
    return hints;
  }
  hints.push({ detector: DETECTOR, dir: ".", reason: "no service: neither a Rails app nor a config.ru" });
  return hints;
}

export const rubyDetector = defineDetector({
  name: DETECTOR,
  apiVersion: PLUGIN_API_VERSION,
  description: "Gemfile: bundle install; Rails or Rack server",
  detect: detectRuby,
});
