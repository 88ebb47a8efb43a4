// Detector-generated configs in real containers: for a node, a python and a static
// repository without .nexus/config.yaml, detectProject writes the config (as `nexus up`
// and `nexus config init` do), the config validates, and a workspace created with it on
// the real server + nexus-agent reaches `running` with its service healthy and serving
// the fixture's content inside the container.
//
// The fixtures need no downloads: the workspace image has no PyPI access, and npm's
// registry is reached only through a proxy the e2e stack does not configure. So the node
// project has no dependencies (its `npm install` resolves nothing), and the python
// project is a stand-in for a Django project: the detector keys a runnable python service
// on Django (manage.py), FastAPI or Flask, none of which can be installed offline, so its
// manage.py is a standard-library server that accepts `runserver <addr>:<port>`. What is
// proved for python is the generated setup (the venv), command, port and health check.
import t, { type Test } from "tap";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseProjectConfig, type ProjectConfig } from "@nexus/core";
import { detectProject, fileViewFromDirectory } from "@nexus/detectors";
import { makeRepo } from "../../packages/core/test/agent/helpers/repo.js";
import { isGone, sshAsDev, startStack, until, waitForStatus, type ProviderName, type Stack, type TestUser } from "./helpers/stack.js";

interface Fixture {
  name: string;
  files: Record<string, string>;
  /** What the detector must have generated, so a detector change that stops producing this fixture's service is seen. */
  expected: { setup?: string; command: string; port: number };
  /** The repository file GET / must serve (or, for servers, a marker their answer contains). */
  marker: string;
  /** A file only the generated setup makes: proof that it ran, in the checkout. */
  madeBySetup?: string;
}

const NODE_SERVER = `// A plain Node.js server: no dependencies.
const http = require("http");
const PORT = process.env.PORT || 3000;
http.createServer((req, res) => {
  res.setHeader("content-type", "text/plain");
  res.end("greeter (node) says hello at " + req.url + "\\n");
}).listen(PORT, () => console.log("greeter listening on " + PORT));
`;

const MANAGE_PY = `#!/usr/bin/env python3
"""Stands in for Django's manage.py: \`runserver <addr>:<port>\` serves HTTP with the standard library."""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"polls (python {sys.version_info.major}.{sys.version_info.minor}, {sys.prefix}) says hello at {self.path}\\n".encode()
        self.send_response(200)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    if sys.argv[1:2] != ["runserver"]:
        sys.exit(f"usage: {sys.argv[0]} runserver <addr>:<port>")
    host, _, port = (sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1:8000").rpartition(":")
    print(f"polls listening on {host}:{port}", flush=True)
    ThreadingHTTPServer((host, int(port)), Hello).serve_forever()
`;

const FIXTURES: Fixture[] = [
  {
    name: "greeter",
    files: {
      "package.json": `${JSON.stringify({ name: "greeter", version: "1.0.0", private: true, scripts: { start: "node server.js" } }, null, 2)}\n`,
      "server.js": NODE_SERVER,
    },
    expected: { setup: "npm install", command: "npm run start", port: 3000 },
    marker: "greeter (node) says hello at /probe",
    madeBySetup: "package-lock.json",
  },
  {
    name: "polls",
    files: { "manage.py": MANAGE_PY, "README.md": "# polls\n" },
    expected: { setup: "python3 -m venv .venv", command: ".venv/bin/python manage.py runserver 0.0.0.0:8000", port: 8000 },
    // sys.prefix is the venv: the service runs the interpreter setup created.
    marker: "polls (python 3.11, /home/dev/polls/.venv) says hello at /probe",
    madeBySetup: ".venv/bin/python",
  },
  {
    name: "brochure",
    files: { "index.html": "<!doctype html>\n<title>brochure</title>\n<h1>brochure: a static site served by nexus</h1>\n", "style.css": "h1 { color: teal; }\n" },
    expected: { command: "python3 -m http.server 8080", port: 8080 },
    marker: "<h1>brochure: a static site served by nexus</h1>",
  },
];

