/**
 * Decision 053: the try that ends a job lives in its history row; attempts holds only the tries
 * a later try followed. A job's tries read the same as before (getJob().attempts), a retried
 * finished job keeps its last try, and a job that succeeds at once writes no attempt row.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ClaimedJob, Engine } from "../src/index.js";
import { guardLeaks, testEngine } from "./helpers.js";

guardLeaks();
const engine: Engine = await testEngine();
const S = `"${engine.schema}"`;

async function claimOne(queue: string, workerId = "w-1"): Promise<ClaimedJob> {
  const [job] = await engine.claim({
    queue,
    handlers: ["h"],
    limit: 1,
    leaseMs: 30_000,
    workerId,
    limited: false,
  });
  assert.ok(job, `a job of ${queue} to claim`);
  return job;
}

async function attemptRows(id: string): Promise<number> {
  const res = await engine.pool.query(`select count(*)::int as n from ${S}.attempts where job_id = $1`, [id]);
  return res.rows[0].n;
}

test("a job that succeeds at once has no attempt row; its try is read from history", async () => {
  const { id } = await engine.enqueue({ queue: "ht1", target: { handler: "h" } });
  const job = await claimOne("ht1");
  await engine.complete([
    {
      id: job.id,
      leaseToken: job.leaseToken,
      detail: { responseStatus: 204, latencyMs: 7, responseBody: "ok" },
    },
  ]);
  assert.equal(await attemptRows(id), 0);
  const rec = await engine.getJob(id);
  assert.equal(rec.state, "succeeded");
  assert.equal(rec.attempts.length, 1);
  const [a] = rec.attempts;
  assert.equal(a?.attempt, 1);
  assert.equal(a?.outcome, "succeeded");
  assert.equal(a?.workerId, "w-1");
  assert.equal(a?.error, null);
  assert.equal(a?.responseStatus, 204);
  assert.equal(a?.latencyMs, 7);
  assert.equal(a?.responseBody, "ok");
  assert.ok(a?.startedAt && a.finishedAt && a.startedAt <= a.finishedAt);
});

test("a failure that is retried keeps its attempt row; the final try comes last", async () => {
  const { id } = await engine.enqueue({ queue: "ht2", target: { handler: "h" }, maxAttempts: 3 });
  const first = await claimOne("ht2", "w-a");
  await engine.fail([{ job: first, error: { message: "flaky" }, retryInMs: 0 }]);
  const second = await claimOne("ht2", "w-b");
  await engine.fail([{ job: second, error: { message: "gave up" }, retryInMs: null }]);
  assert.equal(await attemptRows(id), 1);
  const rec = await engine.getJob(id);
  assert.equal(rec.state, "dead");
  assert.deepEqual(
    rec.attempts.map((a) => [a.attempt, a.outcome, a.workerId, a.error?.message]),
    [
      [1, "failed", "w-a", "flaky"],
      [2, "failed", "w-b", "gave up"],
    ],
  );
});

test("retrying a dead job moves its last try into attempts, so no try is lost", async () => {
  const { id } = await engine.enqueue({ queue: "ht3", target: { handler: "h" }, maxAttempts: 1 });
  const job = await claimOne("ht3", "w-x");
  await engine.fail([{ job, error: { message: "first life" }, retryInMs: null }]);
  await engine.retry(id);
  assert.equal(await attemptRows(id), 1);
  const again = await claimOne("ht3", "w-y");
  await engine.complete([{ id: again.id, leaseToken: again.leaseToken }]);
  const rec = await engine.getJob(id);
  assert.deepEqual(
    rec.attempts.map((a) => [a.attempt, a.outcome, a.workerId, a.error?.message ?? null]),
    [
      [1, "failed", "w-x", "first life"],
      [1, "succeeded", "w-y", null],
    ],
  );
});

test("bulk retry of dead jobs keeps their last tries too", async () => {
  await engine.enqueueMany(
    Array.from({ length: 3 }, () => ({ queue: "ht4", target: { handler: "h" }, maxAttempts: 1 })),
  );
  const claimed = await engine.claim({
    queue: "ht4",
    handlers: ["h"],
    limit: 3,
    leaseMs: 30_000,
    workerId: "w-bulk",
    limited: false,
  });
  await engine.fail(claimed.map((job) => ({ job, error: { message: "down" }, retryInMs: null })));
  const retried = await engine.retryDead("ht4");
  assert.equal(retried, 3);
  for (const job of claimed) {
    const rec = await engine.getJob(job.id);
    assert.deepEqual(
      rec.attempts.map((a) => [a.outcome, a.workerId, a.error?.message]),
      [["failed", "w-bulk", "down"]],
    );
  }
});
