import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { onCleanup, testDatabaseUrl, testEngine, waitFor } from "../../engine/test/helpers.js";

// Three processes share one limit through one Redis, and separately through one Postgres: the
// checks they admit together stay within the GCRA bound, burst + elapsed / interval. With a
// 60-per-hour policy (a unit per minute) and a run of seconds, that is exactly 60.

const FIXTURE = fileURLToPath(new URL("./fixtures/ratelimit-process.ts", import.meta.url));
const LIMIT = 60;
const INTERVAL_S = 3600 / LIMIT;
const CHECKS = 150;

interface Report {
  admitted: number;
  failClosed: number;
  /** Checks the shared store decided (allowed or denied), not a fail mode. */
  storeDecided: number;
  elapsedMs: number;
}

function start(env: Record<string, string>): { child: ChildProcess; out: () => string } {
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE], {
    env: { ...process.env, KEEL_TEST_DATABASE_URL: testDatabaseUrl(), ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    err += d;
  });
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
  });
  return { child, out: () => (child.exitCode ? `${out}${err}` : out) };
}

async function runThree(env: Record<string, string>): Promise<Report[]> {
  const procs = [1, 2, 3].map(() =>
    start({ RL_LIMIT: String(LIMIT), RL_CHECKS: String(CHECKS), RL_CONCURRENCY: "8", ...env }),
  );
  await waitFor(() => procs.every((p) => p.out().includes("ready")), 30_000, "three ready processes");
  for (const p of procs) p.child.stdin?.write("go\n");
  await Promise.all(procs.map((p) => once(p.child, "exit")));
  return procs.map((p) => {
    assert.equal(p.child.exitCode, 0, p.out());
    return JSON.parse(p.out().trim().split("\n").pop() as string) as Report;
  });
}

function assertShared(reports: Report[]): void {
  const admitted = reports.reduce((n, r) => n + r.admitted, 0);
  const undecided = reports.reduce((n, r) => n + r.failClosed, 0);
  const elapsedS = Math.max(...reports.map((r) => r.elapsedMs)) / 1000;
  const bound = LIMIT + Math.floor(elapsedS / INTERVAL_S);
  assert.ok(admitted <= bound, `admitted ${admitted} > ${bound}`);
  assert.ok(admitted >= LIMIT - undecided, `admitted ${admitted}, only ${undecided} undecided`);
  // Every process checked through the shared store. (Which process gets the burst is a race:
  // one that starts a few milliseconds first may take all of it, so shares are not asserted.)
  assert.ok(
    reports.every((r) => r.storeDecided + r.failClosed === CHECKS),
    `every process ran its ${CHECKS} checks through the store: ${JSON.stringify(reports)}`,
  );
  assert.ok(
    reports.every((r) => r.storeDecided > 0),
    "every process reached the shared store",
  );
}

describe("three processes, one limit", () => {
  test("through one Redis", { skip: process.env.KEEL_TEST_REDIS_URL ? false : "no Redis" }, async () => {
    const prefix = `keel:rl:test:${process.pid}:${randomBytes(4).toString("hex")}:`;
    assertShared(
      await runThree({
        RL_STORE: "redis",
        RL_REDIS_URL: process.env.KEEL_TEST_REDIS_URL as string,
        RL_PREFIX: prefix,
      }),
    );
  });

  test("through one Postgres", async () => {
    const engine = await testEngine();
    assertShared(await runThree({ RL_STORE: "postgres", RL_SCHEMA: engine.schema }));
    const { rows } = await engine.pool.query(`select count(*)::int as n from "${engine.schema}".rate_limits`);
    assert.equal(rows[0].n, 1, "one row for the one key");
  });
});
