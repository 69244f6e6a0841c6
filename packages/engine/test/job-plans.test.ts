/**
 * The statements a worker runs per job (claim, heartbeat, complete, fail, release) find their
 * jobs through indexes, never by reading the whole `jobs` table, even when they were first run
 * while the table held a handful of rows. Postgres keeps a prepared statement's generic plan
 * after five runs; one made for a near-empty table reads the table sequentially and keeps doing
 * so when a burst fills it, until something analyses the table. The worker's maintenance
 * analyses it once it has doubled (decision 066). Counted in rows read from `jobs` by sequential
 * scan (pg_stat_user_tables.seq_tup_read), not in time.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { shouldAnalyzeJobs } from "../src/engine.js";
import { type ClaimedJob, type Engine, startMaintenance } from "../src/index.js";
import { lastInIndexOrder } from "../src/worker/worker.js";
import { ManualClock } from "./clock.js";
import { guardLeaks, testDatabaseUrl, testEngine, tuplesRead } from "./helpers.js";

guardLeaks();
// One connection: the statements it prepares and the statistics it flushes are the ones measured.
const engine: Engine = await testEngine({ poolSize: 1 });

const claim = async (after: ClaimedJob[] | null): Promise<ClaimedJob> => {
  await engine.enqueue({ queue: "small", target: { handler: "h" }, payload: {} });
  const [job] = await engine.claim({
    queue: "small",
    handlers: ["h"],
    limit: 1,
    leaseMs: 60_000,
    workerId: "w",
    limited: false,
    after: after ? (lastInIndexOrder(after) ?? null) : null,
  });
  assert.ok(job, "a job to claim");
  return job;
};

/** Claims `limit` jobs of `queue` (handler `h`) from the front on `e`, checking that many came. */
async function claimFront(e: Engine, queue: string, limit: number): Promise<ClaimedJob[]> {
  const jobs = await e.claim({
    queue,
    handlers: ["h"],
    limit,
    leaseMs: 60_000,
    workerId: "w",
    limited: false,
    after: null,
  });
  assert.equal(jobs.length, limit, "jobs to claim");
  return jobs;
}

/** A fresh engine on one connection, its `jobs` holding 20,000 jobs of `queue`, analysed. */
async function analysedEngine(queue: string): Promise<Engine> {
  const fresh = await testEngine({ poolSize: 1 });
  for (let i = 0; i < 20; i++)
    await fresh.enqueueMany(
      Array.from({ length: 1_000 }, () => ({ queue, target: { handler: "h" }, payload: {} })),
    );
  await fresh.pool.query(`analyze "${fresh.schema}".jobs`);
  return fresh;
}

/** One job through each statement a worker runs: claims both ways, a heartbeat, and each ending. */
async function round(): Promise<Record<string, () => Promise<unknown>>> {
  const a = await claim(null);
  const b = await claim([a]);
  const c = await claim(null);
  const d = await claim(null);
  return {
    heartbeat: () => engine.heartbeat([a, b], 60_000),
    complete: () => engine.complete([{ id: a.id, leaseToken: a.leaseToken }]),
    "fail (retried)": () =>
      engine.fail([{ job: b, retryInMs: 60_000, error: { code: "e", message: "again" } }]),
    "fail (dead)": () => engine.fail([{ job: c, retryInMs: null, error: { code: "e", message: "done" } }]),
    release: () => engine.release([d]),
  };
}

test("after a burst, the worker's maintenance analyses jobs, and its statements read jobs by index again", async () => {
  // More than the five runs after which Postgres may keep a generic plan, on a near-empty table.
  for (let i = 0; i < 8; i++) for (const step of Object.values(await round())) await step();
  // Then a burst fills the table. Autovacuum would analyse it a minute later at the soonest
  // (never on a server where it is off); without the analysis below, each statement here read
  // all 20,000 rows (80,074 for the claims, 40,038 for the retried failure).
  for (let i = 0; i < 20; i++)
    await engine.enqueueMany(
      Array.from({ length: 1_000 }, () => ({ queue: "burst", target: { handler: "h" }, payload: {} })),
    );
  // The burst's counts reach the statistics system (an idle backend sends them within seconds).
  await engine.pool.query("select pg_stat_force_next_flush()");
  const clock = new ManualClock();
  const maintenance = startMaintenance(engine, { retention: false, jitter: 0, clock });
  try {
    const task = maintenance.task("job-statistics");
    let ran = task.ran();
    clock.advance(1_000);
    const report = await ran;
    assert.deepEqual(report.ok && report.result, { analyzed: 1 });
    // Nothing has grown since: the next run only reads the counts.
    ran = task.ran();
    clock.advance(1_000);
    const next = await ran;
    assert.deepEqual(next.ok && next.result, { analyzed: 0 });
  } finally {
    await maintenance.stop();
  }
  const read: Record<string, number> = {};
  let steps: Record<string, () => Promise<unknown>> = {};
  read["claims, enqueues"] = await tuplesRead(engine, "jobs", "seq", async () => {
    steps = await round();
  });
  for (const [name, step] of Object.entries(steps))
    read[name] = await tuplesRead(engine, "jobs", "seq", step);
  assert.deepEqual(read, {
    "claims, enqueues": 0,
    heartbeat: 0,
    complete: 0,
    "fail (retried)": 0,
    "fail (dead)": 0,
    release: 0,
  });
});

