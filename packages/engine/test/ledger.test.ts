/**
 * The ledger run: N jobs, worker processes killed with SIGKILL at random and restarted.
 * Every acknowledged job must finish at least once (lost = 0); a duplicate run can only come
 * from a kill, and with one job in flight per process each kill duplicates at most one job.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Engine } from "../src/index.js";
import { guardLeaks, testEngine, waitFor } from "./helpers.js";
import { createLedger, type Proc, ready, runFixture } from "./processes.js";

guardLeaks();
const engine: Engine = await testEngine();
const S = `"${engine.schema}"`;
await createLedger(engine);

const JOBS = Number(process.env.LEDGER_JOBS ?? 1_500);
const PROCESSES = 4;
const KILLS = Number(process.env.LEDGER_KILLS ?? 6);

test(`ledger: ${JOBS} jobs, ${PROCESSES} workers, ${KILLS} random SIGKILLs: lost = 0, duplicates <= kills`, async () => {
  const start = () =>
    runFixture("worker-process", {
      SCHEMA: engine.schema,
      QUEUES: "ledger",
      CONCURRENCY: 1,
      LEASE_MS: 5_000,
    });
  const procs: Proc[] = Array.from({ length: PROCESSES }, start);
  await Promise.all(procs.map((p) => ready(p)));

  const acked = await engine.enqueueMany(
    Array.from({ length: JOBS }, (_, i) => ({
      queue: "ledger",
      target: { handler: "work" },
      payload: { sleepMs: 1 + (i % 4) },
    })),
  );
  const ids = new Set(acked.map((r) => r.id));
  assert.equal(ids.size, JOBS);

  let kills = 0;
  while (kills < KILLS) {
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 500));
    const i = Math.floor(Math.random() * procs.length);
    const victim = procs[i] as Proc;
    victim.child.kill("SIGKILL");
    await victim.exited;
    kills++;
    const replacement = start();
    procs[i] = replacement;
    await ready(replacement);
  }

  await waitFor(
    async () => (await engine.listQueues()).find((q) => q.name === "ledger")?.counts.succeeded === JOBS,
    120_000,
    "every job succeeded",
  );
  const done = await engine.pool.query(
    `select job_id::text as id, count(*)::int as runs from ${S}.ledger where event = 'done' group by job_id`,
  );
  const runs = new Map(done.rows.map((r) => [r.id as string, r.runs as number]));
  const lost = [...ids].filter((id) => !runs.has(id)).length;
  const duplicates = [...runs.values()].reduce((sum, n) => sum + (n - 1), 0);
  const expired = await engine.pool.query(
    `select count(*)::int n from ${S}.job_tries where outcome = 'lease_expired'`,
  );
  console.log(
    `# ledger: jobs=${JOBS} kills=${kills} lost=${lost} duplicates=${duplicates} lease_expired_attempts=${expired.rows[0].n}`,
  );
  assert.equal(lost, 0);
  assert.ok(duplicates <= kills, `duplicates ${duplicates} > kills ${kills}`);
  for (const p of procs) p.child.kill("SIGTERM");
  for (const p of procs) assert.equal((await p.exited).code, 0);
});
