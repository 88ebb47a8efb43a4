// Runs argv inside a fake container: a few coreutils and a small `sh` (see
// shell-parse.ts), enough for provider conformance checks and simple agent steps.
// Unknown commands exit 127, like a real shell; tests script anything richer with
// FakeProviderControl.onExec.
import { posix } from "node:path";
import type { ExecResult } from "@nexus/core";
import { FakeFileSystem } from "./fs.js";
import { UnsupportedSyntax, parseScript, type Redirect, type Word } from "./shell-parse.js";

export interface FakeUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface ShellState {
  fs: FakeFileSystem;
  user: FakeUser;
  cwd: string;
  env: Record<string, string>;
  lookupUser(nameOrId: string | number): FakeUser | undefined;
}

interface Io {
  stdin: Buffer;
  stdout(text: string): void;
  stderr(text: string): void;
}

type Command = (args: string[], io: Io, state: ShellState) => number;

/** Runs one argv to completion and collects its output. */
export function runArgv(argv: readonly string[], state: ShellState, stdin: Buffer): ExecResult {
  let stdout = "";
  let stderr = "";
  const exitCode = runCommand([...argv], { stdin, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) }, state);
  return { exitCode, stdout, stderr };
}

function runCommand(argv: string[], io: Io, state: ShellState): number {
  const [name, ...args] = argv;
  if (name === undefined) return 0;
  const command = COMMANDS[posix.basename(name)];
  if (!command) {
    io.stderr(`sh: ${name}: not found\n`);
    return 127;
  }
  return command(args, io, state);
}

function readArg(path: string, state: ShellState): Buffer | undefined {
  return state.fs.read(FakeFileSystem.resolve(state.cwd, path));
}

