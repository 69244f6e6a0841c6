import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import pg from "pg";
import {
  deferred,
  guardLeaks,
  onCleanup,
  startTestWorker,
  testDatabaseUrl,
  testEngine,
  waitFor,
} from "./helpers.js";

// A worker's first completion used to open the pool's second connection and plan the completion
// statement there while the next claim waited on it (decision 086). The worker now has that
// connection run the statement once beside its first claim, finishing nothing.

guardLeaks();
const observer = new pg.Client({ connectionString: testDatabaseUrl() });
await observer.connect();
onCleanup(() => observer.end());

/** The connections of `applicationName` whose last statement was the completion. */
async function completionBackends(applicationName: string): Promise<number> {
  const { rows } = await observer.query<{ n: number }>(
    "select count(*)::int as n from pg_stat_activity where application_name = $1 and query like '-- complete:%'",
    [applicationName],
  );
  return rows[0]?.n ?? 0;
}

test("beside its first claim, a worker runs the completion statement on a second connection before any job ends", async () => {
  const applicationName = `warm-${randomUUID().slice(0, 8)}`;
  const engine = await testEngine({ applicationName, poolSize: 4 });
  const { id } = await engine.enqueue({ queue: "warm", target: { handler: "h" } });
  const started = deferred();
  const release = deferred();
  const worker = await startTestWorker(engine, {
    queues: ["warm"],
    concurrency: 1,
    handlers: {
      h: async () => {
        started.resolve();
        await release.promise;
      },
    },
  });
  try {
    await started.promise;
    // The job's handler has not returned: only the warm-up can have run the statement.
    await waitFor(() => completionBackends(applicationName), 5_000, "a connection that ran the completion");
    assert.equal((await engine.getJob(id)).state, "running", "the warm-up finished nothing");
    assert.equal(engine.stats.staleLeaseRejections, 0, "nor counted a stale lease");
  } finally {
    release.resolve();
    await worker.stop();
  }
  assert.equal((await engine.getJob(id)).state, "succeeded");
});

test("the warm-up finishes nothing: a claimed job stays running, history stays empty", async () => {
  const engine = await testEngine({ poolSize: 4 });
  const { id } = await engine.enqueue({ queue: "warm2", target: { handler: "h" } });
  const [job] = await engine.claim({
    queue: "warm2",
    handlers: ["h"],
    limit: 1,
    leaseMs: 30_000,
    workerId: "w",
    limited: false,
  });
  assert.equal(job?.id, id);
  await engine.warmCompletion();
  assert.equal((await engine.getJob(id)).state, "running");
  const { rows } = await engine.pool.query<{ n: number }>(
    `select count(*)::int as n from "${engine.schema}".job_history`,
  );
  assert.equal(rows[0]?.n, 0);
  assert.equal(engine.stats.staleLeaseRejections, 0);
  // The job still completes with its own token.
  assert.deepEqual([...(await engine.complete([{ id, leaseToken: job.leaseToken }]))], []);
  assert.equal((await engine.getJob(id)).state, "succeeded");
});

test("a pool with no room for another connection is not warmed: no query waits behind it", async () => {
  const applicationName = `warm1-${randomUUID().slice(0, 8)}`;
  const engine = await testEngine({ applicationName, poolSize: 1 });
  await engine.warmCompletion();
  assert.equal(await completionBackends(applicationName), 0);
  assert.ok(engine.pool.totalCount <= 1);
});