test("jobs is analysed at each doubling past 1,000 rows, and again after someone else recounted it", async () => {
  const fresh = await testEngine({ poolSize: 1 });
  const S = `"${fresh.schema}"`;
  const fill = async (n: number) => {
    await fresh.enqueueMany(
      Array.from({ length: n }, () => ({ queue: "grow", target: { handler: "h" }, payload: {} })),
    );
    await fresh.pool.query("select pg_stat_force_next_flush()");
  };
  await fill(900);
  assert.equal(await fresh.refreshJobStatistics(), false, "under 1,000 rows");
  await fill(600);
  assert.equal(await fresh.refreshJobStatistics(), true, "1,500 rows, never counted");
  assert.equal(await fresh.refreshJobStatistics(), false, "counted 1,500 now");
  await fill(1_000);
  assert.equal(await fresh.refreshJobStatistics(), false, "2,500 is less than twice 1,500");
  await fill(600);
  assert.equal(await fresh.refreshJobStatistics(), true, "3,100 is twice 1,500 and more");
  // The backlog drains and autovacuum recounts the empty table; then a smaller burst than the
  // last one this process analysed at must still be analysed.
  await fresh.pool.query(`delete from ${S}.jobs`);
  await fresh.pool.query("select pg_stat_force_next_flush()");
  await fresh.pool.query(`analyze ${S}.jobs`);
  await fill(1_200);
  assert.equal(await fresh.refreshJobStatistics(), true, "1,200 rows against a count of 0");
});

test("an analysis that changed nothing is tried again only once the table has doubled since", () => {
  // As for a role that may not analyse the table: Postgres warns, and reltuples stays.
  assert.equal(shouldAnalyzeJobs(999, -1, undefined), false);
  assert.equal(shouldAnalyzeJobs(1_000, -1, undefined), true);
  assert.equal(shouldAnalyzeJobs(1_500, -1, { live: 1_000, counted: -1 }), false);
  assert.equal(shouldAnalyzeJobs(2_000, -1, { live: 1_000, counted: -1 }), true);
  // The count moved since (another process or autovacuum analysed): the count decides.
  assert.equal(shouldAnalyzeJobs(1_500, 700, { live: 1_000, counted: -1 }), true);
  assert.equal(shouldAnalyzeJobs(1_300, 700, { live: 1_000, counted: -1 }), false);
});

test("an analysis that would wait for another's lock on jobs gives up at once, and the next run analyses", async () => {
  // Autovacuum holds SHARE UPDATE EXCLUSIVE while it vacuums; a backend that waits for it past
  // deadlock_timeout cancels its work. The analysis gives up after 200 ms instead.
  const fresh = await testEngine({ poolSize: 2 });
  await fresh.enqueueMany(
    Array.from({ length: 1_500 }, () => ({ queue: "held", target: { handler: "h" }, payload: {} })),
  );
  await fresh.pool.query("select pg_stat_force_next_flush()");
  const holder = new pg.Client({ connectionString: testDatabaseUrl() });
  await holder.connect();
  try {
    await holder.query("begin");
    await holder.query(`lock table "${fresh.schema}".jobs in share update exclusive mode`);
    // Resolves while the lock is still held: it did not wait for it.
    assert.equal(await fresh.refreshJobStatistics(), false);
    await holder.query("commit");
    assert.equal(await fresh.refreshJobStatistics(), true, "tried again once the lock was free");
  } finally {
    await holder.end();
  }
});

