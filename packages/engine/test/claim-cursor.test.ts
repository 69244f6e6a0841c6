/**
 * Decision 054: a claim that starts after the worker's last claimed job. While a session holds
 * the vacuum horizon, every claimed job leaves a dead entry at the front of the queue's ready
 * index; a claim from the front visits them all, a claim after the cursor does not. Counted in
 * index tuples read (pg_stat_user_indexes.idx_tup_read), not in time.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import type { ClaimCursor, ClaimedJob, Engine } from "../src/index.js";
import { fullScanInterval, lastInIndexOrder, lookBack } from "../src/worker/worker.js";
import { guardLeaks, testDatabaseUrl, testEngine, tuplesRead } from "./helpers.js";

guardLeaks();
// One connection: the statistics this backend flushes are the claims' own.
const engine: Engine = await testEngine({ poolSize: 1 });
const S = `"${engine.schema}"`;

const claim = (queue: string, limit: number, after: ClaimCursor | null = null) =>
  engine.claim({ queue, handlers: ["h"], limit, leaseMs: 60_000, workerId: "w", limited: false, after });

function cursorOf(jobs: ClaimedJob[]): ClaimCursor {
  const at = lastInIndexOrder(jobs);
  assert.ok(at, "claims of an unlimited queue give an exact run_at");
  return at;
}

/** Index tuples read on the jobs table by `fn` (this backend's statistics, flushed). */
const indexTuplesRead = (fn: () => Promise<unknown>) => tuplesRead(engine, "jobs", "index", fn);

test("with the horizon held, a claim after the cursor skips the entries of jobs claimed before", async () => {
  await engine.enqueueMany(
    Array.from({ length: 2_600 }, (_, k) => ({ queue: "cc1", target: { handler: "h" }, payload: { k } })),
  );
  const holder = new pg.Client({ connectionString: testDatabaseUrl() });
  await holder.connect();
  try {
    await holder.query("begin isolation level repeatable read");
    await holder.query("select txid_current()");
    let last: ClaimedJob[] = [];
    for (let i = 0; i < 10; i++) {
      last = await claim("cc1", 200, last.length ? cursorOf(last) : null);
      assert.equal(last.length, 200);
      await engine.complete(last.map((j) => ({ id: j.id, leaseToken: j.leaseToken })));
    }
    const cursor = cursorOf(last);
    let fromCursor: ClaimedJob[] = [];
    const afterCursor = await indexTuplesRead(async () => {
      fromCursor = await claim("cc1", 100, cursor);
    });
    let fromFront: ClaimedJob[] = [];
    const front = await indexTuplesRead(async () => {
      fromFront = await claim("cc1", 100);
    });
    // The next jobs in order either way: payload k continues where the last claim ended.
    const ks = (jobs: ClaimedJob[]) => jobs.map((j) => (j.payload as { k: number }).k).sort((a, b) => a - b);
    assert.deepEqual(
      ks(fromCursor),
      Array.from({ length: 100 }, (_, i) => 2_000 + i),
    );
    assert.deepEqual(
      ks(fromFront),
      Array.from({ length: 100 }, (_, i) => 2_100 + i),
    );
    assert.ok(afterCursor < 400, `after the cursor: ${afterCursor} index tuples read`);
    assert.ok(front > 2_000, `from the front: ${front} index tuples read`);
  } finally {
    await holder.query("rollback");
    await holder.end();
  }
});

test("a cursor keeps the order: higher priorities first, then after the cursor, then lower ones", async () => {
  await engine.enqueueMany(
    Array.from({ length: 4 }, (_, k) => ({ queue: "cc2", target: { handler: "h" }, payload: { k } })),
  );
  const first = await claim("cc2", 2);
  const cursor = cursorOf(first);
  await engine.enqueue({ queue: "cc2", target: { handler: "h" }, payload: { k: "urgent" }, priority: 5 });
  await engine.enqueue({ queue: "cc2", target: { handler: "h" }, payload: { k: "later" }, priority: -1 });
  const k = (jobs: ClaimedJob[]) => jobs.map((j) => String((j.payload as { k: unknown }).k)).sort();
  assert.deepEqual(k(await claim("cc2", 1, cursor)), ["urgent"]);
  assert.deepEqual(k(await claim("cc2", 2, cursor)), ["2", "3"]);
  assert.deepEqual(k(await claim("cc2", 5, cursor)), ["later"]);
});

