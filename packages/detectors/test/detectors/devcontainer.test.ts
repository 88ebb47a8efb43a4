import t from "tap";
import { memoryFileView } from "../../src/index.js";
import { detectDevcontainer } from "../../src/detectors/devcontainer.js";
import { reasons, services, setups } from "../helpers.js";

const detect = (tree: Record<string, string>) => detectDevcontainer(memoryFileView(tree));

t.test("no devcontainer: nothing", async (t) => {
  t.same(detect({ "package.json": "{}" }), []);
});

t.test("JSON with comments and trailing commas; lifecycle commands and env", async (t) => {
  const hints = detect({
    ".devcontainer/devcontainer.json": `{
      // The dev container for this repo
      "name": "Shop",
      "image": "mcr.microsoft.com/devcontainers/javascript-node:20",
      /* block comment */
      "onCreateCommand": "corepack enable",
      "postCreateCommand": "npm ci",
      "postStartCommand": "npm run db:migrate",
      "postAttachCommand": "git status",
      "containerEnv": { "NODE_ENV": "development", "FROM_HOST": "\${localEnv:HOME}" },
      "remoteEnv": { "NODE_ENV": "test", "bad name": "x" },
      "forwardPorts": [3000,],
    }`,
  });
  t.same(setups(hints), ["corepack enable", "npm ci"], "onCreateCommand runs before postCreateCommand");
  t.same(hints.flatMap((h) => h.post_start ?? []), ["npm run db:migrate"]);
  t.same(hints.find((h) => h.env)?.env, { NODE_ENV: "test" }, "remoteEnv wins; ${…} values and invalid names are left out");
  t.match(reasons(hints), /FROM_HOST from \.devcontainer\/devcontainer\.json not copied/);
  t.match(reasons(hints), /`postAttachCommand` .* is not used/);
  t.match(reasons(hints), /builds its container from mcr\.microsoft\.com\/devcontainers\/javascript-node:20/);
});

t.test("command forms: string, argument vector (quoted), object (one after another)", async (t) => {
  const hints = detect({
    ".devcontainer.json": JSON.stringify({
      postCreateCommand: ["bash", "-c", "echo it's $HOME"],
      postStartCommand: { server: "npm start", db: ["pg_ctl", "start", "-D", "/var/lib/my data"] },
    }),
  });
  t.same(setups(hints), [`bash -c 'echo it'\\''s $HOME'`]);
  t.same(hints.flatMap((h) => h.post_start ?? []), ["npm start && pg_ctl start -D '/var/lib/my data'"]);
  t.match(reasons(hints), /one after another/);
});

t.test("devcontainer variables: the workspace folder and container env become shell expansions; local ones are reported", async (t) => {
  const hints = detect({
    ".devcontainer/devcontainer.json": JSON.stringify({
      onCreateCommand: "cd ${containerWorkspaceFolder} && echo ${containerEnv:HOME} ${containerEnv:EDITOR:vi}",
      postCreateCommand: ["git", "config", "--global", "--add", "safe.directory", "${containerWorkspaceFolder}"],
      postStartCommand: ["sh", "-c", "echo '${containerWorkspaceFolder}/x y' ${localEnv:USER}"],
    }),
  });
  t.same(setups(hints), ["cd $PWD && echo ${HOME} ${EDITOR:-vi}", `git config --global --add safe.directory "$PWD"`]);
  t.same(hints.flatMap((h) => h.post_start ?? []), [`sh -c 'echo '\\'''"$PWD"'/x y'\\'' \${localEnv:USER}'`]);
  t.match(reasons(hints), /\$\{localEnv:USER\} cannot be resolved in the workspace/);
});

t.test("forwardPorts and appPort are reported, not turned into services without a command", async (t) => {
  const hints = detect({
    ".devcontainer/devcontainer.json": JSON.stringify({
      forwardPorts: [3000, "db:5432", "8080", "localhost:9000", "nonsense", 70000, 3000],
      appPort: 4000,
      portsAttributes: { "3000": { label: "Web App" } },
    }),
  });
  t.same(services(hints), []);
  t.match(reasons(hints), /forwards 3000 \("Web App"\), db:5432, 8080, 9000, 4000; services on them come from what starts them/);
});

t.test("a compose-based devcontainer: the other compose services become services, the dev container itself does not", async (t) => {
  const hints = detect({
    ".devcontainer/devcontainer.json": JSON.stringify({ dockerComposeFile: ["docker-compose.yml"], service: "app", workspaceFolder: "/workspaces/x", forwardPorts: ["db:5432", 6379] }),
    ".devcontainer/docker-compose.yml": "services:\n  app:\n    build: { context: .., dockerfile: .devcontainer/Dockerfile }\n    command: sleep infinity\n  db:\n    image: postgres:16\n  cache:\n    image: redis\n    command: redis-server --save ''\n    ports: ['6379:6379']\n",
  });
  t.same(services(hints), [{ name: "cache", command: "redis-server --save ''", port: 6379, health_check: { type: "tcp" } }]);
  t.ok(hints.every((hint) => hint.detector === "devcontainer"));
  t.match(reasons(hints), /compose service `db` in \.devcontainer\/docker-compose\.yml runs the image postgres:16 and no `command`/);
  t.notMatch(reasons(hints), /`app`/);
});

t.test("named configurations under .devcontainer/<name>/ are found; several are reported", async (t) => {
  const hints = detect({
    ".devcontainer/backend/devcontainer.json": JSON.stringify({ postCreateCommand: "make setup" }),
    ".devcontainer/frontend/devcontainer.json": JSON.stringify({ postCreateCommand: "npm ci" }),
  });
  t.same(setups(hints), ["make setup"]);
  t.match(reasons(hints), /used \.devcontainer\/backend\/devcontainer\.json, ignored \.devcontainer\/frontend\/devcontainer\.json/);
});

t.test("invalid devcontainer.json names the file and position", async (t) => {
  t.throws(() => detect({ ".devcontainer/devcontainer.json": "{\n  \"image\": \"x\"\n  \"name\": \"y\"\n}" }), {
    code: "invalid_config",
    message: /^\.devcontainer\/devcontainer\.json:3:3: invalid JSON/,
  });
});
