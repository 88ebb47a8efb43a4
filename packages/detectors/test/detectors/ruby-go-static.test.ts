import t from "tap";
import { memoryFileView } from "../../src/index.js";
import { detectGo } from "../../src/detectors/go.js";
import { detectRuby } from "../../src/detectors/ruby.js";
import { detectStatic } from "../../src/detectors/static.js";
import { reasons, services, setups } from "../helpers.js";

t.test("ruby: nothing without a Gemfile", async (t) => {
  t.same(detectRuby(memoryFileView({ "config.ru": "run App" })), []);
});

t.test("ruby: rails on 3000, with the /up health route when it exists", async (t) => {
  const rails = detectRuby(memoryFileView({
    Gemfile: "source 'https://rubygems.org'\ngem \"rails\", \"~> 7.2\"\n",
    "Gemfile.lock": "",
    "bin/rails": "#!/usr/bin/env ruby",
    "config/application.rb": "module Shop; class Application < Rails::Application; end; end",
    "config.ru": "run Rails.application",
    "config/routes.rb": "Rails.application.routes.draw do\n  get \"up\" => \"rails/health#show\", as: :rails_health_check\nend\n",
    "config/database.yml": "default: &default\n  adapter: sqlite3\n",
  }));
  t.same(setups(rails), ["bundle install", "bin/rails db:prepare"]);
  t.same(services(rails), [{ name: "web", command: "bin/rails server -b 0.0.0.0 -p 3000", port: 3000, health_check: { type: "http", path: "/up" } }]);

  const older = detectRuby(memoryFileView({ Gemfile: "gem 'rails', '6.1'\n", "config/database.yml": "default:\n  adapter: postgresql\n" }));
  t.same(setups(older), ["bundle install"], "no db:prepare when the database is a server");
  t.same(services(older)[0], { name: "web", command: "bundle exec rails server -b 0.0.0.0 -p 3000", port: 3000, health_check: { type: "tcp" } });
});

t.test("ruby: rack app on 9292; plain Gemfile without a server", async (t) => {
  const rack = detectRuby(memoryFileView({ Gemfile: "gem 'sinatra'\ngem 'rackup'\n", "config.ru": "require './app'\nrun Sinatra::Application" }));
  t.same(services(rack), [{ name: "web", command: "bundle exec rackup -o 0.0.0.0 -p 9292", port: 9292, health_check: { type: "tcp" } }]);
  const gem = detectRuby(memoryFileView({ Gemfile: "gemspec\n" }));
  t.same(setups(gem), ["bundle install"]);
  t.same(services(gem), []);
  t.match(reasons(gem), /neither a Rails app nor a config\.ru/);
});

t.test("go: go run . on 8080, saying the port is a default", async (t) => {
  const hints = detectGo(memoryFileView({ "go.mod": "module github.com/acme/api\n\ngo 1.23\n", "main.go": "package main\n\nfunc main() { http.ListenAndServe(addr(), nil) }\n", "main_test.go": "package main" }));
  t.same(setups(hints), ["go mod download"]);
  t.same(services(hints), [{ name: "web", command: "go run .", port: 8080, health_check: { type: "tcp" } }]);
  t.match(reasons(hints), /port 8080 is the usual default for Go servers; nothing in the code names another, check it/);
});

t.test("go: a port literal in the code, and cmd/ programs", async (t) => {
  const literal = detectGo(memoryFileView({ "go.mod": "module x\n", "main.go": "package main\nfunc main() { log.Fatal(http.ListenAndServe(\":9000\", r)) }" }));
  t.equal(services(literal)[0]?.port, 9000);
  t.match(reasons(literal), /port 9000 from main\.go/);

  const cmds = detectGo(memoryFileView({
    "go.mod": "module github.com/acme/shop/v2\n",
    "lib.go": "package shop",
    "cmd/migrate/main.go": "package main",
    "cmd/server/main.go": "package main\nconst addr = \"0.0.0.0:8081\"",
    "cmd/tools/README.md": "not go",
  }));
  t.same(services(cmds)[0], { name: "web", command: "go run ./cmd/server", port: 8081, health_check: { type: "tcp" } });
  t.match(reasons(cmds), /several programs \(migrate, server\); picked server/);

  const library = detectGo(memoryFileView({ "go.mod": "module x\n", "x.go": "package x" }));
  t.same(services(library), []);
  t.match(reasons(library), /no package main/);
});

t.test("static: index.html alone gets a file server; any project manifest turns it off", async (t) => {
  t.same(services(detectStatic(memoryFileView({ "index.html": "<h1>hi</h1>", "style.css": "" }))), [
    { name: "web", command: "python3 -m http.server 8080", port: 8080, health_check: { type: "http", path: "/" } },
  ]);
  t.same(detectStatic(memoryFileView({ "index.html": "", "package.json": "{}" })), []);
  t.same(detectStatic(memoryFileView({ "index.html": "", "go.mod": "module x" })), []);
  t.same(detectStatic(memoryFileView({ "README.md": "" })), []);
});