async function generated(t: Test, stack: Stack, fixture: Fixture): Promise<{ repo: Awaited<ReturnType<typeof makeRepo>>; config: Record<string, unknown>; parsed: ProjectConfig }> {
  const repo = await makeRepo(stack.root, "octo", fixture.name, fixture.files);
  const detected = await detectProject(fileViewFromDirectory(repo.dir), { name: fixture.name });
  t.same(detected.problems, [], "no detector failed");
  const { config: parsed } = parseProjectConfig(detected.yaml);
  t.equal(parsed.name, fixture.name, "the generated config validates, named after the repository");
  const web = detected.config.services?.web;
  t.match(web, { command: fixture.expected.command, port: fixture.expected.port }, `service web: ${web?.command} on ${web?.port}`);
  t.equal(detected.config.lifecycle?.setup, fixture.expected.setup, `setup: ${detected.config.lifecycle?.setup ?? "none"}`);
  t.comment(`generated for ${fixture.name}:\n${detected.yaml}`);
  return { repo, config: detected.config as unknown as Record<string, unknown>, parsed };
}

/** GET / of the service, from inside the container (the service's port is the container's). */
async function fetchInside(user: TestUser, stack: Stack, id: string, port: number, path: string): Promise<string> {
  const detail = await user.client.getWorkspace(id);
  return sshAsDev(user, detail, ["curl", "-fsS", "--max-time", "10", `http://127.0.0.1:${port}${path}`], stack.root);
}

export function detectorsInContainers(provider: ProviderName, sshPorts: [number, number]): void {
  t.test(`detector-generated configs on ${provider}`, async (t) => {
    const stack = await startStack(t, provider, sshPorts);
    const dana = await stack.user("dana");

    for (const fixture of FIXTURES) {
      await t.test(`${fixture.name}: the generated config brings the service up healthy`, async (t) => {
        const { repo, config } = await generated(t, stack, fixture);
        const accepted = await dana.client.createWorkspace(
          { provider, workspace_name: fixture.name, repo: { owner: "octo", name: fixture.name, url: repo.dir }, config },
          { idempotencyKey: `${fixture.name}-${Date.now()}` },
        );
        const id = accepted.workspace_id;
        try {
          const detail = await waitForStatus(dana, id, ["running"], 300_000).catch((error: Error) => {
            const agentLog = readFileSync(stack.agentLogFile, "utf8").split("\n").slice(-40).join("\n");
            throw new Error(`${error.message}\n--- agent log (last 40 lines) ---\n${agentLog}`);
          });
          t.equal(detail.status, "running", "the workspace is running");
          if (fixture.madeBySetup) {
            const made = await sshAsDev(dana, detail, ["test", "-e", `${detail.ssh.path}/${fixture.madeBySetup}`, "&&", "echo", "present"], stack.root);
            t.equal(made.trim(), "present", `setup ran in the checkout: ${fixture.madeBySetup} exists`);
          }
          t.equal(detail.health, "healthy", "the workspace is healthy");
          const { services } = await dana.client.getServices(id);
          t.same(services.map((s) => `${s.name}:${s.status}:${s.health}`), ["web:running:healthy"], "/services: web running and healthy");
          t.equal(services[0]?.port, fixture.expected.port, "on the generated port");
          const body = fixture.name === "brochure" ? await fetchInside(dana, stack, id, fixture.expected.port, "/") : await fetchInside(dana, stack, id, fixture.expected.port, "/probe");
          t.match(body, fixture.marker, "GET inside the container answers with the fixture's content");
          if (fixture.name === "brochure") {
            t.equal(body, fixture.files["index.html"], "the static server serves index.html byte for byte");
            t.equal(await fetchInside(dana, stack, id, fixture.expected.port, "/style.css"), fixture.files["style.css"], "and the other files of the repository");
          }
        } finally {
          await dana.client.delete(id, { force: true });
          await until(async () => isGone(dana, id), `${fixture.name} to be deleted`, 120_000);
        }
      });
    }
  });
}

// Both engines by default; NEXUS_E2E_PROVIDERS=lxc (or docker) runs one.
const SSH_PORTS: Record<ProviderName, [number, number]> = { lxc: [24400, 24419], docker: [24420, 24439] };
const wanted = (process.env.NEXUS_E2E_PROVIDERS ?? "lxc,docker").split(",").map((name) => name.trim());
for (const provider of ["lxc", "docker"] as const) if (wanted.includes(provider)) detectorsInContainers(provider, SSH_PORTS[provider]);
