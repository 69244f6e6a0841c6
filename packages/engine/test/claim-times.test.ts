/**
 * A claim returns its times as microseconds since the epoch and the worker makes the Dates
 * (parsing three timestamptz texts a job cost more than the rest of the row). The Dates must be
 * the ones the driver would have made of the stored values, for both claim statements, and only
 * an ordered claim exposes `runAtUs` as a cursor.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ClaimedJob } from "../src/index.js";
import { guardLeaks, testEngine } from "./helpers.js";

guardLeaks();
const engine = await testEngine();

async function stored(job: ClaimedJob) {
  const { rows } = await engine.pool.query(
    `select run_at, created_at, lease_until, (extract(epoch from run_at) * 1000000)::bigint::text as us
     from "${engine.schema}".jobs where id = $1`,
    [job.id],
  );
  return rows[0] as { run_at: Date; created_at: Date; lease_until: Date; us: string };
}

for (const limited of [false, true]) {
  test(`${limited ? "claim_limited" : "claim"}: runAt, createdAt and leaseUntil are the stored times`, async () => {
    const queue = `times-${limited}`;
    // createdAt and leaseUntil come from now() (microseconds); one runAt is the enqueue's, one given.
    const runAt = new Date(Date.now() - 86_400_000);
    await engine.enqueueMany([
      { queue, target: { handler: "h" } },
      { queue, target: { handler: "h" }, runAt },
    ]);
    const jobs = await engine.claim({
      queue,
      handlers: ["h"],
      limit: 10,
      leaseMs: 60_000,
      workerId: "w",
      limited,
    });
    assert.equal(jobs.length, 2);
    for (const job of jobs) {
      const row = await stored(job);
      assert.equal(job.runAt.getTime(), row.run_at.getTime());
      assert.equal(job.createdAt.getTime(), row.created_at.getTime());
      assert.equal(job.leaseUntil.getTime(), row.lease_until.getTime());
      assert.ok(job.leaseUntil.getTime() > Date.now() + 50_000);
      assert.equal(job.runAtUs, limited ? undefined : row.us);
    }
    assert.ok(jobs.some((j) => j.runAt.getTime() === runAt.getTime()));
  });
}
