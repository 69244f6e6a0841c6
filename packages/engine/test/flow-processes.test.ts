import assert from "node:assert/strict";
import { test } from "node:test";
import type { Engine } from "../src/index.js";
import { guardLeaks, testEngine, waitFor } from "./helpers.js";
import { createLedger, type Proc, ready, runFixture } from "./processes.js";

guardLeaks();
const engine: Engine = await testEngine();
const S = `"${engine.schema}"`;
await createLedger(engine);

function workers(queue: string, n: number, extra: Record<string, string | number> = {}): Proc[] {
  return Array.from({ length: n }, () =>
    runFixture("worker-process", {
      SCHEMA: engine.schema,
      QUEUES: queue,
      LEASE_MS: 5_000,
      CONCURRENCY: 5,
      ...extra,
    }),
  );
}

async function finished(queue: string): Promise<number> {
  const res = await engine.pool.query(`select count(*)::int as n from ${S}.job_history where queue = $1`, [
    queue,
  ]);
  return res.rows[0].n;
}

/** Every attempt of the queue's jobs, with the job's flow key (payload.account), in microseconds. */
async function attempts(
  queue: string,
): Promise<{ key: string; start: number; end: number; outcome: string }[]> {
  const res = await engine.pool.query(
    `select h.payload ->> 'account' as key, a.outcome,
            (extract(epoch from a.started_at) * 1000000)::bigint::text as start,
            (extract(epoch from a.finished_at) * 1000000)::bigint::text as end
     from ${S}.job_tries a join ${S}.job_history h on h.id = a.job_id
     where a.queue = $1 order by a.started_at`,
    [queue],
  );
  // Microseconds since the epoch, as Postgres keeps them (a Date would round to milliseconds).
  return res.rows.map((r) => ({
    key: r.key,
    start: Number(r.start),
    end: Number(r.end),
    outcome: r.outcome,
  }));
}

/** The most attempts of one key that overlapped at any instant (an end at t comes before a start at t). */
function maxOverlap(rows: { start: number; end: number }[]): number {
  const events = rows.flatMap((r) => [
    { t: r.start, d: 1 },
    { t: r.end, d: -1 },
  ]);
  events.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let most = 0;
  for (const e of events) {
    now += e.d;
    most = Math.max(most, now);
  }
  return most;
}

test("concurrency 2 per key holds across three worker processes, one SIGKILLed mid-run", async () => {
  await engine.upsertQueue("fc", { flow: { key: "payload.account", concurrency: 2 } });
  const keys = ["a", "b", "c", "d"];
  await engine.enqueueMany(
    keys.flatMap((account) =>
      Array.from({ length: 15 }, () => ({
        queue: "fc",
        target: { handler: "work" },
        payload: { account, sleepMs: 150 },
      })),
    ),
  );
  const procs = workers("fc", 3);
  await Promise.all(procs.map((p) => ready(p)));
  // Kill a worker while it holds jobs (worker ids hold the pid). It is frozen first, then killed
  // only if it holds a job whose handler had not returned (no "done" in the ledger): such a job
  // cannot be completed any more, so its lease must expire. Killed at once, a worker could finish
  // the jobs it was seen running before the signal landed, leaving the sweep nothing to take.
  const victim = await waitFor(
    async () => {
      const running = await engine.pool.query(
        `select split_part(worker_id, ':', 2)::int as pid from ${S}.jobs where queue = 'fc' and state = 'running' limit 1`,
      );
      const proc = procs.find((p) => p.child.pid === running.rows[0]?.pid);
      if (!proc) return undefined;
      proc.child.kill("SIGSTOP");
      const held = await engine.pool.query(
        `select count(*)::int as n from ${S}.jobs j
         where j.queue = 'fc' and j.state = 'running' and split_part(j.worker_id, ':', 2)::int = $1
           and not exists (select 1 from ${S}.ledger l where l.job_id = j.id and l.attempt = j.attempt and l.event = 'done')`,
        [proc.child.pid],
      );
      if (held.rows[0].n > 0) return proc;
      proc.child.kill("SIGCONT");
      return undefined;
    },
    20_000,
    "a worker frozen while its handlers run",
  );
  victim.child.kill("SIGKILL");
  await victim.exited;
  await waitFor(async () => (await finished("fc")) === 60, 60_000, "all 60 jobs finished");
  const rows = await attempts("fc");
  assert.ok(
    rows.some((r) => r.outcome === "lease_expired"),
    "the killed worker's jobs were taken back by the sweep",
  );
  for (const key of keys) {
    const own = rows.filter((r) => r.key === key);
    const most = maxOverlap(own);
    assert.ok(most <= 2, `key ${key}: ${most} attempts overlapped (limit 2)`);
    assert.equal(most, 2, `key ${key} used its two slots`);
  }
  const rest = procs.filter((p) => p !== victim);
  for (const p of rest) p.child.kill("SIGTERM");
  await Promise.all(rest.map((p) => p.exited));
});

test("rate 10/s per key: 5 keys × 200 jobs across three worker processes start at 10/s per key ±10%", async () => {
  // The keys run side by side: 20 s in all. The rate is measured from the attempts' start times,
  // over 199 intervals per key.
  await engine.upsertQueue("fr", { flow: { key: "payload.account", rate: { limit: 10, windowSeconds: 1 } } });
  const keys = ["k1", "k2", "k3", "k4", "k5"];
  const perKey = 200;
  await engine.enqueueMany(
    keys.flatMap((account) =>
      Array.from({ length: perKey }, () => ({
        queue: "fr",
        target: { handler: "work" },
        payload: { account },
      })),
    ),
  );
  const procs = workers("fr", 3);
  await Promise.all(procs.map((p) => ready(p)));
  await waitFor(async () => (await finished("fr")) === keys.length * perKey, 60_000, "all jobs finished");
  const rows = await attempts("fr");
  const report: string[] = [];
  for (const key of keys) {
    const starts = rows.filter((r) => r.key === key).map((r) => r.start);
    assert.equal(starts.length, perKey, "one attempt each");
    const rate = ((starts.length - 1) * 1_000_000) / ((starts.at(-1) as number) - (starts[0] as number));
    // Burst 2 (the default): any second holds at most limit + burst − 1 = 11 starts.
    const busiest = Math.max(...starts.map((s) => starts.filter((t) => t >= s && t < s + 1_000_000).length));
    report.push(`${key}: ${rate.toFixed(2)}/s, at most ${busiest} starts in any second`);
    // Never faster than the limit: the guarantee. How close to 10/s a loaded machine's workers get
    // is reported, not asserted (a late claim is the machine's, not the limiter's); that a start is
    // admitted once its interval has passed is checked without the clock in flow.test.ts.
    assert.ok(rate <= 11, `key ${key} ran at ${rate.toFixed(2)}/s (limit 10)`);
    assert.ok(busiest <= 11, `key ${key}: ${busiest} starts within one second`);
  }
  console.log(report.join("\n"));
  for (const p of procs) p.child.kill("SIGTERM");
  await Promise.all(procs.map((p) => p.exited));
});