test("a worker's writes for one job at a time keep a generic plan: Postgres plans them five times, not at every run", async () => {
  // At light load a worker heartbeats, completes and fails jobs one at a time. For an array of
  // one id, a custom plan looked cheaper than the generic one (costed for ten ids), so Postgres
  // planned every such write again: a third to a half of the Postgres CPU of a job claimed,
  // heartbeaten and finished alone (decision 067).
  const fresh = await analysedEngine("lone");
  const take = async () => (await claimFront(fresh, "lone", 1))[0] as ClaimedJob;
  for (let i = 0; i < 8; i++) {
    const job = await take();
    assert.deepEqual(await fresh.heartbeat([job], 60_000), new Set());
    assert.deepEqual(await fresh.complete([{ id: job.id, leaseToken: job.leaseToken }]), new Set());
    assert.deepEqual(
      await fresh.fail([{ job: await take(), retryInMs: 0, error: { code: "e", message: "again" } }]),
      new Set(),
    );
    assert.deepEqual(
      await fresh.fail([{ job: await take(), retryInMs: null, error: { code: "e", message: "done" } }]),
      new Set(),
    );
    assert.deepEqual(await fresh.release([await take()]), new Set());
  }
  const names = ["heartbeat", "complete", "fail", "release"];
  const { rows } = await fresh.pool.query<{ name: string; generic: number; custom: number }>(
    `select name, generic_plans::int as generic, custom_plans::int as custom
     from pg_prepared_statements where name = any($1) order by name`,
    [names.map((n) => `keel_${fresh.schema}_${n}`)],
  );
  assert.deepEqual(
    rows.map((r) => [r.name.slice(`keel_${fresh.schema}_`.length), r.custom, r.generic]),
    [
      ["complete", 5, 3],
      ["fail", 5, 11],
      ["heartbeat", 5, 3],
      ["release", 5, 3],
    ],
  );
});

test("a connection's first runs of the worker's writes over hundreds of jobs read jobs by index, not all of it", async () => {
  // Postgres plans a prepared statement's first five runs with their values. Given an array of
  // hundreds it could count, it hashed the whole of jobs for a completion, a failure, a
  // heartbeat or a release of a batch: 20,000 rows read for 500 jobs, on every new connection
  // (decision 081). Each step here is a first run on this engine's one connection.
  const fresh = await analysedEngine("batch");
  const take = (limit: number) => claimFront(fresh, "batch", limit);
  const batches = { heartbeat: await take(500), complete: await take(500), retried: await take(300) };
  const more = { dead: await take(300), release: await take(300) };
  const read = {
    heartbeat: await tuplesRead(fresh, "jobs", "seq", async () =>
      assert.deepEqual(await fresh.heartbeat(batches.heartbeat, 60_000), new Set()),
    ),
    complete: await tuplesRead(fresh, "jobs", "seq", async () =>
      assert.deepEqual(
        await fresh.complete(batches.complete.map((j) => ({ id: j.id, leaseToken: j.leaseToken }))),
        new Set(),
      ),
    ),
    "fail (retried)": await tuplesRead(fresh, "jobs", "seq", async () =>
      assert.deepEqual(
        await fresh.fail(
          batches.retried.map((job) => ({ job, retryInMs: 60_000, error: { code: "e", message: "again" } })),
        ),
        new Set(),
      ),
    ),
    "fail (dead)": await tuplesRead(fresh, "jobs", "seq", async () =>
      assert.deepEqual(
        await fresh.fail(
          more.dead.map((job) => ({ job, retryInMs: null, error: { code: "e", message: "done" } })),
        ),
        new Set(),
      ),
    ),
    release: await tuplesRead(fresh, "jobs", "seq", async () =>
      assert.deepEqual(await fresh.release(more.release), new Set()),
    ),
  };
  assert.deepEqual(read, { heartbeat: 0, complete: 0, "fail (retried)": 0, "fail (dead)": 0, release: 0 });
  const { rows } = await fresh.pool.query<{ name: string; custom: number }>(
    `select name, custom_plans::int as custom from pg_prepared_statements where name = any($1) order by name`,
    [["complete", "fail", "heartbeat", "release"].map((n) => `keel_${fresh.schema}_${n}`)],
  );
  // Every step above ran on a plan made with its values.
  assert.deepEqual(
    rows.map((r) => [r.name.slice(`keel_${fresh.schema}_`.length), r.custom]),
    [
      ["complete", 1],
      ["fail", 2],
      ["heartbeat", 1],
      ["release", 1],
    ],
  );
});
