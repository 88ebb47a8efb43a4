import type { FileView, ServiceHint } from "@nexus/core";
import { PLUGIN_API_VERSION, defineDetector } from "@nexus/core";
import { asObject, asString, asStringArray, readTomlFile, type JsonObject } from "../util/parse.js";
import { shellJoin } from "../util/shell.js";

const DETECTOR = "python";
const VENV_PYTHON = ".venv/bin/python";

/** PEP 503 normalisation, so `Flask`, `flask` and `Flask_SQLAlchemy` compare as written in any manifest. */
function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

/** The distribution name at the start of a PEP 508 requirement or a requirements.txt line. */
function requirementName(line: string): string | undefined {
  const match = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(line.replace(/#.*/, ""));
  return match && !line.trimStart().startsWith("-") ? normalizeName(match[1]!) : undefined;
}

interface PythonProject {
  pyproject?: JsonObject;
  pipfile?: JsonObject;
  requirements: string[];
  dependencies: Set<string>;
}

const REQUIREMENTS_FILES = ["requirements.txt", "requirements-dev.txt", "dev-requirements.txt"];

function readProject(files: FileView): PythonProject | undefined {
  const pyproject = readTomlFile(files, "pyproject.toml");
  const pipfile = readTomlFile(files, "Pipfile");
  const requirements = REQUIREMENTS_FILES.filter((file) => files.exists(file));
  if (!pyproject && !pipfile && requirements.length === 0 && !files.exists("setup.py") && !files.exists("manage.py")) return undefined;

  const dependencies = new Set<string>();
  const addAll = (names: Iterable<string | undefined>): void => {
    for (const name of names) if (name) dependencies.add(name);
  };
  for (const file of requirements) addAll((files.read(file) ?? "").split("\n").map(requirementName));
  const project = asObject(pyproject?.project);
  addAll(asStringArray(project?.dependencies).map(requirementName));
  for (const extra of Object.values(asObject(project?.["optional-dependencies"]) ?? {})) addAll(asStringArray(extra).map(requirementName));
  for (const group of Object.values(asObject(pyproject?.["dependency-groups"]) ?? {})) addAll(asStringArray(group).map(requirementName));
  const poetry = asObject(asObject(pyproject?.tool)?.poetry);
  addAll(Object.keys(asObject(poetry?.dependencies) ?? {}).map(normalizeName));
  addAll(Object.keys(asObject(poetry?.["dev-dependencies"]) ?? {}).map(normalizeName));
  for (const group of Object.values(asObject(poetry?.group) ?? {})) addAll(Object.keys(asObject(asObject(group)?.dependencies) ?? {}).map(normalizeName));
  addAll(Object.keys(asObject(pipfile?.packages) ?? {}).map(normalizeName));
  addAll(Object.keys(asObject(pipfile?.["dev-packages"]) ?? {}).map(normalizeName));
  return { ...(pyproject ? { pyproject } : {}), ...(pipfile ? { pipfile } : {}), requirements, dependencies };
}

/** Every tool below leaves the environment in `.venv`, so services run `.venv/bin/…` whichever installed it. */
function setupHint(files: FileView, project: PythonProject): ServiceHint {
  const tool = asObject(project.pyproject?.tool);
  const hint = (reason: string, command: string): ServiceHint => ({ detector: DETECTOR, dir: ".", reason: `setup creates .venv with ${reason}`, setup: [command] });
  if (files.exists("uv.lock")) return hint("uv: uv.lock found", "uv sync --frozen");
  if (files.exists("poetry.lock") || tool?.poetry) {
    return hint(`poetry: ${files.exists("poetry.lock") ? "poetry.lock found" : "pyproject.toml has [tool.poetry]"} (virtualenvs.in-project so services find it)`, "POETRY_VIRTUALENVS_IN_PROJECT=true poetry install --no-interaction");
  }
  if (project.pipfile) {
    return files.exists("Pipfile.lock")
      ? hint("pipenv: Pipfile.lock found", "PIPENV_VENV_IN_PROJECT=1 pipenv sync --dev")
      : hint("pipenv: Pipfile found", "PIPENV_VENV_IN_PROJECT=1 pipenv install --dev");
  }
  if (tool?.uv) return hint("uv: pyproject.toml has [tool.uv] (no uv.lock yet)", "uv sync");
  const venv = "python3 -m venv .venv";
  if (project.requirements.length > 0) {
    const installs = project.requirements.flatMap((file) => ["-r", file]);
    return hint(`pip: ${project.requirements.join(", ")} found`, `${venv} && ${shellJoin([".venv/bin/pip", "install", ...installs])}`);
  }
  if (project.pyproject?.project || project.pyproject?.["build-system"] || files.exists("setup.py")) {
    return hint(`pip: the project is installable (${project.pyproject ? "pyproject.toml" : "setup.py"}), installed editable`, `${venv} && .venv/bin/pip install -e .`);
  }
  return hint("the standard library's venv: no dependency file found", venv);
}

const PYTHON_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SKIPPED_PACKAGES = new Set(["tests", "test", "docs", "migrations", "scripts", "node_modules"]);

/** Python files where an app object is usually defined, most likely first. */
function candidateModules(files: FileView): string[] {
  const rootFiles = ["main.py", "app.py", "wsgi.py", "asgi.py", "application.py", "server.py", "api.py"];
  const inPackage = ["main.py", "app.py", "__init__.py", "api.py", "server.py", "wsgi.py", "asgi.py"];
  const packages = (dir: string): string[] =>
    files.list(dir).filter((entry) => entry.endsWith("/") && PYTHON_IDENTIFIER.test(entry.slice(0, -1)) && !SKIPPED_PACKAGES.has(entry.slice(0, -1))).map((entry) => `${dir === "" ? "" : `${dir}/`}${entry.slice(0, -1)}`);
  const preferred = ["app", "api", "src/app", "backend"];
  const dirs = [...preferred, ...packages(""), ...packages("src")].filter((dir, index, all) => all.indexOf(dir) === index && dir !== "src");
  return [...rootFiles, ...dirs.flatMap((dir) => inPackage.map((file) => `${dir}/${file}`))];
}

interface AppLocation {
  file: string;
  /** `app.main:app`, relative to appDir. */
  target: string;
  /** `src` for src-layout projects, where uvicorn needs `--app-dir src`. */
  appDir?: string;
}

function findApp(files: FileView, pattern: RegExp): AppLocation | undefined {
  for (const file of candidateModules(files)) {
    const source = files.read(file);
    const variable = source === undefined ? undefined : pattern.exec(source)?.[1];
    if (!variable) continue;
    const inSrc = file.startsWith("src/");
    const modulePath = (inSrc ? file.slice(4) : file).replace(/\.py$/, "").replace(/\/__init__$/, "");
    const segments = modulePath.split("/");
    if (!segments.every((segment) => PYTHON_IDENTIFIER.test(segment))) continue;
    return { file, target: `${segments.join(".")}:${variable}`, ...(inSrc ? { appDir: "src" } : {}) };
  }
  return undefined;
}

function serviceHints(files: FileView, project: PythonProject): ServiceHint[] {
  const has = (name: string): boolean => project.dependencies.has(name);
  const web = (reason: string, command: string, port: number): ServiceHint => ({
    detector: DETECTOR,
    dir: ".",
    reason: `service \`web\`: ${reason}`,
    service: { name: "web", command, port, health_check: { type: "tcp" } },
  });

  if (files.exists("manage.py")) {
    return [web("manage.py found (Django); runserver on Django's usual 8000", `${VENV_PYTHON} manage.py runserver 0.0.0.0:8000`, 8000)];
  }
  if (has("fastapi") || has("starlette") || has("uvicorn")) {
    const app = findApp(files, /^(\w+)\s*(?::[^=\n]*)?=\s*FastAPI\(/m);
    const argv = [".venv/bin/uvicorn", app?.target ?? "main:app", ...(app?.appDir ? ["--app-dir", app.appDir] : []), "--host", "0.0.0.0", "--port", "8000", "--reload"];
    const where = app ? `\`${app.target}\` is the FastAPI() app in ${app.file}` : "no `FastAPI(` found in the usual files, so `main:app` is a guess — check it";
    return [web(`FastAPI/uvicorn in the dependencies; ${where}; uvicorn's usual port 8000`, shellJoin(argv), 8000)];
  }
  if (has("flask")) {
    const app = findApp(files, /^(\w+)\s*(?::[^=\n]*)?=\s*Flask\(/m) ?? findFactory(files);
    // flask --app finds an `app`/`application` object or a create_app() factory by itself; other names are spelled out.
    const target = app ? app.target.replace(/:(app|application|create_app)$/, "") : undefined;
    const argv = [".venv/bin/flask", ...(target ? ["--app", target] : []), "run", "--host", "0.0.0.0", "--port", "5000"];
    const where = app ? `the Flask app is in ${app.file}` : "no `Flask(` found, so flask looks for app.py or wsgi.py itself";
    return [web(`Flask in the dependencies; ${where}; Flask's default port 5000`, shellJoin(argv), 5000)];
  }
  return [{ detector: DETECTOR, dir: ".", reason: "no service: no Django (manage.py), FastAPI or Flask app found" }];
}

function findFactory(files: FileView): AppLocation | undefined {
  return findApp(files, /^def (create_app)\s*\(/m);
}

export function detectPython(files: FileView): ServiceHint[] {
  const project = readProject(files);
  if (!project) return [];
  return [setupHint(files, project), ...serviceHints(files, project)];
}

/** The project's name from pyproject.toml, for naming the generated config. */
export function pythonProjectName(files: FileView): string | undefined {
  const pyproject = readTomlFile(files, "pyproject.toml");
  return asString(asObject(pyproject?.project)?.name) ?? asString(asObject(asObject(pyproject?.tool)?.poetry)?.name);
}

export const pythonDetector = defineDetector({
  name: DETECTOR,
  apiVersion: PLUGIN_API_VERSION,
  description: "pyproject.toml / requirements.txt / Pipfile: venv with uv, poetry, pipenv or pip; Django, FastAPI, Flask",
  detect: detectPython,
});
