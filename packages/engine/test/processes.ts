import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import type { Engine } from "../src/index.js";
import { onCleanup, testDatabaseUrl } from "./helpers.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));

export interface Proc {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs a fixture in its own Node process; every process still alive at file end is killed. */
export function runFixture(name: string, env: Record<string, string | number>): Proc {
  const child = spawn(process.execPath, ["--import", "tsx", `${FIXTURES}${name}.ts`], {
    env: {
      ...process.env,
      KEEL_TEST_DATABASE_URL: testDatabaseUrl(),
      ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc: Proc = {
    child,
    stdout: "",
    stderr: "",
    exited: once(child, "exit").then(([code, signal]) => ({ code, signal })),
  };
  child.stdout?.on("data", (d) => {
    proc.stdout += d;
  });
  child.stderr?.on("data", (d) => {
    proc.stderr += d;
  });
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await proc.exited;
    }
  });
  return proc;
}

/** Resolves when the process printed "ready"; rejects if it exits first. */
export async function ready(proc: Proc, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!proc.stdout.includes("ready")) {
    if (proc.child.exitCode !== null) throw new Error(`fixture exited early: ${proc.stderr}`);
    if (Date.now() > deadline) throw new Error(`fixture not ready after ${timeoutMs} ms: ${proc.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The table fixtures/worker-process.ts writes to: one row when a handler starts and one when it is done. */
export async function createLedger(engine: Engine): Promise<void> {
  await engine.pool.query(
    `create table "${engine.schema}".ledger (job_id bigint not null, attempt int not null, pid int not null,
     event text not null, at timestamptz not null default clock_timestamp())`,
  );
}
