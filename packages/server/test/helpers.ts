import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, afterEach, type TestContext } from "node:test";
import { engineScoped, openResources } from "@keel/engine";
import type { Logger } from "pino";
import { createLogger } from "../src/log.js";

const ROOT = new URL("../../../", import.meta.url).pathname;
const BIN = join(ROOT, "packages/server/src/bin/keel.ts");

/**
 * The server runs on the built @keel/engine, a different module instance from the engine
 * sources the engine's own helpers load: leaks are checked in the server's copy here.
 */
export function guardServerLeaks(): void {
  afterEach(() => {
    const live = openResources().filter((kind) => !engineScoped(kind));
    assert.deepEqual(live, [], `test left resources running: ${live.join(", ")}`);
  });
  after(() =>
    assert.deepEqual(openResources(), [], `test file left resources open: ${openResources().join(", ")}`),
  );
}

/** A temporary directory, removed when the test file ends. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `keel-${prefix}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Pids of Postgres processes whose command line names this cluster directory. */
export function postgresPidsFor(pgDir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      if (argv.includes(pgDir) && argv.some((a) => a.endsWith("postgres"))) pids.push(Number(name));
    } catch {}
  }
  return pids;
}

/** A TCP port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A logger that keeps its JSON lines in memory, for asserting on what was logged. */
export function memoryLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: createLogger("debug", sink), lines };
}

export interface KeelProcess {
  child: ChildProcess;
  /** JSON log lines printed so far. */
  lines: Record<string, unknown>[];
  /** Everything printed that was not a JSON line (warnings, stack traces). */
  other: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs the `keel` CLI from source in a child process with exactly the given Keel variables. */
export function spawnKeel(args: string[], env: Record<string, string>, bin: string = BIN): KeelProcess {
  return spawnLauncher(process.execPath, ["--import", "tsx", bin, ...args], env);
}

/**
 * Runs a command that starts Keel (`npm start`, `npx keel start`, node) from the repository root
 * (or `cwd`) with exactly the given Keel variables, collecting what it prints. `detached` puts
 * it in a process group of its own.
 */
export function spawnLauncher(
  command: string,
  argv: string[],
  env: Record<string, string>,
  cwd: string = ROOT,
  options: { detached?: boolean } = {},
): KeelProcess {
  const base = { ...process.env };
  for (const key of [
    "DATABASE_URL",
    "KEEL_DATA_DIR",
    "KEEL_SCHEMA",
    "PORT",
    "KEEL_ROLE",
    "NODE_ENV",
    "NODE_TEST_CONTEXT",
  ]) {
    delete base[key];
  }
  const child = spawn(command, argv, {
    cwd,
    // Its own process group, for signalling the whole group as systemd and `timeout` do.
    detached: options.detached === true,
    env: { ...base, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc: KeelProcess = {
    child,
    lines: [],
    other: [],
    exited: new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal }))),
  };
  let buffered = "";
  const collect = (chunk: Buffer) => {
    const parts = (buffered + chunk.toString("utf8")).split("\n");
    buffered = parts.pop() ?? "";
    for (const line of parts) {
      try {
        proc.lines.push(JSON.parse(line));
      } catch {
        if (line.trim()) proc.other.push(line);
      }
    }
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  after(() => {
    // Only after a failed test: leave no Keel and no Postgres of its data dir behind.
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    const dataDir = env.KEEL_DATA_DIR;
    if (dataDir) for (const pid of postgresPidsFor(join(dataDir, "pg"))) process.kill(pid, "SIGQUIT");
  });
  return proc;
}

/** The first log line with this message, once printed. */
export function logLine(proc: KeelProcess, msg: string): Record<string, unknown> | undefined {
  return proc.lines.find((l) => l.msg === msg);
}

/** GETs a URL; undefined while nothing answers. */
export async function get(
  url: string,
): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
  try {
    const res = await fetch(url);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

/** What a `keel …` run printed and how it exited. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** This process's environment without Keel's own variables, for CLI runs that set exactly theirs. */
export function cliBaseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ["DATABASE_URL", "KEEL_DATA_DIR", "KEEL_SCHEMA", "NODE_ENV", "KEEL_LOG_LEVEL"])
    delete env[key];
  delete env.NODE_TEST_CONTEXT;
  return env;
}

/**
 * Runs `keel …` from source with exactly the given Keel variables; stdout and stderr are pipes,
 * or with `tty` a pseudo-terminal through util-linux `script`.
 */
export function runKeel(
  args: string[],
  env: Record<string, string>,
  options: { tty?: boolean } = {},
): Promise<CliRun> {
  const argv = [process.execPath, "--import", "tsx", BIN, ...args];
  const [command, commandArgs] = options.tty
    ? ["script", ["-qec", argv.map((a) => `'${a}'`).join(" "), "/dev/null"]]
    : [process.execPath, argv.slice(1)];
  const child = spawn(command as string, commandArgs as string[], {
    cwd: ROOT,
    env: { ...cliBaseEnv(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => {
    stdout += c.toString("utf8");
  });
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString("utf8");
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

/**
 * Whether `promtool` can run here: skips the test when it cannot, but fails it under CI=true,
 * where .ci/run installs it (Debian package prometheus).
 */
export function promtoolAvailable(t: TestContext): boolean {
  if (!spawnSync("promtool", ["--version"]).error) return true;
  if (process.env.CI === "true") assert.fail("promtool is not installed (Debian package prometheus)");
  t.skip("promtool not installed: apt-get install prometheus to run this check");
  return false;
}

/** Runs `promtool check metrics` on `text`: its exit code and everything it printed. */
export function promtool(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("promtool", ["check", "metrics"], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}
