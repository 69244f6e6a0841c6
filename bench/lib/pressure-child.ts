/**
 * One system's child process for the pressure scenario: Keel's driver on this Node (20, through
 * tsx), graphile-worker's and pg-boss's on the peers' Node 22 (bench/peers/pressure.mjs). Both are
 * steered the same way: JSON commands on stdin, one tick a second on stdout (bench/lib/pressure-load.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ensureLatestPeers, PEERS_DIR, PEERS_NODE } from "./peers-latest.js";
import type { Check, DriverConfig, LoadCommand, LoadResult, LoadTick } from "./pressure-load.js";

const KEEL_DRIVER = fileURLToPath(new URL("../pressure-keel.ts", import.meta.url));

export interface LoadChild {
  readonly pid: number;
  /** Every tick so far, in order. */
  readonly ticks: LoadTick[];
  /** Set when the process ended before it was told to finish (a crash). */
  readonly crashed: () => string | undefined;
  send(command: LoadCommand): void;
  /** Resolves when the driver reported ready. */
  ready: Promise<void>;
  /** Sends `check` (load keeps running) and resolves with its answer. */
  check(stallMs: number, capMs: number): Promise<Check>;
  /** Sends `finish` and resolves with the driver's final count. */
  finish(stallMs: number, capMs: number): Promise<LoadResult>;
  kill(): void;
}

export function startLoadChild(
  config: DriverConfig,
  log: (m: string) => void,
  onTick: (tick: LoadTick) => void = () => {},
): LoadChild {
  let child: ChildProcess;
  if (config.system === "keel") {
    child = spawn(process.execPath, ["--import", "tsx", KEEL_DRIVER, JSON.stringify(config)], {
      stdio: ["pipe", "pipe", "pipe"],
    });
  } else {
    ensureLatestPeers(log);
    child = spawn(PEERS_NODE, [`${PEERS_DIR}pressure.mjs`, JSON.stringify(config)], {
      cwd: PEERS_DIR,
      stdio: ["pipe", "pipe", "pipe"],
    });
  }
  const ticks: LoadTick[] = [];
  let crash: string | undefined;
  let finishing = false;
  let onReady!: () => void;
  let onFail!: (e: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    onFail = reject;
  });
  let onResult: ((r: LoadResult) => void) | undefined;
  let onCheck: ((r: Check) => void) | undefined;
  let out = "";
  child.stdout?.on("data", (b: Buffer) => {
    const lines = (out + b.toString("utf8")).split("\n");
    out = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.trim()) continue;
      let msg: { type?: string };
      try {
        msg = JSON.parse(line) as { type?: string };
      } catch {
        log(`  [${config.system}] ${line}`);
        continue;
      }
      if (msg.type === "tick") {
        ticks.push(msg as LoadTick);
        onTick(msg as LoadTick);
      } else if (msg.type === "ready") onReady();
      else if (msg.type === "result") onResult?.(msg as LoadResult);
      else if (msg.type === "check") onCheck?.(msg as Check);
    }
  });
  let err = "";
  let lastErr: string[] = [];
  child.stderr?.on("data", (b: Buffer) => {
    const lines = (err + b.toString("utf8")).split("\n");
    err = lines.pop() ?? "";
    for (const line of lines)
      if (line.trim()) {
        lastErr = [...lastErr.slice(-19), line];
        log(`  [${config.system}] ${line}`);
      }
  });
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      if (!finishing || code !== 0) {
        crash = `${config.system} exited with ${code ?? signal}: ${lastErr.join("\n")}`;
        onFail(new Error(crash));
      }
      resolve();
    });
  });
  child.stdin?.on("error", () => {});
  const send = (command: LoadCommand) => {
    child.stdin?.write(`${JSON.stringify(command)}\n`);
  };
  return {
    pid: child.pid as number,
    ticks,
    crashed: () => crash,
    send,
    ready,
    check: async (stallMs, capMs) => {
      const answer = new Promise<Check>((resolve) => {
        onCheck = resolve;
      });
      send({ cmd: "check", stallMs, capMs });
      const got = await Promise.race([answer, exited.then(() => undefined)]);
      if (!got) throw new Error(crash ?? `${config.system} exited during a check`);
      return got;
    },
    finish: async (stallMs, capMs) => {
      finishing = true;
      const result = new Promise<LoadResult>((resolve) => {
        onResult = resolve;
      });
      send({ cmd: "finish", stallMs, capMs });
      const got = await Promise.race([result, exited.then(() => undefined)]);
      if (!got) throw new Error(crash ?? `${config.system} exited without a result`);
      await exited;
      return got;
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
