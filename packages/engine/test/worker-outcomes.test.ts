/**
 * How a worker ends its jobs a batch at a time (decision 082): handlers that return at once and
 * handlers that return promises, side by side; a completion whose write fails is written again
 * with a later batch while the lease holds, and the job runs once; an application hook that
 * throws does not hold up the job's neighbours.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createWorker, type Engine, type JobOutcome } from "../src/index.js";
import { completionBatch } from "../src/worker/worker.js";
import { guardLeaks, testEngine, waitFor } from "./helpers.js";

guardLeaks();
const engine: Engine = await testEngine();
const S = `"${engine.schema}"`;

async function enqueueNumbered(queue: string, handler: string, n: number, from = 0): Promise<void> {
  await engine.enqueueMany(
    Array.from({ length: n }, (_, i) => ({
      queue,
      target: { handler },
      payload: { k: from + i },
      maxAttempts: 2,
    })),
  );
}

test("handlers that return at once, return promises or throw end side by side, each recorded once", async () => {
  const runs = new Map<string, number>();
  const ends: { handler: string; outcome: JobOutcome }[] = [];
  const count = (key: string) => runs.set(key, (runs.get(key) ?? 0) + 1);
  const worker = createWorker({
    engine,
    queues: ["mixed"],
    concurrency: 20,
    leaseMs: 5_000,
    maintenance: false,
    handlers: {
      now: ({ payload }) => {
        count(`now:${(payload as { k: number }).k}`);
      },
      later: async ({ payload }) => {
        await new Promise((r) => setTimeout(r, 5));
        count(`later:${(payload as { k: number }).k}`);
      },
      throws: ({ payload }) => {
        count(`throws:${(payload as { k: number }).k}`);
        throw new Error("thrown at once");
      },
      rejects: async ({ payload }) => {
        count(`rejects:${(payload as { k: number }).k}`);
        throw new Error("rejected");
      },
    },
    hooks: { onJobEnd: (job, { outcome }) => ends.push({ handler: job.handler, outcome }) },
  });
  for (const h of ["now", "later", "throws", "rejects"]) await enqueueNumbered("mixed", h, 30);
  await worker.start();
  try {
    // 60 succeed; the 60 that fail run twice (maxAttempts 2), then are dead.
    await waitFor(() => ends.length >= 180, 20_000, "every attempt ended");
  } finally {
    await worker.stop();
  }
  for (const h of ["now", "later"])
    for (let k = 0; k < 30; k++) assert.equal(runs.get(`${h}:${k}`), 1, `${h} ${k} ran once`);
  for (const h of ["throws", "rejects"])
    for (let k = 0; k < 30; k++) assert.equal(runs.get(`${h}:${k}`), 2, `${h} ${k} ran twice`);
  const by = (handler: string, outcome: JobOutcome) =>
    ends.filter((e) => e.handler === handler && e.outcome === outcome).length;
  assert.deepEqual(
    [by("now", "succeeded"), by("later", "succeeded"), by("throws", "failed"), by("rejects", "failed")],
    [30, 30, 60, 60],
  );
  const { rows } = await engine.pool.query<{ handler: string; state: string; n: number }>(
    `select handler, state, count(*)::int as n from ${S}.job_history where queue = 'mixed'
     group by 1, 2 order by 1, 2`,
  );
  assert.deepEqual(
    rows.map((r) => [r.handler, r.state, r.n]),
    [
      ["later", "succeeded", 30],
      ["now", "succeeded", 30],
      ["rejects", "dead", 30],
      ["throws", "dead", 30],
    ],
  );
});

test("a completion whose write fails is written with a later batch: the job runs once, recorded once", async () => {
  // While a row is in `fail_writes`, every statement that writes history fails (a whole
  // completion rolls back, as when Postgres restarts under it).
  await engine.pool.query(`create table ${S}.fail_writes (on_purpose boolean)`);
  // Counts the refusals: a sequence is not rolled back with the statement.
  await engine.pool.query(`create sequence ${S}.refusals`);
  await engine.pool.query(`insert into ${S}.fail_writes values (true)`);
  await engine.pool.query(
    `create function ${S}.fail_writes() returns trigger language plpgsql as $$
     begin
       if exists (select 1 from ${S}.fail_writes) then
         perform nextval('${S}.refusals');
         raise exception 'history write refused on purpose';
       end if;
       return null;
     end $$`,
  );
  await engine.pool.query(
    `create trigger fail_writes before insert on ${S}.job_history for each statement execute function ${S}.fail_writes()`,
  );
  const runs = new Map<number, number>();
  const ends: JobOutcome[] = [];
  const errors: unknown[] = [];
  const refusals = async () =>
    (
      await engine.pool.query<{ n: number }>(
        `select case when is_called then last_value else 0 end::int as n from ${S}.refusals`,
      )
    ).rows[0]?.n ?? 0;
  const worker = createWorker({
    engine,
    queues: ["retried"],
    concurrency: 50,
    leaseMs: 10_000,
    maintenance: false,
    handlers: {
      h: ({ payload }) => {
        const k = (payload as { k: number }).k;
        runs.set(k, (runs.get(k) ?? 0) + 1);
      },
    },
    hooks: {
      onJobEnd: (_job, { outcome }) => ends.push(outcome),
      onError: (err, during) => errors.push([during, (err as Error).message]),
    },
  });
  try {
    await enqueueNumbered("retried", "h", 40);
    await worker.start();
    // Two refused writes: the first, and the first retry.
    await waitFor(async () => (await refusals()) >= 2, 10_000, "two refused writes");
    assert.equal(ends.length, 0, "no job ends while its completion is refused");
    await engine.pool.query(`delete from ${S}.fail_writes`);
    await waitFor(() => ends.length >= 40, 10_000, "every job ended");
  } finally {
    await worker.stop();
    await engine.pool.query(`drop trigger fail_writes on ${S}.job_history`);
  }
  assert.deepEqual(new Set(ends), new Set(["succeeded"]));
  for (let k = 0; k < 40; k++) assert.equal(runs.get(k), 1, `job ${k} ran once`);
  // The refusals were retried quietly, within the lease: no error was reported.
  assert.deepEqual(errors, []);
  const { rows } = await engine.pool.query<{ n: number }>(
    `select count(*)::int as n from ${S}.job_history where queue = 'retried' and state = 'succeeded'`,
  );
  assert.equal(rows[0]?.n, 40);
});

test("a hook that throws for one job holds up none of its neighbours, and its error is thrown outside", async () => {
  const ended: number[] = [];
  const thrown: unknown[] = [];
  // The test runner's own listeners would count the error against this test: set aside while
  // the worker runs, and put back after.
  const runnerListeners = process.listeners("uncaughtException");
  process.removeAllListeners("uncaughtException");
  process.on("uncaughtException", (err) => thrown.push(err));
  const worker = createWorker({
    engine,
    queues: ["hooked"],
    concurrency: 20,
    leaseMs: 5_000,
    maintenance: false,
    handlers: { h: () => {} },
    hooks: {
      onJobStart: (job) => {
        if ((job.payload as { k: number }).k === 3) throw new Error("onJobStart broke");
      },
      onJobEnd: (job) => {
        const k = (job.payload as { k: number }).k;
        ended.push(k);
        if (k === 7) throw new Error("onJobEnd broke");
      },
    },
  });
  try {
    await enqueueNumbered("hooked", "h", 20);
    await worker.start();
    await waitFor(() => ended.length >= 20, 10_000, "every job ended");
    await waitFor(() => thrown.length >= 2, 5_000, "both hook errors thrown");
  } finally {
    await worker.stop();
    process.removeAllListeners("uncaughtException");
    for (const l of runnerListeners) process.on("uncaughtException", l);
  }
  assert.deepEqual(
    ended.sort((a, b) => a - b),
    Array.from({ length: 20 }, (_, k) => k),
  );
  assert.deepEqual(thrown.map((e) => (e as Error).message).sort(), ["onJobEnd broke", "onJobStart broke"]);
  const { rows } = await engine.pool.query<{ n: number }>(
    `select count(*)::int as n from ${S}.job_history where queue = 'hooked' and state = 'succeeded'`,
  );
  assert.equal(rows[0]?.n, 20);
});

test("a worker ends up to a claim's worth of jobs in one completion: its concurrency, from 500 to 2,000", async () => {
  assert.deepEqual([10, 500, 1_500, 2_000, 50_000].map(completionBatch), [500, 500, 1_500, 2_000, 2_000]);
  // A separate engine, so that only this worker's completions are counted.
  const own = await testEngine();
  const sizes: number[] = [];
  const complete = own.complete.bind(own);
  own.complete = (jobs) => {
    sizes.push(jobs.length);
    return complete(jobs);
  };
  await own.enqueueMany(
    Array.from({ length: 1_500 }, (_, k) => ({ queue: "wide", target: { handler: "h" }, payload: { k } })),
  );
  let ended = 0;
  const worker = createWorker({
    engine: own,
    queues: ["wide"],
    concurrency: 1_500,
    maintenance: false,
    handlers: { h: () => {} },
    hooks: { onJobEnd: () => void ended++ },
  });
  await worker.start();
  try {
    await waitFor(() => ended === 1_500, 20_000, "every job ended");
  } finally {
    await worker.stop();
  }
  assert.equal(
    sizes.reduce((a, b) => a + b, 0),
    1_500,
  );
  // The claim of 1,500 ran at once: its jobs end in one statement, not three of 500.
  assert.ok(Math.max(...sizes) > 500, `completions of ${sizes.join(", ")} jobs`);
  assert.ok(Math.max(...sizes) <= 1_500);
});
