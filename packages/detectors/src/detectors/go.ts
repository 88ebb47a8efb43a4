import type { FileView, ServiceHint } from "@nexus/core";
import { PLUGIN_API_VERSION, defineDetector } from "@nexus/core";
import { parsePort } from "../util/ports.js";
import { shellJoin } from "../util/shell.js";

const DETECTOR = "go";
const DEFAULT_PORT = 8080;
/** Names that usually mean "the server" among several cmd/ binaries. */
const PREFERRED_COMMANDS = ["server", "api", "web", "app"];

function goSources(files: FileView, dir: string): { file: string; source: string }[] {
  return files
    .list(dir)
    .filter((entry) => entry.endsWith(".go") && !entry.endsWith("_test.go"))
    .map((entry) => ({ file: dir === "" ? entry : `${dir}/${entry}`, source: files.read(dir === "" ? entry : `${dir}/${entry}`) ?? "" }));
}

function isMainPackage(sources: readonly { source: string }[]): boolean {
  return sources.some(({ source }) => /^package main\b/m.test(source));
}

/** The module path's last element (`github.com/acme/shop` → `shop`). */
export function goModuleName(files: FileView): string | undefined {
  const module = /^module\s+(\S+)/m.exec(files.read("go.mod") ?? "")?.[1];
  return module?.replace(/\/v\d+$/, "").split("/").pop();
}

export function detectGo(files: FileView): ServiceHint[] {
  if (!files.exists("go.mod")) return [];
  const hints: ServiceHint[] = [{ detector: DETECTOR, dir: ".", reason: "setup downloads modules: go.mod found", setup: ["go mod download"] }];

  let target: string | undefined;
  let sources: { file: string; source: string }[] = [];
  let why = "the root is package main";
  const rootSources = goSources(files, "");
  if (isMainPackage(rootSources)) {
    target = ".";
    sources = rootSources;
  } else {
    const commands = files.list("cmd").filter((entry) => entry.endsWith("/")).map((entry) => entry.slice(0, -1)).filter((name) => isMainPackage(goSources(files, `cmd/${name}`)));
    const module = goModuleName(files);
    const chosen = commands.find((name) => PREFERRED_COMMANDS.includes(name)) ?? commands.find((name) => name === module) ?? commands[0];
    if (chosen) {
      target = `./cmd/${chosen}`;
      sources = goSources(files, `cmd/${chosen}`);
      why = commands.length > 1 ? `cmd/ has several programs (${commands.join(", ")}); picked ${chosen}` : `cmd/${chosen} is package main`;
    }
  }
  if (!target) {
    hints.push({ detector: DETECTOR, dir: ".", reason: "no service: no package main at the root or under cmd/" });
    return hints;
  }

  // `":8081"` in an http.ListenAndServe call or a default; otherwise the conventional 8080.
  const literal = sources.map(({ file, source }) => ({ file, port: parsePort(/"(?:localhost|0\.0\.0\.0)?:(\d{2,5})"/.exec(source)?.[1]) })).find((found) => found.port !== undefined);
  const port = literal?.port ?? DEFAULT_PORT;
  const portReason = literal ? `port ${port} from ${literal.file}` : `port ${DEFAULT_PORT} is the usual default for Go servers; nothing in the code names another, check it`;
  hints.push({
    detector: DETECTOR,
    dir: ".",
    reason: `service \`web\`: ${why}; ${portReason}`,
    service: { name: "web", command: shellJoin(["go", "run", target]), port, health_check: { type: "tcp" } },
  });
  return hints;
}

export const goDetector = defineDetector({
  name: DETECTOR,
  apiVersion: PLUGIN_API_VERSION,
  description: "go.mod: go run on the main package",
  detect: detectGo,
});
