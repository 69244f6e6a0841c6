/**
 * Decision 088: a completion's succeeded jobs are recorded once, in a `job_finishes` row a queue
 * and finish time naming their ids, instead of an entry a job in an index of history; retention,
 * the list in finish order, the hour's counts and the doctor read succeeded jobs through those
 * rows. These tests hold the invariant that makes that safe, whoever writes history: every
 * succeeded job in history is named by exactly one row of its queue and finish time, and every
 * row names only such jobs.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createPool, Engine, knownMigrations, migrate, runRetention } from "../src/index.js";
import {
  deadJobs,
  freshSchema,
  guardLeaks,
  onCleanup,
  succeededJobs,
  testDatabaseUrl,
  testEngine,
  tuplesRead,
} from "./helpers.js";

guardLeaks();
const engine = await testEngine();
const S = `"${engine.schema}"`;

interface FinishRow {
  finished_at: Date;
  jobs: number;
  job_ids: string[];
}

async function finishRows(queue: string): Promise<FinishRow[]> {
  const { rows } = await engine.pool.query<FinishRow>(
    `select finished_at, jobs, job_ids from ${S}.job_finishes where queue = $1 order by finished_at, job_ids[1]`,
    [queue],
  );
  return rows;
}

/** What breaks the invariant in `queue`, described; empty when it holds. */
async function broken(queue: string): Promise<string[]> {
  const { rows } = await engine.pool.query<{ what: string }>(
    `select 'job ' || h.id || ' named ' || count(f.*) || ' times' as what
       from ${S}.job_history h
       left join lateral (select 1 from ${S}.job_finishes f
                          where f.queue = h.queue and f.finished_at = h.finished_at and h.id = any(f.job_ids)) f on true
      where h.queue = $1 and h.state = 'succeeded'
      group by h.id
     having count(f.*) <> 1
     union all
     select 'row names ' || x || ', not a succeeded job of its queue and time'
       from ${S}.job_finishes f, unnest(f.job_ids) x
      where f.queue = $1
        and not exists (select 1 from ${S}.job_history h
                        where h.id = x and h.queue = f.queue and h.state = 'succeeded' and h.finished_at = f.finished_at)
     union all
     select 'row counts ' || f.jobs || ' of ' || cardinality(f.job_ids)
       from ${S}.job_finishes f
      where f.queue = $1 and (f.jobs <> cardinality(f.job_ids) or f.jobs = 0)`,
    [queue],
  );
  return rows.map((r) => r.what);
}

const sorted = (ids: string[]) => [...ids].sort((a, b) => Number(a) - Number(b));

test("a completion names its succeeded jobs in one row of their queue and finish time; dead and cancelled jobs in none", async () => {
  const ids = await succeededJobs(engine, "fa", 300);
  await deadJobs(engine, "fa", 3);
  const [cancelled] = await engine.enqueueMany([
    { queue: "fa", target: { handler: "h" }, runAt: new Date(Date.now() + 60_000) },
  ]);
  assert.ok(cancelled);
  await engine.cancel(cancelled.id);
  assert.equal((await engine.getJob(cancelled.id)).state, "cancelled");
  const rows = await finishRows("fa");
  assert.equal(rows.length, 1);
  assert.equal(rows[0]?.jobs, 300);
  assert.deepEqual(rows[0]?.job_ids, sorted(ids), "the ids, ascending");
  assert.deepEqual(await broken("fa"), []);
});

test("history written, deleted or changed by other code keeps every succeeded job named by exactly one row", async () => {
  const ids = await succeededJobs(engine, "fb", 10);
  // As an older Keel's completion writes history: a plain insert, two finish times in one statement.
  await engine.pool.query(
    `insert into ${S}.job_history (id, queue, handler, state, target, payload, priority, attempt, max_attempts,
                                   run_at, created_at, finished_at)
     select 900000000 + k, 'fb', 'h', 'succeeded', '{"handler":"h"}', '{}', 0, 1, 3, now(), now(),
            now() - k * interval '1 minute'
     from generate_series(1, 4) k`,
  );
  assert.equal((await finishRows("fb")).length, 5);
  assert.deepEqual(await broken("fb"), []);

  // An older Keel's retention, or an operator, deletes some of them.
  await engine.pool.query(`delete from ${S}.job_history where id in (900000001, $1)`, [ids[0]]);
  assert.deepEqual(await broken("fb"), []);
  assert.equal((await finishRows("fb")).length, 4, "the row left empty went with its job");

  // Half of the completion is moved back in time, one job is marked cancelled.
  await engine.pool.query(
    `update ${S}.job_history set finished_at = finished_at - interval '1 day' where id = any($1)`,
    [ids.slice(1, 5)],
  );
  await engine.pool.query(`update ${S}.job_history set state = 'cancelled' where id = $1`, [ids[5]]);
  assert.deepEqual(await broken("fb"), []);
  const rows = await finishRows("fb");
  assert.deepEqual(rows[0]?.job_ids, sorted(ids.slice(1, 5)), "the moved jobs, under their new time");
  assert.deepEqual(rows.at(-1)?.job_ids, sorted(ids.slice(6)), "the rest of the completion, in its row");

  // A dead job's history changing touches no row.
  await deadJobs(engine, "fb", 2);
  await engine.pool.query(
    `update ${S}.job_history set finished_at = now() - interval '2 days' where queue = 'fb' and state = 'dead'`,
  );
  assert.deepEqual(await broken("fb"), []);
});

