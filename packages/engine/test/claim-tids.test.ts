/**
 * Decision 074: claims lease the rows their search locked by tuple id (claim_due_tids,
 * claim_after_tids), and the previous version's functions (claim_due, claim_candidates_after),
 * which a process of that version calls during a rolling deploy, return the same jobs through
 * them: in priority order, locked, skipped by other claims until their transaction ends.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import type { Engine } from "../src/index.js";
import { guardLeaks, testDatabaseUrl, testEngine } from "./helpers.js";

guardLeaks();
const engine: Engine = await testEngine();
const S = `"${engine.schema}"`;

const claim = (queue: string, limit: number) =>
  engine.claim({ queue, handlers: ["h"], limit, leaseMs: 60_000, workerId: "w", limited: false });

/** Enqueues jobs {k} with the given priorities, one at a time (so run_at follows k); their ids by k. */
async function jobs(queue: string, priorities: number[]): Promise<string[]> {
  const ids: string[] = [];
  for (const [k, priority] of priorities.entries()) {
    const job = await engine.enqueue({ queue, target: { handler: "h" }, payload: { k }, priority });
    ids.push(job.id);
  }
  return ids;
}

test("the previous version's claim_due and claim_candidates_after give the jobs in order, locked", async () => {
  const ids = await jobs("ct1", [0, 0, 5, 5, 1, 1, 0]);
  // Two processes of the previous version, each claiming in its own transaction.
  const first = new pg.Client({ connectionString: testDatabaseUrl() });
  const second = new pg.Client({ connectionString: testDatabaseUrl() });
  await first.connect();
  await second.connect();
  try {
    await first.query("begin");
    const due = await first.query<{ id: string }>(
      `select id::text from ${S}.claim_due('ct1', array['h'], 3, null, null) as c(id)`,
    );
    // Priority 5 first (k 2, 3), then priority 1 from its front (k 4).
    assert.deepEqual(due.rows.map((r) => r.id).sort(), [ids[2], ids[3], ids[4]].sort());
    // After a cursor at k 4 (priority 1): priority 5 is locked by the first, so k 5, then
    // priority 0 from its front (k 0).
    await second.query("begin");
    const [cursor] = (
      await second.query<{ run_at: Date }>(`select run_at from ${S}.jobs where id = $1`, [ids[4]])
    ).rows;
    const after = await second.query<{ id: string }>(
      `select id::text from ${S}.claim_candidates_after('ct1', array['h'], 2, 1, $1, $2) as c(id)`,
      [cursor?.run_at, ids[4]],
    );
    assert.deepEqual(after.rows.map((r) => r.id).sort(), [ids[5], ids[0]].sort());
    // Locked by those transactions: this version's claim takes the other two and nothing else.
    const now = await claim("ct1", 10);
    assert.deepEqual(now.map((j) => j.id).sort(), [ids[1], ids[6]].sort());
    await first.query("rollback");
    await second.query("rollback");
  } finally {
    await first.end();
    await second.end();
  }
  // Released: the five are claimed now.
  const rest = await claim("ct1", 10);
  assert.deepEqual(rest.map((j) => j.id).sort(), [ids[0], ids[2], ids[3], ids[4], ids[5]].sort());
});

test("a claim leases exactly the rows it locked: concurrent claims never share a job", async () => {
  await engine.enqueueMany(
    Array.from({ length: 3_000 }, (_, k) => ({ queue: "ct2", target: { handler: "h" }, payload: { k } })),
  );
  const seen = new Map<string, number>();
  const claimer = async () => {
    for (;;) {
      const got = await claim("ct2", 50);
      if (got.length === 0) return;
      for (const j of got) seen.set(j.id, (seen.get(j.id) ?? 0) + 1);
      await engine.complete(got.map((j) => ({ id: j.id, leaseToken: j.leaseToken })));
    }
  };
  await Promise.all([claimer(), claimer(), claimer(), claimer()]);
  assert.equal(seen.size, 3_000);
  assert.ok(
    [...seen.values()].every((n) => n === 1),
    "a job was claimed twice",
  );
  const [left] = (
    await engine.pool.query<{ n: number }>(`select count(*)::int as n from ${S}.jobs where queue = 'ct2'`)
  ).rows;
  assert.equal(left?.n, 0);
});