const COMMANDS: Record<string, Command> = {
  true: () => 0,
  false: () => 1,
  ":": () => 0,
  echo(args, io) {
    const newline = args[0] !== "-n";
    io.stdout(args.slice(newline ? 0 : 1).join(" ") + (newline ? "\n" : ""));
    return 0;
  },
  printf(args, io) {
    const [format, ...values] = args;
    if (format === undefined) {
      io.stderr("printf: missing format\n");
      return 2;
    }
    io.stdout(formatPrintf(format, values));
    return 0;
  },
  cat(args, io, state) {
    let status = 0;
    for (const path of args.length ? args : ["-"]) {
      const data = path === "-" ? io.stdin : readArg(path, state);
      if (data === undefined) {
        io.stderr(`cat: ${path}: No such file or directory\n`);
        status = 1;
      } else io.stdout(data.toString());
    }
    return status;
  },
  pwd(_args, io, state) {
    io.stdout(`${state.cwd}\n`);
    return 0;
  },
  whoami(_args, io, state) {
    io.stdout(`${state.user.name}\n`);
    return 0;
  },
  id(args, io, state) {
    const { user } = state;
    const flags = args.join("").replaceAll("-", "");
    const byName = flags.includes("n");
    if (flags.includes("u")) io.stdout(`${byName ? user.name : user.uid}\n`);
    else if (flags.includes("g")) io.stdout(`${byName ? user.name : user.gid}\n`);
    else io.stdout(`uid=${user.uid}(${user.name}) gid=${user.gid}(${user.name})\n`);
    return 0;
  },
  test: (args, _io, state) => evaluateTest(args, state),
  "[": (args, io, state) => {
    if (args.at(-1) !== "]") {
      io.stderr("[: missing ]\n");
      return 2;
    }
    return evaluateTest(args.slice(0, -1), state);
  },
  mkdir(args, io, state) {
    const parents = args.includes("-p");
    let status = 0;
    for (const path of args.filter((a) => !a.startsWith("-"))) {
      const failure = state.fs.mkdir(FakeFileSystem.resolve(state.cwd, path), { parents, uid: state.user.uid, gid: state.user.gid });
      if (failure) {
        io.stderr(`mkdir: ${failure}\n`);
        status = 1;
      }
    }
    return status;
  },
  rm(args, io, state) {
    const flags = args.filter((a) => a.startsWith("-")).join("");
    let status = 0;
    for (const path of args.filter((a) => !a.startsWith("-"))) {
      const failure = state.fs.remove(FakeFileSystem.resolve(state.cwd, path), { recursive: flags.includes("r") });
      if (failure && !flags.includes("f")) {
        io.stderr(`rm: ${failure}\n`);
        status = 1;
      }
    }
    return status;
  },
  chmod(args, io, state) {
    const [mode, ...paths] = args;
    if (!mode || !/^[0-7]{3,4}$/.test(mode)) {
      io.stderr("chmod: the fake shell supports octal modes only\n");
      return 2;
    }
    let status = 0;
    for (const path of paths) {
      const failure = state.fs.chmod(FakeFileSystem.resolve(state.cwd, path), Number.parseInt(mode, 8));
      if (failure) {
        io.stderr(`chmod: ${failure}\n`);
        status = 1;
      }
    }
    return status;
  },
  stat(args, io, state) {
    const formatIndex = args.indexOf("-c");
    const format = formatIndex === -1 ? "%n %s %a %u %g" : args[formatIndex + 1];
    const paths = args.filter((_, index) => formatIndex === -1 || (index !== formatIndex && index !== formatIndex + 1));
    let status = 0;
    for (const path of paths) {
      const entry = state.fs.get(FakeFileSystem.resolve(state.cwd, path));
      if (!entry || format === undefined) {
        io.stderr(`stat: cannot stat '${path}': No such file or directory\n`);
        status = 1;
        continue;
      }
      const owner = (id: number) => state.lookupUser(id)?.name ?? String(id);
      const fields: Record<string, string> = {
        a: entry.mode.toString(8), s: String(entry.data.length), n: path, u: String(entry.uid), g: String(entry.gid),
        U: owner(entry.uid), G: owner(entry.gid), F: entry.kind === "dir" ? "directory" : "regular file", "%": "%",
      };
      io.stdout(`${format.replace(/%(.)/g, (whole, key: string) => fields[key] ?? whole)}\n`);
    }
    return status;
  },
  ls(args, io, state) {
    const path = args.find((a) => !a.startsWith("-")) ?? ".";
    const names = state.fs.list(FakeFileSystem.resolve(state.cwd, path));
    if (!names) {
      io.stderr(`ls: cannot access '${path}': No such file or directory\n`);
      return 2;
    }
    io.stdout(names.map((n) => n.replace(/\/$/, "")).map((n) => `${n}\n`).join(""));
    return 0;
  },
  env(args, io, state) {
    const env = { ...state.env };
    let index = 0;
    for (; index < args.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(args[index]!); index++) {
      const [key, ...rest] = args[index]!.split("=");
      env[key!] = rest.join("=");
    }
    if (index < args.length) return runCommand(args.slice(index), io, { ...state, env });
    io.stdout(Object.entries(env).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}\n`).join(""));
    return 0;
  },
  printenv(args, io, state) {
    if (args.length === 0) return COMMANDS.env!([], io, state);
    const value = state.env[args[0]!];
    if (value === undefined) return 1;
    io.stdout(`${value}\n`);
    return 0;
  },
  sleep: () => 0,
  sh: runShell,
  bash: runShell,
};

/** `sh -c SCRIPT [NAME ARGS…]`, or `sh`/`sh -s` reading the script from stdin. */
function runShell(args: string[], io: Io, state: ShellState): number {
  let script: string;
  let positional: string[];
  if (args[0] === "-c") {
    if (args[1] === undefined) {
      io.stderr("sh: -c requires an argument\n");
      return 2;
    }
    script = args[1];
    positional = args.slice(2);
  } else if (args.length === 0 || args[0] === "-s") {
    script = io.stdin.toString();
    positional = ["sh", ...args.slice(1)];
  } else {
    io.stderr("sh: the fake shell runs `sh -c SCRIPT` or a script on stdin\n");
    return 2;
  }
  try {
    return new ShellRun(script, positional, io, state).run();
  } catch (error) {
    if (!(error instanceof UnsupportedSyntax)) throw error;
    io.stderr(`sh: unsupported in the fake shell: ${error.message} (script it with control.onExec)\n`);
    return 2;
  }
}

class ShellRun {
  readonly #items;
  readonly #positional: string[];
  readonly #io: Io;
  readonly #state: ShellState;
  #status = 0;
  #errexit = false;

  constructor(script: string, positional: string[], io: Io, state: ShellState) {
    this.#items = parseScript(script);
    this.#positional = positional;
    this.#io = io;
    // The script's cd/export must not leak into the caller's state.
    this.#state = { ...state, env: { ...state.env } };
  }

  run(): number {
    for (const [index, { connector, command }] of this.#items.entries()) {
      if ((connector === "&&" && this.#status !== 0) || (connector === "||" && this.#status === 0)) continue;
      const words = command.words.flatMap((w) => this.#expand(w));
      const negate = words[0] === "!";
      const exit = this.#runSimple(negate ? words.slice(1) : words, command.redirects);
      if (exit !== undefined) return exit;
      if (negate) this.#status = this.#status === 0 ? 1 : 0;
      const next = this.#items[index + 1]?.connector ?? ";";
      if (this.#errexit && !negate && this.#status !== 0 && next === ";") return this.#status;
    }
    return this.#status;
  }

  /** Runs one command; returns a number only when the script must end (exit). */
  #runSimple(words: string[], redirects: Redirect[]): number | undefined {
    const assignments: Record<string, string> = {};
    while (words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!)) {
      const [key, ...rest] = words.shift()!.split("=");
      assignments[key!] = rest.join("=");
    }
    const io = this.#redirect(redirects);
    if (!io) {
      this.#status = 1;
      return undefined;
    }
    const [name, ...args] = words;
    if (name === undefined) {
      Object.assign(this.#state.env, assignments);
      this.#status = 0;
      return undefined;
    }
    switch (name) {
      case "exit":
        return args[0] === undefined ? this.#status : Number.parseInt(args[0], 10) & 255;
      case "cd": {
        const target = FakeFileSystem.resolve(this.#state.cwd, args[0] ?? this.#state.user.home);
        if (this.#state.fs.isDir(target)) {
          this.#state.cwd = target;
          this.#status = 0;
        } else {
          io.stderr(`sh: cd: can't cd to ${args[0]}\n`);
          this.#status = 2;
        }
        return undefined;
      }
      case "export":
        for (const arg of args) {
          const [key, ...rest] = arg.split("=");
          if (rest.length) this.#state.env[key!] = rest.join("=");
        }
        this.#status = 0;
        return undefined;
      case "set":
        for (const arg of args) if (/^-[a-z]*e/.test(arg)) this.#errexit = true;
        this.#status = 0;
        return undefined;
      default:
        this.#status = runCommand([name, ...args], io, { ...this.#state, env: { ...this.#state.env, ...assignments } });
        return undefined;
    }
  }

  #expand(word: Word): string[] {
    const text = word.parts.map((p) => ("literal" in p ? p.literal : this.#variable(p.variable))).join("");
    return text === "" && !word.quoted ? [] : [text];
  }

  #variable(name: string): string {
    if (name === "?") return String(this.#status);
    if (name === "#") return String(Math.max(0, this.#positional.length - 1));
    if (/^[0-9]$/.test(name)) return this.#positional[Number(name)] ?? "";
    return this.#state.env[name] ?? "";
  }

  #redirect(redirects: Redirect[]): Io | undefined {
    const { fs, cwd, user } = this.#state;
    const sinks: Record<1 | 2, (text: string) => void> = { 1: this.#io.stdout, 2: this.#io.stderr };
    let stdin = this.#io.stdin;
    for (const redirect of redirects) {
      if (redirect.kind === "dup") {
        sinks[redirect.fd] = sinks[redirect.to];
        continue;
      }
      const target = this.#expand(redirect.target)[0] ?? "";
      if (target === "/dev/null") {
        if (redirect.fd === 0) stdin = Buffer.alloc(0);
        else sinks[redirect.fd] = () => undefined;
        continue;
      }
      const path = FakeFileSystem.resolve(cwd, target);
      if (redirect.fd === 0) {
        const data = fs.read(path);
        if (!data) {
          this.#io.stderr(`sh: cannot open ${target}: No such file\n`);
          return undefined;
        }
        stdin = data;
        continue;
      }
      const failure = fs.write(path, Buffer.alloc(0), { append: redirect.append }, user);
      if (failure) {
        this.#io.stderr(`sh: cannot create ${target}: ${failure}\n`);
        return undefined;
      }
      sinks[redirect.fd] = (text) => void fs.write(path, Buffer.from(text), { append: true }, user);
    }
    return { stdin, stdout: sinks[1], stderr: sinks[2] };
  }
}

function evaluateTest(args: string[], state: ShellState): number {
  const path = (p: string | undefined) => FakeFileSystem.resolve(state.cwd, p ?? "");
  const truth = (value: boolean) => (value ? 0 : 1);
  if (args[0] === "!") return 1 - evaluateTest(args.slice(1), state);
  const [a, b, c] = args;
  if (args.length === 2) {
    switch (a) {
      case "-f": return truth(state.fs.isFile(path(b)));
      case "-d": return truth(state.fs.isDir(path(b)));
      case "-e": return truth(state.fs.get(path(b)) !== undefined);
      case "-s": return truth((state.fs.read(path(b))?.length ?? 0) > 0);
      case "-n": return truth(b !== "");
      case "-z": return truth(b === "");
    }
  }
  if (args.length === 3 && (b === "=" || b === "!=")) return truth((a === c) === (b === "="));
  if (args.length === 1) return truth(a !== "");
  return 2;
}

function formatPrintf(format: string, values: string[]): string {
  const escapes: Record<string, string> = { n: "\n", t: "\t", "\\": "\\", '"': '"', r: "\r" };
  let output = "";
  let index = 0;
  do {
    let consumed = false;
    output += format.replace(/\\(.)|%([%sdb])/g, (whole, escape: string | undefined, directive: string | undefined) => {
      if (escape !== undefined) return escapes[escape] ?? whole;
      if (directive === "%") return "%";
      consumed = true;
      const value = values[index++] ?? "";
      return directive === "d" ? String(Number.parseInt(value || "0", 10)) : value;
    });
    if (!consumed) break;
  } while (index < values.length);
  return output;
}