test("retention takes succeeded jobs a row at a time: a completion larger than the batch goes whole, and the loop ends", async () => {
  await engine.upsertQueue("fr", { retentionSucceededSeconds: 60 });
  const old = await succeededJobs(engine, "fr", 53, 50); // rows of 50 and 3
  const kept = await succeededJobs(engine, "fr", 4);
  await engine.pool.query(
    `update ${S}.job_history set finished_at = finished_at - interval '2 minutes' where id = any($1)`,
    [old],
  );
  const { deleted } = await runRetention(engine, 7);
  assert.equal(deleted, 53, "nothing of the other queues here has expired");
  const left = await engine.pool.query<{ id: string }>(
    `select id::text from ${S}.job_history where queue = 'fr' order by id`,
  );
  assert.deepEqual(
    left.rows.map((r) => r.id),
    sorted(kept),
  );
  const rows = await finishRows("fr");
  assert.deepEqual(
    rows.map((r) => r.job_ids),
    [sorted(kept)],
  );
  assert.deepEqual(await broken("fr"), []);
});

test("retention and the hour's counts read history by primary key and the queue's job_finishes rows by index, whatever Postgres knows of them", async () => {
  const fresh = await testEngine({ poolSize: 1 });
  // Completions of 5: many rows, as a quiet queue writes them.
  for (const queue of ["big", "other"]) await succeededJobs(fresh, queue, 2_000, 5);
  await fresh.upsertQueue("big", { retentionSucceededSeconds: 60 });
  const F = `"${fresh.schema}"`;
  const overview = () => fresh.queueOverview();
  for (const table of ["job_history", "job_finishes"]) {
    assert.equal(
      await tuplesRead(fresh, table, "seq", overview),
      0,
      `the overview reads no ${table} in full`,
    );
  }
  // Half of big's history ages past its retention.
  await fresh.pool.query(
    `update ${F}.job_history set finished_at = finished_at - interval '2 minutes'
      where queue = 'big' and id <= (select min(id) + 999 from ${F}.job_history where queue = 'big')`,
  );
  let deleted = 0;
  let finishesSeq = -1;
  const historySeq = await tuplesRead(fresh, "job_history", "seq", async () => {
    finishesSeq = await tuplesRead(fresh, "job_finishes", "seq", async () => {
      deleted = (await runRetention(fresh, 100)).deleted;
    });
  });
  assert.equal(historySeq, 0, "retention reads no history in full");
  assert.equal(finishesSeq, 0, "retention reads no job_finishes in full");
  assert.equal(deleted, 1_000);
  const left = await fresh.pool.query<{ n: number }>(
    `select count(*)::int as n from ${F}.job_history where queue = 'big'`,
  );
  assert.equal(left.rows[0]?.n, 1_000);
  const big = (await fresh.queueOverview()).find((q) => q.name === "big");
  assert.deepEqual(big?.lastHour, { succeeded: 1_000, dead: 0 });
});

test("migration 0029 names the succeeded jobs already in history, and keeps an index only for the others", async () => {
  const pool = createPool({ connectionString: testDatabaseUrl(), max: 2 });
  onCleanup(() => pool.end());
  const schema = freshSchema("finish0029");
  const Q = `"${schema}"`;
  await migrate(pool, schema, { migrations: knownMigrations().filter((m) => m.id <= 28) });
  const insert = (first: number, n: number, queue: string, state: string, finished: string) =>
    pool.query(
      `insert into ${Q}.job_history (id, queue, handler, state, target, payload, priority, attempt, max_attempts,
                                     run_at, created_at, finished_at)
       select k, $3, 'h', $4, '{"handler":"h"}', '{}', 0, 1, 3, now(), now(), $5::timestamptz
       from generate_series($1::bigint, $1::bigint + $2 - 1) k`,
      [first, n, queue, state, finished],
    );
  // A history loaded in one statement: 10,005 jobs sharing one finish time.
  await insert(1, 10_005, "a", "succeeded", "2026-12-01T00:00:00Z");
  await insert(20_001, 3, "a", "succeeded", "2026-12-02T00:00:00Z");
  await insert(30_001, 2, "b", "succeeded", "2026-12-02T00:00:00Z");
  await insert(40_001, 5, "a", "dead", "2026-12-02T00:00:00Z");
  await migrate(pool, schema);
  const { rows } = await pool.query<{ queue: string; at: string; jobs: number; first: string; last: string }>(
    `select queue, to_char(finished_at at time zone 'UTC', 'YYYY-MM-DD') as at, jobs,
            job_ids[1]::text as first, job_ids[cardinality(job_ids)]::text as last
       from ${Q}.job_finishes order by queue, finished_at, job_ids[1]`,
  );
  assert.deepEqual(
    rows.map((r) => [r.queue, r.at, r.jobs, r.first, r.last]),
    [
      ["a", "2026-12-01", 10_000, "1", "10000"],
      ["a", "2026-12-01", 5, "10001", "10005"],
      ["a", "2026-12-02", 3, "20001", "20003"],
      ["b", "2026-12-02", 2, "30001", "30002"],
    ],
  );
  const indexes = await pool.query<{ indexname: string }>(
    `select indexname from pg_indexes where schemaname = $1 and tablename = 'job_history' order by 1`,
    [schema],
  );
  const names = indexes.rows.map((r) => r.indexname);
  assert.ok(names.includes("job_history_unsucceeded"));
  assert.ok(!names.includes("job_history_retention"), "the index over every finished job is dropped");
  const after = await Engine.connect({ connectionString: testDatabaseUrl(), schema });
  try {
    const page = await after.listJobsPage({ queue: "a", state: "succeeded", limit: 4 });
    assert.deepEqual(
      page.jobs.map((j) => j.id),
      ["20003", "20002", "20001", "10005"],
    );
    const dead = await after.listJobsPage({ queue: "a", state: "dead", limit: 2 });
    assert.deepEqual(
      dead.jobs.map((j) => j.id),
      ["40005", "40004"],
    );
  } finally {
    await after.close();
  }
});