test("a job that became ready behind the cursor is found by a claim without one", async () => {
  await engine.enqueueMany(
    Array.from({ length: 3 }, (_, k) => ({ queue: "cc3", target: { handler: "h" }, payload: { k } })),
  );
  const [a] = await claim("cc3", 1);
  const [b] = await claim("cc3", 1, cursorOf([a as ClaimedJob]));
  assert.ok(a && b);
  // Another worker's shutdown hands `a` back: ready again, before the cursor (at `b`).
  await engine.release([a]);
  const k = (jobs: ClaimedJob[]) => jobs.map((j) => (j.payload as { k: number }).k);
  assert.deepEqual(k(await claim("cc3", 10, cursorOf([b]))), [2]);
  assert.deepEqual(k(await claim("cc3", 10)), [0]);
  const left = await engine.pool.query(
    `select count(*)::int as n from ${S}.jobs where queue = 'cc3' and state <> 'running'`,
  );
  assert.equal(left.rows[0].n, 0);
});

test("a job whose enqueue committed after later jobs were claimed is behind the cursor, and the look-back finds it", async () => {
  await engine.upsertQueue("cc4");
  // Its own connection: the engine's pool here has one.
  const client = new pg.Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    // Its run_at is the start of a transaction that commits only after a later job was claimed.
    await client.query("begin");
    await engine.enqueue({ queue: "cc4", target: { handler: "h" }, payload: { k: "late" } }, { client });
    await engine.enqueue({ queue: "cc4", target: { handler: "h" }, payload: { k: "early" } });
    const first = await claim("cc4", 10);
    assert.deepEqual(
      first.map((j) => (j.payload as { k: string }).k),
      ["early"],
    );
    await client.query("commit");
    const cursor = cursorOf(first);
    assert.deepEqual(await claim("cc4", 10, cursor), [], "after the cursor: nothing");
    const found = await claim("cc4", 10, lookBack(cursor));
    assert.deepEqual(
      found.map((j) => (j.payload as { k: string }).k),
      ["late"],
      "looking back from the cursor finds it",
    );
  } finally {
    await client.end();
  }
});

test("scans from the front are paced by their own duration: quick ones every second, slow ones rarer, capped", () => {
  assert.equal(fullScanInterval(3), 1_000, "a quick scan keeps the one-second period");
  assert.equal(fullScanInterval(100), 1_000);
  assert.equal(
    fullScanInterval(750),
    7_500,
    "a 750 ms scan (a pinned horizon's dead entries) waits ten times that",
  );
  assert.equal(fullScanInterval(10_000), 30_000, "at most 30 s between scans from the front");
});

test("claims are planned once: after Postgres's five custom plans, both claim statements run a generic one", async () => {
  // One statement with a branch for each kind of claim was planned at every claim (its generic
  // plan, costed with both branches, never looked as cheap as a custom one): 0.5 ms of
  // Postgres CPU per claim (decision 065).
  // A fresh engine of one connection: its prepared statements count only these claims.
  const fresh = await testEngine({ poolSize: 1 });
  await fresh.enqueueMany(
    Array.from({ length: 40 }, (_, k) => ({ queue: "cc-plan", target: { handler: "h" }, payload: { k } })),
  );
  const take = (after: ClaimCursor | null) =>
    fresh.claim({
      queue: "cc-plan",
      handlers: ["h"],
      limit: 2,
      leaseMs: 60_000,
      workerId: "w",
      limited: false,
      after,
    });
  for (let i = 0; i < 8; i++) await take(cursorOf(await take(null)));
  const { rows } = await fresh.pool.query<{ name: string; generic: number; custom: number }>(
    `select name, generic_plans::int as generic, custom_plans::int as custom
     from pg_prepared_statements where name = any($1) order by name`,
    [[`keel_${fresh.schema}_claim`, `keel_${fresh.schema}_claim_after`]],
  );
  assert.deepEqual(
    rows.map((r) => [r.name.slice(`keel_${fresh.schema}_`.length), r.custom, r.generic]),
    [
      ["claim", 5, 3],
      ["claim_after", 5, 3],
    ],
  );
});
