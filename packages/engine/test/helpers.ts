import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, afterEach } from "node:test";
import pg from "pg";
import {
  createWorker,
  Engine,
  type EngineOptions,
  engineScoped,
  type JobError,
  openResources,
  type Worker,
  type WorkerOptions,
} from "../src/index.js";

/** The Postgres the test run uses (set by scripts/test.ts: local server or embedded). */
export function testDatabaseUrl(): string {
  return process.env.KEEL_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
}

// Cleanups run last-in first-out after the file's tests, then the leak check runs; one
// \`after\` hook keeps that order (node runs hooks in registration order).
const cleanups: (() => Promise<unknown> | unknown)[] = [];
after(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  assert.deepEqual(openResources(), [], `test file left resources open: ${openResources().join(", ")}`);
});

/** Registers work to run after the file's tests, before the leak check. */
export function onCleanup(fn: () => Promise<unknown> | unknown): void {
  cleanups.push(fn);
}

/** A schema name unique to this test file and run; dropped when the file ends. */
export function freshSchema(prefix = "t"): string {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString("hex")}`;
  onCleanup(async () => {
    const client = new pg.Client({ connectionString: testDatabaseUrl() });
    await client.connect();
    try {
      await client.query(`drop schema if exists "${name}" cascade`);
    } finally {
      await client.end();
    }
  });
  return name;
}

/**
 * Fails any test that leaves a worker or listener running (pools may live for the file; the
 * file-level check above catches those). Call once at the top of each test file.
 */
export function guardLeaks(): void {
  afterEach(() => {
    const live = openResources().filter((kind) => !engineScoped(kind));
    assert.deepEqual(live, [], `test left resources running: ${live.join(", ")}`);
  });
}

/** An engine on a fresh schema, closed when the file ends. */
export async function testEngine(options: Partial<EngineOptions> = {}): Promise<Engine> {
  const engine = await Engine.connect({
    migrate: true,
    connectionString: testDatabaseUrl(),
    schema: freshSchema(),
    ...options,
  });
  onCleanup(() => engine.close());
  return engine;
}

/** Polls `check` every 20 ms until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  check: () => Promise<T> | T,
  timeoutMs = 10_000,
  what = "condition",
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A deferred promise, for test signals instead of sleeps. */
export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export interface DeadJobsOptions {
  handler?: string;
  error?: JobError;
  dedupeKey?: string;
  payload?: (i: number) => unknown;
}

/** Claims up to `n` due jobs of `queue` and fails them for good; returns their ids. */
export async function failForGood(
  engine: Engine,
  queue: string,
  n: number,
  options: Pick<DeadJobsOptions, "handler" | "error"> = {},
): Promise<string[]> {
  const claimed = await engine.claim({
    queue,
    handlers: [options.handler ?? "h"],
    limit: n,
    leaseMs: 60_000,
    workerId: "test-worker",
    limited: false,
  });
  const error = options.error ?? { message: "boom" };
  await engine.fail(claimed.map((job) => ({ job, error, retryInMs: null })));
  return claimed.map((job) => job.id);
}

/** Enqueues `n` one-attempt jobs and fails them for good: `n` dead jobs, their ids returned. */
export async function deadJobs(
  engine: Engine,
  queue: string,
  n: number,
  options: DeadJobsOptions = {},
): Promise<string[]> {
  await engine.enqueueMany(
    Array.from({ length: n }, (_, i) => ({
      queue,
      target: { handler: options.handler ?? "h" },
      maxAttempts: 1,
      ...(options.payload ? { payload: options.payload(i) } : {}),
      ...(options.dedupeKey ? { dedupeKey: options.dedupeKey } : {}),
    })),
  );
  return failForGood(engine, queue, n, options);
}

/**
 * Enqueues `n` jobs of `queue` (handler `h`), claims them all and completes them `per` at a time
 * (one completion, by default): `n` succeeded jobs, their ids returned in claim order.
 */
export async function succeededJobs(engine: Engine, queue: string, n: number, per = n): Promise<string[]> {
  await engine.enqueueMany(Array.from({ length: n }, () => ({ queue, target: { handler: "h" } })));
  const jobs = await engine.claim({
    queue,
    handlers: ["h"],
    limit: n,
    leaseMs: 30_000,
    workerId: "test-worker",
    limited: false,
  });
  if (jobs.length !== n) throw new Error(`succeededJobs: claimed ${jobs.length} of ${n} jobs of ${queue}`);
  for (let i = 0; i < jobs.length; i += per) await engine.complete(jobs.slice(i, i + per));
  return jobs.map((j) => j.id);
}

/**
 * How many rows `fn` made Postgres read from `table` of the engine's schema: by sequential scan
 * (`seq_tup_read`) or through its indexes (`idx_tup_read` of pg_stat_user_indexes). Index
 * entries that an index condition rejects are not counted: `indexBlocksRead` counts those scans.
 * The engine's pool should hold one connection, whose statistics are flushed before each reading.
 */
export function tuplesRead(
  engine: Engine,
  table: string,
  how: "seq" | "index",
  fn: () => Promise<unknown>,
): Promise<number> {
  const sql =
    how === "seq"
      ? "select coalesce(seq_tup_read, 0)::int as n from pg_stat_user_tables where schemaname = $1 and relname = $2"
      : "select coalesce(sum(idx_tup_read), 0)::int as n from pg_stat_user_indexes where schemaname = $1 and relname = $2";
  return statisticDelta(engine, sql, table, fn);
}

/**
 * How many blocks of `table`'s indexes `fn` made Postgres read or find in shared buffers
 * (`idx_blks_read + idx_blks_hit` of pg_statio_user_indexes), as `tuplesRead` measures.
 */
export function indexBlocksRead(engine: Engine, table: string, fn: () => Promise<unknown>): Promise<number> {
  return statisticDelta(
    engine,
    "select coalesce(sum(idx_blks_hit + idx_blks_read), 0)::int as n from pg_statio_user_indexes where schemaname = $1 and relname = $2",
    table,
    fn,
  );
}

/** What `fn` added to the count `sql` reads ($1 schema, $2 table), statistics flushed around it. */
async function statisticDelta(
  engine: Engine,
  sql: string,
  table: string,
  fn: () => Promise<unknown>,
): Promise<number> {
  const read = async () => {
    await engine.pool.query("select pg_stat_force_next_flush()");
    await engine.pool.query("select pg_stat_clear_snapshot()");
    return (await engine.pool.query<{ n: number }>(sql, [engine.schema, table])).rows[0]?.n ?? 0;
  };
  const before = await read();
  await fn();
  return (await read()) - before;
}

/**
 * A started worker on `engine` with a 5 s lease and no maintenance; the test must stop it (the
 * leak guard checks).
 */
export async function startTestWorker(
  engine: Engine,
  options: Omit<WorkerOptions, "engine">,
): Promise<Worker> {
  const worker = createWorker({ engine, leaseMs: 5_000, maintenance: false, ...options });
  await worker.start();
  return worker;
}

/**
 * As if job `id`'s lease ran out a second ago, instead of waiting for it: its own `lease_until`
 * and the time of the `job_leases` rows naming it back-dated, as time passing would (decision 087).
 */
export async function lapseLease(engine: Engine, id: string): Promise<void> {
  const S = `"${engine.schema}"`;
  await engine.pool.query(`update ${S}.jobs set lease_until = now() - interval '1 second' where id = $1`, [
    id,
  ]);
  await engine.pool.query(
    `update ${S}.job_leases set until = now() - interval '1 second' where $1 = any(job_ids)`,
    [id],
  );
}
