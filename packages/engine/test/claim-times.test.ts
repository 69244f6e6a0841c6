/**
 * A claim returns its times as microseconds since the epoch and the worker makes the Dates
 * (parsing three timestamptz texts a job cost more than the rest of the row). The Dates must be
 * the ones the driver would have made of the stored values, for both claim statements, and only
 * an ordered claim exposes `runAtUs` as a cursor. The Dates are made when first read (decision
 * 079), and a job serialised to JSON carries them.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
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

async function claimOne(queue: string): Promise<ClaimedJob> {
  const [job] = await engine.claim({
    queue,
    handlers: ["h"],
    limit: 1,
    leaseMs: 60_000,
    workerId: "w",
    limited: false,
  });
  assert.ok(job);
  return job;
}

test("a claimed job's times are made when read, and it serialises with them", async () => {
  const queue = "times-json";
  await engine.enqueue({ queue, target: { handler: "h" }, payload: { n: 1 } });
  const job = await claimOne(queue);
  const row = await stored(job);
  // The same Date on each read, not a new one.
  assert.equal(job.runAt, job.runAt);
  const plain = JSON.parse(JSON.stringify(job));
  assert.equal(plain.id, job.id);
  assert.deepEqual(plain.payload, { n: 1 });
  assert.equal(plain.runAt, row.run_at.toISOString());
  assert.equal(plain.createdAt, row.created_at.toISOString());
  assert.equal(plain.leaseUntil, row.lease_until.toISOString());
  assert.equal(plain.runAtUs, row.us);
});

test("an application's global bigint parser does not change the ids and times a claim returns", async () => {
  const queue = "times-int8";
  const { id } = await engine.enqueue({ queue, target: { handler: "h" } });
  // What an application does for its own pool; the engine's pool reads bigints as text.
  const original = pg.types.getTypeParser(20);
  pg.types.setTypeParser(20, (v: string) => Number.parseInt(v, 10));
  try {
    const job = await claimOne(queue);
    assert.equal(job.id, id);
    assert.equal(typeof job.runAtUs, "string");
    assert.equal(job.runAt.getTime(), (await stored(job)).run_at.getTime());
    assert.deepEqual(await engine.complete([{ id: job.id, leaseToken: job.leaseToken }]), new Set());
  } finally {
    pg.types.setTypeParser(20, original);
  }
});
