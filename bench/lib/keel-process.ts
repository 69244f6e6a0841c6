/**
 * The real `keel start` (the built binary, packages/server/dist/bin/keel.js) in a child process,
 * as an operator runs it: for the intake and memory scenarios, which measure Keel over HTTP
 * and its resident memory. Run `npx tsc -b` first so dist is current.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../packages/server/dist/bin/keel.js", import.meta.url));

export interface KeelChild {
  child: ChildProcess;
  pid: number;
  port: number;
  /** Lines Keel printed at warn or above (and anything not JSON), for a failing run's message. */
  problems: string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** A TCP port on 127.0.0.1 that nothing listened on a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
    server.once("error", reject);
  });
}

/** The node flags of the binary's `#!/usr/bin/env -S node …` line: Keel runs as users run it. */
function shebangFlags(): string[] {
  const first = readFileSync(BIN, "utf8").split("\n", 1)[0] ?? "";
  const words = first
    .replace(/^#!\S+\s*(-S\s+)?/, "")
    .split(/\s+/)
    .filter(Boolean);
  return words[0] === "node" ? words.slice(1) : [];
}

/**
 * Starts `keel start` with exactly the given Keel variables (DATABASE_URL, KEEL_SCHEMA, …; PORT
 * defaults to a free one) and resolves once `/health/ready` answers 200.
 */
export async function spawnKeel(env: Record<string, string>, timeoutMs = 30_000): Promise<KeelChild> {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run npx tsc -b first`);
  const base = { ...process.env };
  for (const key of Object.keys(base)) {
    if (key.startsWith("KEEL_") || ["DATABASE_URL", "PORT", "NODE_ENV", "REDIS_URL"].includes(key))
      delete base[key];
  }
  // A port chosen here, so readiness can be polled even when the log level hides "keel started".
  const port = env.PORT && env.PORT !== "0" ? Number(env.PORT) : await freePort();
  // BENCH_KEEL_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the child.
  const nodeArgs = (process.env.BENCH_KEEL_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const child = spawn(process.execPath, [...shebangFlags(), ...nodeArgs, BIN, "start"], {
    env: { ...base, ...env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const problems: string[] = [];
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once("exit", (code) => {
      exitCode = code;
      resolve();
    }),
  );
  let buffered = "";
  const onData = (chunk: Buffer) => {
    const parts = (buffered + chunk.toString("utf8")).split("\n");
    buffered = parts.pop() ?? "";
    for (const line of parts) {
      if (problems.length >= 50) return;
      try {
        if (((JSON.parse(line) as { level?: number }).level ?? 0) >= 40) problems.push(line);
      } catch {
        if (line.trim()) problems.push(line);
      }
    }
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exitCode !== undefined)
      throw new Error(`keel exited with ${exitCode} before ready:\n${problems.join("\n")}`);
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
      (r) => r.arrayBuffer().then(() => r.status === 200),
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      await exited;
      throw new Error(`keel was not ready within ${timeoutMs} ms:\n${problems.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    pid: child.pid as number,
    port,
    problems,
    stop: async (graceMs = 15_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** CPU time (user + system) a process has used so far, in milliseconds; NaN without /proc. */
export function cpuMs(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

/** A process's main thread so far (/proc/<pid>/task/<pid>/schedstat): ms on a core, ms runnable but waiting for one. */
function mainThreadSched(pid: number): { runMs: number; waitMs: number } {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").trim().split(" ");
    return { runMs: Number(run) / 1e6, waitMs: Number(wait) / 1e6 };
  } catch {
    return { runMs: Number.NaN, waitMs: Number.NaN };
  }
}

/**
 * Starts watching a process's main thread; the returned function gives, since then, the share of
 * wall time (%) it spent on a core and runnable but waiting for one (the other processes had both
 * cores). NaN without /proc or schedstats.
 *
 * @example
 * const thread = watchMainThread(server.pid);
 * await load();
 * const { threadRun, threadWait } = thread();
 */
export function watchMainThread(pid: number): () => { threadRun: number; threadWait: number } {
  const before = mainThreadSched(pid);
  const started = performance.now();
  return () => {
    const after = mainThreadSched(pid);
    const wall = performance.now() - started;
    return {
      threadRun: (100 * (after.runMs - before.runMs)) / wall,
      threadWait: (100 * (after.waitMs - before.waitMs)) / wall,
    };
  };
}

/** Busy and total CPU time of the whole machine so far (jiffies, all cores), from /proc/stat. */
export function machineCpu(): { busy: number; total: number } {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

/** Resident set size of a process in bytes (VmRSS from /proc), or NaN where /proc is absent. */
export function rssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
