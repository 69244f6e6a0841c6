/**
 * Decision 087: a claim records its lease once, in a `job_leases` row naming its jobs, and the
 * lease sweep reads those rows instead of an index entry a job. These tests hold the invariant
 * that makes that safe: every job running under a lease is named by a row whose time is up no
 * later than its lease, until the job is no longer leased.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type ClaimedJob, createPool, Engine, knownMigrations, migrate } from "../src/index.js";
import { startMaintenance } from "../src/maintenance/tasks.js";
import { leaseOf } from "../src/queue/rows.js";
import { ManualClock } from "./clock.js";
import {
  deferred,
  freshSchema,
  guardLeaks,
  lapseLease,
  onCleanup,
  startTestWorker,
  testDatabaseUrl,
  testEngine,
} from "./helpers.js";

guardLeaks();
const engine = await testEngine();
const S = `"${engine.schema}"`;
const LEASE = 30_000;

interface LeaseRow {
  id: string;
  worker_id: string | null;
  until: Date;
  job_ids: string[];
}

async function leaseRows(where = "true", values: unknown[] = []): Promise<LeaseRow[]> {
  const { rows } = await engine.pool.query<LeaseRow>(
    `select id, worker_id, until, job_ids from ${S}.job_leases where ${where} order by until, id`,
    values,
  );
  return rows;
}

function claim(queue: string, limit = 10, workerId = "w", limited = false): Promise<ClaimedJob[]> {
  return engine.claim({ queue, handlers: ["h"], limit, leaseMs: LEASE, workerId, limited });
}

async function enqueue(queue: string, n: number): Promise<string[]> {
  const jobs = await engine.enqueueMany(
    Array.from({ length: n }, (_, k) => ({ queue, target: { handler: "h" }, payload: { k } })),
  );
  return jobs.map((j) => j.id);
}

const lapse = (id: string): Promise<void> => lapseLease(engine, id);

const sorted = (ids: string[]) => [...ids].sort((a, b) => Number(a) - Number(b));

test("a claim writes one row naming its jobs, keyed by its token, due when its lease ends", async () => {
  const ids = await enqueue("r1", 3);
  const jobs = await claim("r1", 10, "w-r1");
  assert.equal(jobs.length, 3);
  const rows = await leaseRows("worker_id = 'w-r1'");
  assert.equal(rows.length, 1);
  const [row] = rows as [LeaseRow];
  assert.equal(row.id, jobs[0]?.leaseToken);
  assert.equal(leaseOf(jobs[0] as ClaimedJob), row.id);
  assert.deepEqual(sorted(row.job_ids), sorted(ids));
  assert.equal(row.until.getTime(), jobs[0]?.leaseUntil.getTime());
  // A claim that finds nothing writes nothing.
  assert.deepEqual(await claim("r1", 10, "w-r1-empty"), []);
  assert.equal((await leaseRows("worker_id = 'w-r1-empty'")).length, 0);
  await engine.complete(jobs);
});

test("a limited claim, which draws a token a job, writes one row under an id of its own", async () => {
  await engine.upsertQueue("r2", { concurrency: 5 });
  const ids = await enqueue("r2", 3);
  const jobs = await claim("r2", 10, "w-r2", true);
  assert.equal(jobs.length, 3);
  const rows = await leaseRows("worker_id = 'w-r2'");
  assert.equal(rows.length, 1);
  const [row] = rows as [LeaseRow];
  assert.deepEqual(sorted(row.job_ids), sorted(ids));
  for (const job of jobs) {
    assert.equal(leaseOf(job), row.id);
    assert.notEqual(job.leaseToken, row.id);
  }
  await engine.complete(jobs);
});

test("the sweep takes back a row's lapsed jobs, keeps the row for one still leased, and drops it when none is left", async () => {
  await enqueue("r3", 2);
  const [a, b] = (await claim("r3", 2, "w-r3")) as [ClaimedJob, ClaimedJob];
  // a's worker froze; b's heartbeat went on (its own lease extended, the row's time not).
  await lapse(a.id);
  await engine.heartbeat([b], LEASE);
  const swept = await engine.sweepExpiredLeases();
  assert.equal(swept.requeued, 1);
  assert.equal((await engine.getJob(a.id)).state, "available");
  assert.equal((await engine.getJob(b.id)).state, "running");
  const [row] = (await leaseRows("worker_id = 'w-r3'")) as [LeaseRow];
  assert.deepEqual(row.job_ids, [b.id], "the row now names only the job still leased");
  const { rows } = await engine.pool.query<{ lease_until: Date }>(
    `select lease_until from ${S}.jobs where id = $1`,
    [b.id],
  );
  assert.equal(row.until.getTime(), rows[0]?.lease_until.getTime(), "due when b's lease would lapse");
  // b ends; its row, due again, names nothing running: the sweep deletes it.
  assert.equal((await engine.complete([b])).size, 0);
  await engine.pool.query(`update ${S}.job_leases set until = now() - interval '1 second' where id = $1`, [
    row.id,
  ]);
  assert.deepEqual(await engine.sweepExpiredLeases(), { requeued: 0, dead: 0 });
  assert.equal((await leaseRows("worker_id = 'w-r3'")).length, 0);
});

test("a job claimed again under another lease is left to that lease by the first one's row", async () => {
  await enqueue("r4", 1);
  const [first] = (await claim("r4", 1, "w-r4a")) as [ClaimedJob];
  assert.equal((await engine.release([first])).size, 0);
  const [second] = (await claim("r4", 1, "w-r4b")) as [ClaimedJob];
  assert.equal(second.id, first.id);
  await engine.pool.query(
    `update ${S}.job_leases set until = now() - interval '1 second' where worker_id = 'w-r4a'`,
  );
  await engine.sweepExpiredLeases();
  assert.equal((await engine.getJob(second.id)).state, "running", "its lease (the second's) holds");
  assert.equal((await engine.complete([second])).size, 0);
});

test("a running job that no row names (an older Keel's claim) is taken back by the lease scan, once every ten minutes", async () => {
  const [id] = (await enqueue("r5", 1)) as [string];
  await claim("r5", 1, "w-r5");
  await engine.pool.query(`delete from ${S}.job_leases where $1 = any(job_ids)`, [id]);
  await engine.pool.query(`update ${S}.jobs set lease_until = now() - interval '1 second' where id = $1`, [
    id,
  ]);
  await engine.sweepExpiredLeases();
  assert.equal((await engine.getJob(id)).state, "running", "no row names it: the sweep cannot see it");

  const clock = new ManualClock();
  const maintenance = startMaintenance(engine, {
    clock,
    jitter: 0,
    sweepIntervalMs: 1_000,
    retention: false,
  });
  try {
    const scan = maintenance.task("lease-scan");
    const scanned = scan.ran();
    const sweep = maintenance.task("lease-sweep");
    const swept = sweep.ran();
    clock.advance(1_000);
    await swept;
    assert.equal((await engine.getJob(id)).state, "running", "the scan keeps its own ten minutes");
    clock.advance(599_000);
    const report = await scanned;
    assert.ok(report.ok && (report.result?.requeued ?? 0) >= 1, JSON.stringify(report));
    assert.equal((await engine.getJob(id)).state, "available");
  } finally {
    await maintenance.stop();
  }
});

test("a worker deletes its claims' rows once all their jobs have ended", async () => {
  await enqueue("r6", 4);
  const started = deferred();
  const release = deferred();
  let calls = 0;
  const worker = await startTestWorker(engine, {
    queues: ["r6"],
    concurrency: 4,
    handlers: {
      h: async ({ payload }) => {
        if (++calls === 4) started.resolve();
        await release.promise;
        if ((payload as { k: number }).k === 0) throw new Error("fails, retried in a while");
      },
    },
  });
  let rowsWhileRunning: LeaseRow[];
  try {
    await started.promise;
    rowsWhileRunning = await leaseRows("worker_id = $1", [worker.id]);
  } finally {
    release.resolve();
    await worker.stop();
  }
  assert.equal(rowsWhileRunning.length, 1, "the claim's row while its jobs ran");
  assert.equal(rowsWhileRunning[0]?.job_ids.length, 4);
  assert.deepEqual(
    await leaseRows("worker_id = $1", [worker.id]),
    [],
    "deleted at stop, every outcome written",
  );
});

test("a job whose completion could not be written keeps its row, and the sweep takes it back", async () => {
  const [id] = (await enqueue("r7", 1)) as [string];
  const handled = deferred();
  const { complete } = engine;
  engine.complete = async () => {
    throw new Error("the database went away");
  };
  const worker = await startTestWorker(engine, {
    queues: ["r7"],
    concurrency: 1,
    handlers: { h: () => handled.resolve() },
  });
  try {
    await handled.promise;
  } finally {
    // Stopping gives up on the write: the job stays leased in Postgres, and must stay swept.
    await worker.stop();
    engine.complete = complete;
  }
  assert.equal((await engine.getJob(id)).state, "running");
  const rows = await leaseRows("$1 = any(job_ids)", [id]);
  assert.equal(rows.length, 1, "its row stays for the sweep");
  await lapse(id);
  assert.equal((await engine.sweepExpiredLeases()).requeued, 1);
  assert.equal((await engine.getJob(id)).state, "available");
});

test("jobs running when migration 0028 runs are named by rows, one a lease token", async () => {
  const pool = createPool({ connectionString: testDatabaseUrl(), max: 2 });
  onCleanup(() => pool.end());
  const schema = freshSchema("lease0028");
  const Q = `"${schema}"`;
  await migrate(pool, schema, { migrations: knownMigrations().filter((m) => m.id <= 27) });
  for (let k = 0; k < 3; k++) await pool.query(`select ${Q}.enqueue('q', '{"handler":"h"}', '{}', null)`);
  // As an older Keel claims: one token for two jobs, another for the third.
  await pool.query(
    `update ${Q}.jobs set state = 'running', attempt = 1, worker_id = 'old', started_at = now(),
       lease_token = case when id = (select max(id) from ${Q}.jobs) then '00000000-0000-4000-8000-000000000002'::uuid
                          else '00000000-0000-4000-8000-000000000001'::uuid end,
       lease_until = now() + interval '30 seconds'`,
  );
  await migrate(pool, schema);
  const { rows } = await pool.query<{ id: string; n: number }>(
    `select id, cardinality(job_ids) as n from ${Q}.job_leases order by id`,
  );
  assert.deepEqual(
    rows.map((r) => [r.id, r.n]),
    [
      ["00000000-0000-4000-8000-000000000001", 2],
      ["00000000-0000-4000-8000-000000000002", 1],
    ],
  );
  const index = await pool.query(
    "select 1 from pg_indexes where schemaname = $1 and indexname = 'jobs_lease'",
    [schema],
  );
  assert.equal(index.rowCount, 0, "jobs_lease is dropped");
  const after = await Engine.connect({ connectionString: testDatabaseUrl(), schema });
  try {
    await pool.query(`update ${Q}.jobs set lease_until = now() - interval '1 second'`);
    await pool.query(`update ${Q}.job_leases set until = now() - interval '1 second'`);
    assert.equal((await after.sweepExpiredLeases()).requeued, 3);
  } finally {
    await after.close();
  }
});
