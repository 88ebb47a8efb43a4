// The in-workspace supervisor: starts the project's services as `dev` in dependency
// order, health-checks them, restarts them per policy with backoff, stops them in
// reverse order, keeps their logs, runs the lifecycle hooks, and writes a status file
// the agent reads. It lives in the container so that an agent restart never touches
// running services.
//
// supervisorProgram is serialised with Function#toString into /opt/nexus/supervisor.mjs
// (see script.ts) and run by the container's own Node.js, which may be as old as 18. So
// it must not use anything from outside its own body (node modules are imported inside)
// and only APIs Node 18 has. Commands (argv[0]):
//   run              the daemon itself (started by `start`, detached)
//   start            launch the daemon unless one runs; return once it has started the first services
//   wait [MS] [--post-start]  until every service is healthy, one failed, or MS passed; then post_start
//   hook NAME        one lifecycle hook (setup runs once: a marker file remembers it)
//   prepare          setup (once) then pre_start
//   up [MS]          pre_start, start, wait, post_start (a workspace start)
//   down             pre_stop, then stop (a workspace stop)
//   stop             stop the daemon: services in reverse order, SIGTERM then SIGKILL
//   status           print the status file
// Each prints one JSON line (SupervisorResult) on stdout; hook output goes to lifecycle.log.
import type { LifecycleHook, SupervisedService, SupervisorPaths, SupervisorResult, SupervisorStatus, ServiceStatusRecord, WorkspaceFile } from "./types.js";

