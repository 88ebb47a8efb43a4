import t from "tap";
import { memoryFileView } from "../../src/index.js";
import { detectCompose } from "../../src/detectors/compose.js";
import { reasons, services } from "../helpers.js";

const detect = (tree: Record<string, string>) => detectCompose(memoryFileView(tree));

t.test("no compose file: nothing", async (t) => {
  t.same(detect({ "Dockerfile": "FROM x" }), []);
});

t.test("ports: short and long syntax; the process's (container) port is the service port", async (t) => {
  const hints = detect({
    "compose.yaml": `services:
  a: { command: a, ports: ["3000"] }
  b: { command: b, ports: ["8080:80"] }
  c: { command: c, ports: ["127.0.0.1:9000:9001/tcp"] }
  d: { command: d, ports: ["4000-4002:4000-4002"] }
  e: { command: e, ports: [{ target: 5000, published: 15000, protocol: tcp }] }
  f: { command: f, ports: [6000] }
  g: { command: g, ports: ["53:53/udp", "7000:7000"] }
  h: { command: h, expose: ["7100"] }
  i: { command: i }
`,
  });
  t.same(services(hints).map((s) => [s.name, s.port, s.expose]), [
    ["a", 3000, undefined], ["b", 80, undefined], ["c", 9001, undefined], ["d", 4000, undefined], ["e", 5000, undefined],
    ["f", 6000, undefined], ["g", 7000, undefined], ["h", 7100, false], ["i", undefined, undefined],
  ]);
  t.match(reasons(hints), /port 80 \(published as 8080; the process listens on 80\)/);
  t.match(reasons(hints), /exposed to other services only, so not forwarded/);
});

t.test("commands: string, list (quoted), entrypoint + command, $$ escapes, Dockerfile CMD in the build context", async (t) => {
  const hints = detect({
    "docker-compose.yml": `services:
  str: { command: "npm run dev -- --host" }
  list: { command: ["sh", "-c", "echo 'hi' && sleep 1"] }
  both: { entrypoint: ["python", "-m"], command: ["http.server", "9"] }
  dollar: { command: "echo $$HOME" }
  built:
    build: ./api
  custom:
    build: { context: web, dockerfile: docker/Dev.Dockerfile }
  shellform:
    build: .
`,
    "api/Dockerfile": "FROM node:20\nWORKDIR /app\nCOPY . .\nCMD [\"node\", \"server.js\"]\n",
    "web/docker/Dev.Dockerfile": "FROM node:20\nENTRYPOINT [\"npm\"]\nCMD [\"run\", \"dev\"]\n",
    Dockerfile: "FROM python:3.12\nCMD python -m \\\n  http.server 8000\n",
  });
  const byName = Object.fromEntries(hints.filter((h) => h.service).map((h) => [h.service!.name, h]));
  t.equal(byName.str?.service?.command, "npm run dev -- --host");
  t.equal(byName.list?.service?.command, `sh -c 'echo '\\''hi'\\'' && sleep 1'`);
  t.equal(byName.both?.service?.command, "python -m http.server 9");
  t.equal(byName.dollar?.service?.command, "echo $HOME");
  t.equal(byName.built?.service?.command, "node server.js");
  t.equal(byName.built?.dir, "api", "the command runs in the build context");
  t.equal(byName.custom?.service?.command, "npm run dev");
  t.equal(byName.custom?.dir, "web");
  t.equal(byName.shellform?.service?.command, "python -m http.server 8000");
  t.match(byName.built?.reason, /CMD of api\/Dockerfile \(its build steps are not replayed; check it\)/);
});

t.test("image-only services without a command are reported, not generated", async (t) => {
  const hints = detect({ "compose.yml": "services:\n  db:\n    image: postgres:16\n    ports: ['5432:5432']\n" });
  t.same(services(hints), []);
  t.match(reasons(hints), /compose service `db` in compose\.yml runs the image postgres:16 and no `command`: .*add one by hand \(port 5432\)/);
});

t.test("depends_on (list and map), environment (list and map) with compose hostnames made local, health checks", async (t) => {
  const hints = detect({
    "compose.yaml": `services:
  api:
    command: npm start
    ports: ["4000:4000"]
    depends_on:
      db: { condition: service_healthy }
      Cache_1: { condition: service_started }
    environment:
      DATABASE_URL: postgres://user:pw@db:5432/app
      REDIS_URL: redis://Cache_1:6379/0
      DB_HOST: db
      DEBUG: true
      RETRIES: 3
      EMPTY:
      "bad-name": x
    env_file: .env
  worker:
    command: npm run worker
    depends_on: [api]
    environment:
      - API=http://api:4000/v1
      - NOVALUE
      - dbname=database
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:4000/ready"]
  cron:
    command: npm run cron
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/alive"]
  db:
    image: postgres
  Cache_1:
    image: redis
`,
  });
  const byName = Object.fromEntries(services(hints).map((s) => [s.name, s]));
  t.same(byName.api?.depends_on, ["db", "cache_1"]);
  t.same(byName.api?.env, { DATABASE_URL: "postgres://user:pw@localhost:5432/app", REDIS_URL: "redis://localhost:6379/0", DB_HOST: "localhost", DEBUG: "true", RETRIES: "3" });
  t.same(byName.api?.health_check, { type: "tcp" });
  t.same(byName.worker?.depends_on, ["api"]);
  t.same(byName.worker?.env, { API: "http://localhost:4000/v1", dbname: "database" }, "only whole hostnames are rewritten");
  t.same(byName.worker?.health_check, { type: "exec", command: "curl -f http://localhost:4000/ready" });
  t.same(byName.cron?.health_check, { type: "exec", command: "test -f /tmp/alive" });
  t.match(reasons(hints), /hostnames in its environment now point at localhost; its env_file is not copied/);
});

t.test("several compose files: the first in docker compose's order is used, and that is said", async (t) => {
  const hints = detect({ "docker-compose.yml": "services:\n  a: { command: old }\n", "compose.yaml": "services:\n  a: { command: new }\n" });
  t.equal(services(hints)[0]?.command, "new");
  t.match(reasons(hints), /several compose files \(compose\.yaml, docker-compose\.yml\); used compose\.yaml/);
});

t.test("invalid compose YAML names the file and position", async (t) => {
  t.throws(() => detect({ "compose.yaml": "services:\n  a:\n    command: [unclosed\n" }), { code: "invalid_config", message: /^compose\.yaml:\d+:\d+: invalid YAML/, details: { file: "compose.yaml" } });
  t.throws(() => detect({ "compose.yaml": "- a\n- b\n" }), { code: "invalid_config", message: /compose\.yaml: expected a YAML mapping/ });
  t.same(detect({ "compose.yaml": "" }), [], "an empty file has no services");
});
