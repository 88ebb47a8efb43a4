import t from "tap";
import { memoryFileView } from "../../src/index.js";
import { detectPython } from "../../src/detectors/python.js";
import { reasons, services, setups } from "../helpers.js";

const detect = (tree: Record<string, string>) => detectPython(memoryFileView(tree));

t.test("no Python manifest: nothing", async (t) => {
  t.same(detect({ "main.py": "print(1)" }), []);
});

t.test("setup by tool: uv, poetry, pipenv, pip, editable install, bare venv", async (t) => {
  const cases: [Record<string, string>, string, RegExp][] = [
    [{ "pyproject.toml": "[project]\nname = 'x'\n", "uv.lock": "" }, "uv sync --frozen", /uv: uv\.lock found/],
    [{ "pyproject.toml": "[project]\nname = 'x'\n[tool.uv]\ndev-dependencies = []\n" }, "uv sync", /\[tool\.uv\]/],
    [{ "pyproject.toml": "[tool.poetry]\nname = 'x'\n", "poetry.lock": "" }, "POETRY_VIRTUALENVS_IN_PROJECT=true poetry install --no-interaction", /poetry\.lock found/],
    [{ "pyproject.toml": "[tool.poetry]\nname = 'x'\n" }, "POETRY_VIRTUALENVS_IN_PROJECT=true poetry install --no-interaction", /\[tool\.poetry\]/],
    [{ Pipfile: "[packages]\nflask = '*'\n", "Pipfile.lock": "{}" }, "PIPENV_VENV_IN_PROJECT=1 pipenv sync --dev", /Pipfile\.lock/],
    [{ Pipfile: "[packages]\nflask = '*'\n" }, "PIPENV_VENV_IN_PROJECT=1 pipenv install --dev", /Pipfile found/],
    [{ "requirements.txt": "flask\n" }, "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt", /pip: requirements\.txt/],
    [{ "requirements.txt": "flask\n", "requirements-dev.txt": "pytest\n" }, "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt -r requirements-dev.txt", /requirements-dev\.txt/],
    [{ "pyproject.toml": "[project]\nname = 'x'\ndependencies = ['httpx']\n" }, "python3 -m venv .venv && .venv/bin/pip install -e .", /editable/],
    [{ "setup.py": "from setuptools import setup\nsetup()" }, "python3 -m venv .venv && .venv/bin/pip install -e .", /setup\.py/],
    [{ "manage.py": "#!/usr/bin/env python" }, "python3 -m venv .venv", /no dependency file/],
  ];
  for (const [tree, setup, reason] of cases) {
    const hints = detect(tree);
    t.same(setups(hints), [setup], Object.keys(tree).join(", "));
    t.match(hints[0]!.reason, reason);
  }
});

t.test("django: manage.py runserver on 0.0.0.0:8000", async (t) => {
  const hints = detect({ "requirements.txt": "Django>=5.0\npsycopg[binary]\n", "manage.py": "import os" });
  t.same(services(hints), [{ name: "web", command: ".venv/bin/python manage.py runserver 0.0.0.0:8000", port: 8000, health_check: { type: "tcp" } }]);
  t.match(reasons(hints), /manage\.py found \(Django\)/);
});

t.test("fastapi: the app module is found by reading the files", async (t) => {
  const cases: [Record<string, string>, string][] = [
    [{ "main.py": "from fastapi import FastAPI\napp = FastAPI()\n" }, ".venv/bin/uvicorn main:app --host 0.0.0.0 --port 8000 --reload"],
    [{ "app/__init__.py": "", "app/main.py": "api: FastAPI = FastAPI(title='x')\n" }, ".venv/bin/uvicorn app.main:api --host 0.0.0.0 --port 8000 --reload"],
    [{ "src/shop/__init__.py": "", "src/shop/main.py": "application = FastAPI()\n" }, ".venv/bin/uvicorn shop.main:application --app-dir src --host 0.0.0.0 --port 8000 --reload"],
    [{ "service.py": "nothing here" }, ".venv/bin/uvicorn main:app --host 0.0.0.0 --port 8000 --reload"],
  ];
  for (const [files, command] of cases) {
    const hints = detect({ "requirements.txt": "fastapi[standard]==0.115\n", ...files });
    t.equal(services(hints)[0]?.command, command);
    t.equal(services(hints)[0]?.port, 8000);
  }
  t.match(reasons(detect({ "requirements.txt": "fastapi\n" })), /`main:app` is a guess — check it/);
  t.match(reasons(detect({ "requirements.txt": "fastapi\n", "main.py": "app = FastAPI()" })), /`main:app` is the FastAPI\(\) app in main\.py/);
});

t.test("fastapi found through pyproject dependencies, poetry tables and Pipfile", async (t) => {
  const sources: Record<string, string>[] = [
    { "pyproject.toml": "[project]\nname='x'\ndependencies = ['FastAPI >= 0.110', 'uvicorn[standard]']\n" },
    { "pyproject.toml": "[tool.poetry]\nname='x'\n[tool.poetry.dependencies]\npython = '^3.12'\nfastapi = '^0.115'\n" },
    { "pyproject.toml": "[tool.poetry]\nname='x'\n[tool.poetry.group.web.dependencies]\nuvicorn = '*'\n" },
    { "pyproject.toml": "[project]\nname='x'\n[project.optional-dependencies]\nserver = ['fastapi']\n" },
    { "pyproject.toml": "[project]\nname='x'\n[dependency-groups]\ndev = ['uvicorn']\n" },
    { Pipfile: "[packages]\nfastapi = '*'\n" },
  ];
  for (const tree of sources) t.match(services(detect({ ...tree, "main.py": "app = FastAPI()" }))[0]?.command, /uvicorn main:app/, Object.values(tree)[0] ?? "");
});

t.test("flask on 5000, with the app located", async (t) => {
  const cases: [Record<string, string>, string][] = [
    [{ "app.py": "from flask import Flask\napp = Flask(__name__)\n" }, ".venv/bin/flask --app app run --host 0.0.0.0 --port 5000"],
    [{ "wsgi.py": "server = Flask(__name__)\n" }, ".venv/bin/flask --app wsgi:server run --host 0.0.0.0 --port 5000"],
    [{ "blog/__init__.py": "def create_app(test_config=None):\n    app = Flask(__name__)\n" }, ".venv/bin/flask --app blog run --host 0.0.0.0 --port 5000"],
    [{}, ".venv/bin/flask run --host 0.0.0.0 --port 5000"],
  ];
  for (const [files, command] of cases) {
    const hints = detect({ "requirements.txt": "Flask==3.0\n", ...files });
    t.equal(services(hints)[0]?.command, command);
    t.equal(services(hints)[0]?.port, 5000);
  }
});

t.test("no web framework: setup only, with the reason", async (t) => {
  const hints = detect({ "requirements.txt": "numpy\npandas\n# comment\n-r base.txt\n" });
  t.same(services(hints), []);
  t.match(reasons(hints), /no Django \(manage\.py\), FastAPI or Flask app found/);
});

t.test("an invalid pyproject.toml is an invalid_config error naming the file and position", async (t) => {
  t.throws(() => detect({ "pyproject.toml": "[project]\nname = 'x'\ndependencies = [\n" }), { code: "invalid_config", message: /^pyproject\.toml:\d+:\d+: invalid TOML/, details: { file: "pyproject.toml" } });
  t.throws(() => detect({ Pipfile: "[packages\n" }), { code: "invalid_config", message: /^Pipfile:1:\d+/ });
});