export async function supervisorProgram(argv: string[], paths: SupervisorPaths): Promise<number> {
  const fs = await import("node:fs");
  const path = await import("node:path");
  const os = await import("node:os");
  const net = await import("node:net");
  const http = await import("node:http");
  const { spawn } = await import("node:child_process");
  type Child = import("node:child_process").ChildProcess;

  const STATUS_FILE = path.join(paths.stateDir, "status.json");
  const PID_FILE = path.join(paths.stateDir, "supervisor.pid");
  const SUPERVISOR_LOG = path.join(paths.stateDir, "supervisor.log");
  const LIFECYCLE_LOG = path.join(paths.stateDir, "lifecycle.log");
  const SETUP_MARKER = path.join(paths.stateDir, "setup.done");
  const COMBINED_LOG = path.join(paths.stateDir, "services.log");
  const SCRIPT = process.argv[1] ?? "";
  const HEARTBEAT_MS = 5_000;
  const TAIL_CHARS = 4_000;
  const DEFAULT_HOOK_TIMEOUT_MS = 10 * 60_000;
  /** A service that ran healthy this long before exiting restarts with the initial delay again. */
  const BACKOFF_RESET_MS = 10_000;

  const now = () => new Date().toISOString();
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

  function readWorkspace(): WorkspaceFile {
    return JSON.parse(fs.readFileSync(paths.workspaceFile, "utf8")) as WorkspaceFile;
  }

  function readStatus(): SupervisorStatus | null {
    try {
      return JSON.parse(fs.readFileSync(STATUS_FILE, "utf8")) as SupervisorStatus;
    } catch {
      return null;
    }
  }

  function tailOf(file: string, chars = TAIL_CHARS): string {
    try {
      const fd = fs.openSync(file, "r");
      try {
        const size = fs.fstatSync(fd).size;
        const length = Math.min(size, chars);
        const buffer = Buffer.alloc(length);
        fs.readSync(fd, buffer, 0, length, size - length);
        return buffer.toString("utf8");
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return "";
    }
  }

  /** Started as root (the cheapest exec for the agent), everything runs as the workspace user. */
  function dropPrivileges(workspace: WorkspaceFile): void {
    if (typeof process.getuid !== "function" || process.getuid() !== 0 || workspace.user.uid === 0) return;
    // initgroups (the user's supplementary groups) exists up to Node 22; setgroups everywhere.
    const withGroups = process as NodeJS.Process & { initgroups?: (user: string, group: number) => void };
    try {
      if (withGroups.initgroups) withGroups.initgroups(workspace.user.name, workspace.user.gid);
      else process.setgroups?.([workspace.user.gid]);
    } catch {
      process.setgroups?.([workspace.user.gid]);
    }
    process.setgid?.(workspace.user.gid);
    process.setuid?.(workspace.user.uid);
  }

  /** /etc/environment (KEY=VALUE lines, e.g. NODE_EXTRA_CA_CERTS), then the user, then the workspace's own. */
  function environment(workspace: WorkspaceFile): Record<string, string> {
    const env: Record<string, string> = {};
    try {
      for (const line of fs.readFileSync("/etc/environment", "utf8").split("\n")) {
        const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
        if (match) env[match[1]!] = match[2]!.trim().replace(/^(["'])(.*)\1$/, "$2");
      }
    } catch {
      // No /etc/environment: nothing to add.
    }
    const { name, home } = workspace.user;
    return { ...env, HOME: home, USER: name, LOGNAME: name, ...workspace.env };
  }

  function signalExitCode(code: number | null, signal: NodeJS.Signals | null): number {
    if (code !== null) return code;
    const number = signal ? (os.constants.signals as Record<string, number>)[signal] : undefined;
    return 128 + (number ?? 0);
  }

  function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
    if (!pid) return;
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone.
      }
    }
  }

  /** Appends to a log file; past maxBytes the file becomes `<file>.1` (one old generation) and a new one starts. */
  function logWriter(file: string, maxBytes: number) {
    let fd = -1;
    let size = 0;
    const open = () => {
      fd = fs.openSync(file, "a", 0o644);
      size = fs.fstatSync(fd).size;
    };
    try {
      open();
    } catch {
      fd = -1;
    }
    return {
      write(chunk: Buffer | string) {
        if (fd < 0) return;
        let data = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
        // One read can carry more than the whole cap: keep its end.
        if (data.length > maxBytes) data = data.subarray(data.length - maxBytes);
        try {
          if (size > 0 && size + data.length > maxBytes) {
            fs.closeSync(fd);
            fs.renameSync(file, `${file}.1`);
            open();
          }
          fs.writeSync(fd, data);
          size += data.length;
        } catch {
          // A full disk must not take the services down with the supervisor.
        }
      },
      close() {
        if (fd < 0) return;
        try {
          fs.closeSync(fd);
        } catch {
          // Already closed.
        }
        fd = -1;
      },
    };
  }

  /** The daemon's pid, if one is alive (a pid file left by a dead or reused process does not count). */
  function daemonPid(): number | null {
    let pid: number;
    try {
      pid = Number(fs.readFileSync(PID_FILE, "utf8").trim());
    } catch {
      return null;
    }
    if (!Number.isInteger(pid) || pid <= 1) return null;
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EPERM") return null;
    }
    try {
      // A zombie has an empty command line; a reused pid has someone else's.
      const words = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (!words.includes("run") || !words.includes(SCRIPT)) return null;
    } catch {
      // No /proc: trust the signal check.
    }
    return pid;
  }

  function startLayers(services: SupervisedService[]): string[][] {
    const names = new Set(services.map((s) => s.name));
    const done = new Set<string>();
    const layers: string[][] = [];
    let rest = services.slice();
    while (rest.length > 0) {
      const ready = rest.filter((s) => s.depends_on.every((d) => done.has(d) || !names.has(d)));
      const layer = (ready.length > 0 ? ready : rest).map((s) => s.name);
      layers.push(layer);
      for (const name of layer) done.add(name);
      rest = rest.filter((s) => !done.has(s.name));
    }
    return layers;
  }

  // ---- lifecycle hooks

  async function runHook(workspace: WorkspaceFile, hook: LifecycleHook, env: Record<string, string>): Promise<SupervisorResult> {
    const script = workspace.lifecycle[hook];
    if (!script || script.trim() === "") return { ok: true };
    if (hook === "setup" && fs.existsSync(SETUP_MARKER)) return { ok: true };
    const log = logWriter(LIFECYCLE_LOG, workspace.log_max_bytes);
    log.write(`--- ${hook} started ${now()}\n`);
    let tail = "";
    const timeoutMs = workspace.hook_timeout_ms[hook] ?? DEFAULT_HOOK_TIMEOUT_MS;
    let timedOut = false;
    const code = await new Promise<number>((resolve) => {
      let child: Child;
      try {
        child = spawn("/bin/sh", ["-c", script], { cwd: workspace.repo_dir, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
      } catch (error) {
        tail = (error as Error).message;
        resolve(127);
        return;
      }
      const onData = (chunk: Buffer) => {
        log.write(chunk);
        tail = (tail + chunk.toString("utf8")).slice(-TAIL_CHARS);
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid, "SIGKILL");
      }, timeoutMs);
      child.on("error", (error) => {
        clearTimeout(timer);
        tail += error.message;
        resolve(127);
      });
      child.on("exit", (exitCode, signal) => {
        clearTimeout(timer);
        // Output may still be in flight; a process the hook left in the background may
        // hold the pipes open for ever, so wait for them only briefly.
        const finish = () => resolve(signalExitCode(exitCode, signal));
        const grace = setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          finish();
        }, 200);
        child.once("close", () => {
          clearTimeout(grace);
          finish();
        });
      });
    });
    log.write(`--- ${hook} ended ${now()} (exit ${code})\n`);
    log.close();
    if (code === 0 && !timedOut) {
      if (hook === "setup") fs.writeFileSync(SETUP_MARKER, `${now()}\n`);
      return { ok: true };
    }
    const message = timedOut ? `${hook} did not finish within ${seconds(timeoutMs)}` : `${hook} exited with code ${code}`;
    return { ok: false, stage: hook, exit_code: code, message, output: tail };
  }

  // ---- the daemon

  interface Unit {
    spec: SupervisedService;
    status: ServiceStatusRecord["status"];
    health: ServiceStatusRecord["health"];
    child: Child | null;
    restarts: number;
    consecutiveFailures: number;
    failedChecks: number;
    startedAt: string | null;
    spawnMs: number;
    healthyAt: string | null;
    /** Set while healthy in the current run. */
    healthySinceMs: number | null;
    /** When the current unhealthy stretch began (first spawn since last healthy); null while healthy. */
    deadlineFromMs: number | null;
    lastCheck: string | null;
    lastError: string | null;
    exitCode: number | null;
    failed: boolean;
    /** Bumped to end the current probe loop and ignore a stale child's exit. */
    generation: number;
    restartTimer: ReturnType<typeof setTimeout> | null;
    onStopped: (() => void) | null;
  }

  async function runDaemon(workspace: WorkspaceFile): Promise<number> {
    const env = environment(workspace);
    const combined = logWriter(COMBINED_LOG, workspace.log_max_bytes);
    fs.writeFileSync(PID_FILE, `${process.pid}\n`);
    const startedAt = now();
    let state: SupervisorStatus["state"] = "starting";
    const units = new Map<string, Unit>();
    for (const spec of workspace.services) {
      units.set(spec.name, {
        spec, status: "pending", health: "unknown", child: null, restarts: 0, consecutiveFailures: 0, failedChecks: 0,
        startedAt: null, spawnMs: 0, healthyAt: null, healthySinceMs: null, deadlineFromMs: null, lastCheck: null,
        lastError: null, exitCode: null, failed: false, generation: 0, restartTimer: null, onStopped: null,
      });
    }
    const stopping = () => state === "stopping" || state === "stopped";

    function writeStatus(): void {
      const services: Record<string, ServiceStatusRecord> = {};
      for (const [name, u] of units) {
        services[name] = {
          status: u.status, health: u.health, pid: u.child?.pid ?? null, restarts: u.restarts, started_at: u.startedAt,
          healthy_at: u.healthyAt, last_check: u.lastCheck, last_error: u.lastError, exit_code: u.exitCode, failed: u.failed,
        };
      }
      const status: SupervisorStatus = { pid: process.pid, state, started_at: startedAt, updated_at: now(), services };
      const temp = `${STATUS_FILE}.${process.pid}.tmp`;
      try {
        fs.writeFileSync(temp, JSON.stringify(status));
        fs.renameSync(temp, STATUS_FILE);
      } catch {
        // Readers keep the previous status; the next change or heartbeat writes again.
      }
    }

    const deadlineMs = (spec: SupervisedService) => spec.health_check.start_period + spec.health_check.retries * spec.health_check.interval;

    /** A service not healthy by its deadline is marked failed (it keeps being checked and may still recover). */
    function checkDeadline(unit: Unit): boolean {
      if (unit.failed || unit.health === "healthy" || unit.deadlineFromMs === null) return false;
      const limit = deadlineMs(unit.spec);
      if (Date.now() - unit.deadlineFromMs < limit) return false;
      unit.failed = true;
      if (unit.child) {
        unit.status = "unhealthy";
        unit.health = "unhealthy";
      }
      unit.lastError = `not healthy after ${seconds(limit)}${unit.lastError ? `: ${unit.lastError}` : ""}`;
      return true;
    }

    function schedule(): void {
      if (stopping()) return;
      for (const unit of units.values()) {
        if (unit.status !== "pending") continue;
        if (unit.spec.depends_on.every((name) => units.get(name)?.health === "healthy")) spawnUnit(unit);
      }
    }

    function spawnUnit(unit: Unit): void {
      const generation = ++unit.generation;
      const { spec } = unit;
      unit.status = "starting";
      unit.health = "unknown";
      unit.startedAt = now();
      unit.spawnMs = Date.now();
      unit.deadlineFromMs ??= unit.spawnMs;
      unit.healthySinceMs = null;
      unit.failedChecks = 0;
      const log = logWriter(path.join(paths.logDir, `${spec.name}.log`), workspace.log_max_bytes);
      log.write(`--- nexus: starting ${spec.name} at ${unit.startedAt}\n`);
      let child: Child;
      try {
        child = spawn("/bin/sh", ["-c", spec.command], {
          cwd: workspace.repo_dir,
          env: { ...env, ...spec.env },
          detached: true,
          stdio: ["ignore", "pipe", "pipe"],
        });
      } catch (error) {
        log.close();
        unit.lastError = (error as Error).message;
        unit.status = "error";
        unit.health = "unhealthy";
        unit.failed = true;
        writeStatus();
        return;
      }
      unit.child = child;
      // Each stream goes to the service's own log as is, and line by line, prefixed with
      // the service's name, to the combined log that `logs` without a service serves.
      const forward = () => {
        let partial = "";
        return (chunk: Buffer) => {
          log.write(chunk);
          const lines = (partial + chunk.toString("utf8")).split("\n");
          partial = lines.pop() ?? "";
          if (partial.length > 4_096) {
            lines.push(partial);
            partial = "";
          }
          if (lines.length > 0) combined.write(lines.map((line) => `${spec.name} | ${line}\n`).join(""));
        };
      };
      child.stdout?.on("data", forward());
      child.stderr?.on("data", forward());
      child.once("close", () => log.close());
      let exited = false;
      const onExit = (code: number | null, signal: NodeJS.Signals | null, error?: Error) => {
        if (exited) return;
        exited = true;
        log.write(`--- nexus: ${spec.name} ${error ? `failed to start: ${error.message}` : signal ? `killed by ${signal}` : `exited with code ${code}`} at ${now()}\n`);
        if (error) log.close();
        handleExit(unit, child, error ? 127 : signalExitCode(code, signal), error ? `failed to start: ${error.message}` : signal ? `killed by ${signal}` : `exited with code ${code}`);
      };
      child.on("error", (error) => onExit(null, null, error));
      child.on("exit", (code, signal) => onExit(code, signal));
      writeStatus();
      void probeLoop(unit, generation);
    }

    function handleExit(unit: Unit, child: Child, exitCode: number, reason: string): void {
      if (unit.child !== child) return;
      unit.child = null;
      unit.generation++;
      // Whatever the service left running in its process group goes with it.
      killGroup(child.pid, "SIGKILL");
      unit.exitCode = exitCode;
      if (unit.onStopped || stopping()) {
        unit.status = "stopped";
        unit.health = "unknown";
        const done = unit.onStopped;
        unit.onStopped = null;
        done?.();
        writeStatus();
        return;
      }
      if (unit.healthySinceMs !== null && Date.now() - unit.healthySinceMs >= BACKOFF_RESET_MS) unit.consecutiveFailures = 0;
      unit.healthySinceMs = null;
      unit.deadlineFromMs ??= Date.now();
      const policy = unit.spec.restart;
      const restart = policy === "always" || (policy === "on-failure" && exitCode !== 0);
      unit.lastError = reason;
      if (restart) {
        unit.consecutiveFailures++;
        unit.restarts++;
        const delay = Math.min(workspace.backoff.max_ms, workspace.backoff.initial_ms * 2 ** (unit.consecutiveFailures - 1));
        unit.status = "error";
        unit.health = "unhealthy";
        unit.lastError = `${reason}; restarting in ${seconds(delay)}`;
        unit.restartTimer = setTimeout(() => {
          unit.restartTimer = null;
          if (!stopping()) spawnUnit(unit);
        }, delay);
        checkDeadline(unit);
      } else {
        unit.status = exitCode === 0 ? "stopped" : "error";
        unit.health = exitCode === 0 ? "unknown" : "unhealthy";
        unit.failed = true;
      }
      writeStatus();
    }

    function connectProbe(port: number, timeoutMs: number, hosts = ["127.0.0.1", "::1"]): Promise<string | null> {
      return new Promise((resolve) => {
        const [host, ...others] = hosts;
        const socket = net.connect({ host: host!, port });
        const timer = setTimeout(() => {
          socket.destroy();
          resolve(`connect to port ${port} timed out after ${seconds(timeoutMs)}`);
        }, timeoutMs);
        socket.once("connect", () => {
          clearTimeout(timer);
          socket.destroy();
          resolve(null);
        });
        socket.once("error", (error: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          socket.destroy();
          if (others.length > 0 && (error.code === "ECONNREFUSED" || error.code === "EADDRNOTAVAIL" || error.code === "EAFNOSUPPORT")) {
            resolve(connectProbe(port, timeoutMs, others));
          } else {
            resolve(`connect to port ${port}: ${error.code ?? error.message}`);
          }
        });
      });
    }

    function httpProbe(port: number, urlPath: string, timeoutMs: number, hosts = ["127.0.0.1", "::1"]): Promise<string | null> {
      return new Promise((resolve) => {
        const [host, ...others] = hosts;
        let settled = false;
        const settle = (value: string | null | Promise<string | null>) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(value);
        };
        const request = http.request({ host, port, path: urlPath, method: "GET", headers: { "user-agent": "nexus-health-check", connection: "close" } }, (response) => {
          response.resume();
          const code = response.statusCode ?? 0;
          settle(code >= 200 && code < 400 ? null : `GET ${urlPath} on port ${port} answered ${code}`);
        });
        const timer = setTimeout(() => {
          request.destroy();
          settle(`GET ${urlPath} on port ${port} timed out after ${seconds(timeoutMs)}`);
        }, timeoutMs);
        request.once("error", (error: NodeJS.ErrnoException) => {
          if (others.length > 0 && (error.code === "ECONNREFUSED" || error.code === "EADDRNOTAVAIL" || error.code === "EAFNOSUPPORT")) {
            settle(httpProbe(port, urlPath, timeoutMs, others));
          } else {
            settle(`GET ${urlPath} on port ${port}: ${error.code ?? error.message}`);
          }
        });
        request.end();
      });
    }

    function execProbe(command: string, timeoutMs: number, probeEnv: Record<string, string>): Promise<string | null> {
      return new Promise((resolve) => {
        let child: Child;
        try {
          child = spawn("/bin/sh", ["-c", command], { cwd: workspace.repo_dir, env: probeEnv, detached: true, stdio: "ignore" });
        } catch (error) {
          resolve(`health command failed to start: ${(error as Error).message}`);
          return;
        }
        const timer = setTimeout(() => killGroup(child.pid, "SIGKILL"), timeoutMs);
        child.once("error", (error) => {
          clearTimeout(timer);
          resolve(`health command failed to start: ${error.message}`);
        });
        child.once("exit", (code, signal) => {
          clearTimeout(timer);
          resolve(code === 0 ? null : signal === "SIGKILL" ? `health command timed out after ${seconds(timeoutMs)}` : `health command exited with code ${signalExitCode(code, signal)}`);
        });
      });
    }

    /** null when healthy, else why not. */
    function probe(unit: Unit): Promise<string | null> {
      const check = unit.spec.health_check;
      switch (check.type) {
        case "process":
          return Promise.resolve(unit.child && unit.child.exitCode === null ? null : "the process is not running");
        case "tcp":
          return connectProbe(check.port, check.timeout);
        case "http":
          return httpProbe(check.port, check.path, check.timeout);
        case "exec":
          return execProbe(check.command, check.timeout, { ...env, ...unit.spec.env });
      }
    }

    async function probeLoop(unit: Unit, generation: number): Promise<void> {
      const check = unit.spec.health_check;
      // Until the first success, probe quickly (50 ms, doubling up to the interval) so a
      // service that comes up fast is seen at once; after that, every interval.
      let quick = Math.min(50, check.interval);
      const current = () => unit.generation === generation && unit.child !== null && !stopping();
      while (current()) {
        const problem = await probe(unit);
        if (!current()) return;
        unit.lastCheck = now();
        if (problem === null) {
          unit.failedChecks = 0;
          if (unit.health !== "healthy") {
            unit.health = "healthy";
            unit.status = "running";
            unit.healthyAt = unit.lastCheck;
            unit.healthySinceMs = Date.now();
            unit.deadlineFromMs = null;
            unit.failed = false;
            unit.lastError = null;
            writeStatus();
            schedule();
          }
          await sleep(check.interval);
          continue;
        }
        unit.lastError = problem;
        if (unit.healthySinceMs !== null) {
          if (Date.now() - unit.spawnMs >= check.start_period && ++unit.failedChecks >= check.retries && unit.health !== "unhealthy") {
            unit.status = "unhealthy";
            unit.health = "unhealthy";
            writeStatus();
          }
          await sleep(check.interval);
        } else {
          if (checkDeadline(unit)) writeStatus();
          await sleep(quick);
          quick = Math.min(check.interval, quick * 2);
        }
      }
    }

    async function stopUnit(unit: Unit): Promise<void> {
      if (unit.restartTimer) clearTimeout(unit.restartTimer);
      unit.restartTimer = null;
      unit.generation++;
      const child = unit.child;
      if (!child) {
        unit.status = "stopped";
        unit.health = "unknown";
        return;
      }
      const stopped = new Promise<void>((resolve) => {
        unit.onStopped = resolve;
      });
      killGroup(child.pid, "SIGTERM");
      const kill = setTimeout(() => killGroup(child.pid, "SIGKILL"), workspace.stop_timeout_ms);
      // SIGKILL cannot be ignored; the extra wait only guards against a process stuck in the kernel.
      const giveUp = new Promise<void>((resolve) => setTimeout(resolve, workspace.stop_timeout_ms + 5_000));
      await Promise.race([stopped, giveUp]);
      clearTimeout(kill);
      unit.status = "stopped";
      unit.health = "unknown";
    }

    schedule();
    state = "running";
    writeStatus();
    const heartbeat = setInterval(() => {
      for (const unit of units.values()) checkDeadline(unit);
      writeStatus();
    }, HEARTBEAT_MS);
    await new Promise<void>((resolve) => {
      process.once("SIGTERM", () => resolve());
      process.once("SIGINT", () => resolve());
    });
    clearInterval(heartbeat);
    state = "stopping";
    writeStatus();
    for (const layer of startLayers(workspace.services).reverse()) {
      await Promise.all(layer.map((name) => stopUnit(units.get(name)!)));
      writeStatus();
    }
    state = "stopped";
    writeStatus();
    try {
      fs.unlinkSync(PID_FILE);
    } catch {
      // Already gone.
    }
    return 0;
  }

  // ---- commands the agent runs

  async function start(): Promise<SupervisorResult> {
    if (daemonPid() !== null) return { ok: true, status: readStatus() };
    try {
      fs.unlinkSync(STATUS_FILE);
    } catch {
      // No old status.
    }
    const out = fs.openSync(SUPERVISOR_LOG, "a", 0o644);
    const child = spawn(process.execPath, [SCRIPT, "run"], { detached: true, stdio: ["ignore", out, out], cwd: "/", env: process.env });
    fs.closeSync(out);
    let exit: string | null = null;
    child.once("exit", (code, signal) => {
      exit = signal ? `killed by ${signal}` : `exited with code ${code}`;
    });
    child.once("error", (error) => {
      exit = `failed to start: ${error.message}`;
    });
    child.unref();
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const status = readStatus();
      if (status && status.pid === child.pid && status.state !== "starting") return { ok: true, status };
      if (exit !== null) return { ok: false, stage: "supervisor", reason: "supervisor_exited", message: `the service supervisor ${exit}`, output: tailOf(SUPERVISOR_LOG) };
      await sleep(20);
    }
    return { ok: false, stage: "supervisor", reason: "timeout", message: "the service supervisor did not start within 15 s", output: tailOf(SUPERVISOR_LOG) };
  }

  async function wait(timeoutMs: number): Promise<SupervisorResult> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = readStatus();
      const entries = Object.entries(status?.services ?? {});
      const failed = entries.find(([, s]) => s.failed);
      if (failed) {
        const [name, service] = failed;
        return {
          ok: false, stage: "services", reason: "service_failed", service: name,
          message: `service "${name}" ${service.last_error ?? `is ${service.status}`}`,
          output: tailOf(path.join(paths.logDir, `${name}.log`), 2_000), status,
        };
      }
      if (status && entries.every(([, s]) => s.health === "healthy")) return { ok: true, status };
      if (daemonPid() === null) {
        return { ok: false, stage: "supervisor", reason: "supervisor_exited", message: "the service supervisor is not running", output: tailOf(SUPERVISOR_LOG), status };
      }
      if (Date.now() >= deadline) {
        const [name, service] = entries.find(([, s]) => s.health !== "healthy") ?? ["", undefined];
        return {
          ok: false, stage: "services", reason: "timeout", ...(name ? { service: name } : {}),
          message: name ? `service "${name}" was not healthy within ${seconds(timeoutMs)} (${service?.last_error ?? service?.status})` : `services were not healthy within ${seconds(timeoutMs)}`,
          ...(name ? { output: tailOf(path.join(paths.logDir, `${name}.log`), 2_000) } : {}),
          status,
        };
      }
      await sleep(50);
    }
  }

  async function stop(workspace: WorkspaceFile): Promise<SupervisorResult> {
    const pid = daemonPid();
    if (pid === null) return { ok: true, status: readStatus() };
    process.kill(pid, "SIGTERM");
    const limit = Date.now() + startLayers(workspace.services).length * (workspace.stop_timeout_ms + 2_000) + 5_000;
    while (daemonPid() !== null && Date.now() < limit) await sleep(50);
    if (daemonPid() !== null) {
      // The daemon itself is stuck: take it and every service down by force.
      for (const service of Object.values(readStatus()?.services ?? {})) killGroup(service.pid ?? undefined, "SIGKILL");
      killGroup(pid, "SIGKILL");
      return { ok: false, stage: "supervisor", reason: "timeout", message: "the service supervisor did not stop in time and was killed", status: readStatus() };
    }
    return { ok: true, status: readStatus() };
  }

  /** Long enough for every service to reach its own deadline, one after another, and a margin. */
  function defaultWaitMs(workspace: WorkspaceFile): number {
    const total = workspace.services.reduce((sum, s) => sum + s.health_check.start_period + s.health_check.retries * s.health_check.interval + s.health_check.timeout, 0);
    return Math.min(30 * 60_000, total + 30_000);
  }

  const print = (result: SupervisorResult): number => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return result.ok ? 0 : 1;
  };

  const [command, ...rest] = argv;
  try {
    const workspace = readWorkspace();
    dropPrivileges(workspace);
    const env = environment(workspace);
    switch (command) {
      case "run":
        return await runDaemon(workspace);
      case "start":
        return print(await start());
      case "wait": {
        const result = await wait(Number(rest[0]) || defaultWaitMs(workspace));
        if (!result.ok || !rest.includes("--post-start")) return print(result);
        const hook = await runHook(workspace, "post_start", env);
        return print(hook.ok ? result : { ...hook, status: result.status ?? null });
      }
      case "hook": {
        const hook = rest[0] as LifecycleHook;
        if (!["setup", "pre_start", "post_start", "pre_stop"].includes(hook)) return print({ ok: false, stage: "supervisor", message: `unknown hook ${JSON.stringify(hook)}` });
        return print(await runHook(workspace, hook, env));
      }
      case "prepare": {
        const setup = await runHook(workspace, "setup", env);
        return print(setup.ok ? await runHook(workspace, "pre_start", env) : setup);
      }
      case "up": {
        const preStart = await runHook(workspace, "pre_start", env);
        if (!preStart.ok) return print(preStart);
        let status: SupervisorStatus | null = null;
        if (workspace.services.length > 0) {
          const started = await start();
          if (!started.ok) return print(started);
          const healthy = await wait(Number(rest[0]) || defaultWaitMs(workspace));
          if (!healthy.ok) return print(healthy);
          status = healthy.status ?? null;
        }
        const postStart = await runHook(workspace, "post_start", env);
        return print(postStart.ok ? { ok: true, status } : { ...postStart, status });
      }
      case "down": {
        const preStop = await runHook(workspace, "pre_stop", env);
        const stopped = await stop(workspace);
        // A failing pre_stop does not keep the workspace from stopping; it is reported.
        return print(preStop.ok ? stopped : { ...stopped, stage: "pre_stop", message: preStop.message, output: preStop.output });
      }
      case "stop":
        return print(await stop(workspace));
      case "status":
        return print({ ok: true, status: daemonPid() === null ? null : readStatus() });
      default:
        return print({ ok: false, stage: "supervisor", message: `unknown supervisor command ${JSON.stringify(command)}` });
    }
  } catch (error) {
    return print({ ok: false, stage: "supervisor", message: error instanceof Error ? error.message : String(error) });
  }
}
