import assert from "node:assert/strict";
import { test } from "node:test";
import { type Engine, Engine as EngineClass, runMaintenance, runRetention } from "../src/index.js";
import { deadJobs, guardLeaks, onCleanup, testDatabaseUrl, testEngine } from "./helpers.js";

guardLeaks();
const engine: Engine = await testEngine();
const S = `"${engine.schema}"`;

async function finish(queue: string, n: number, how: "complete" | "dead"): Promise<string[]> {
  if (how === "dead") return deadJobs(engine, queue, n, { error: { message: "x" } });
  await engine.enqueueMany(
    Array.from({ length: n }, () => ({ queue, target: { handler: "h" }, maxAttempts: 2 })),
  );
  const claim = () =>
    engine.claim({ queue, handlers: ["h"], limit: n, leaseMs: 30_000, workerId: "w", limited: false });
  // A failed first try each, so the jobs have rows in attempts (decision 053) for retention to delete.
  await engine.fail((await claim()).map((job) => ({ job, error: { message: "once" }, retryInMs: 0 })));
  const jobs = await claim();
  await engine.complete(jobs);
  return jobs.map((j) => j.id);
}

async function age(ids: string[], days: number): Promise<void> {
  await engine.pool.query(
    `update ${S}.job_history set finished_at = now() - $2 * interval '1 day' where id = any($1)`,
    [ids, days],
  );
}

test("retention removes succeeded jobs after 7 days and dead ones after 30, with their attempts", async () => {
  const oldOk = await finish("r1", 20, "complete");
  const newOk = await finish("r1", 5, "complete");
  const oldDead = await finish("r1", 4, "dead");
  const midDead = await finish("r1", 3, "dead");
  const tried = await engine.pool.query(`select count(*)::int n from ${S}.attempts where job_id = any($1)`, [
    oldOk,
  ]);
  assert.equal(tried.rows[0].n, 20);
  await age(oldOk, 8);
  await age(oldDead, 31);
  await age(midDead, 8);
  const { deleted } = await runRetention(engine, 7); // small batches exercise the loop
  assert.equal(deleted, 24);
  const left = await engine.pool.query(
    `select id::text from ${S}.job_history where queue = 'r1' order by id`,
  );
  assert.deepEqual(left.rows.map((r) => r.id).sort(), [...newOk, ...midDead].sort());
  const orphans = await engine.pool.query(
    `select count(*)::int n from ${S}.attempts where job_id = any($1)`,
    [[...oldOk, ...oldDead]],
  );
  assert.equal(orphans.rows[0].n, 0);
});

test("per-queue retention settings apply", async () => {
  await engine.upsertQueue("r2", { retentionSucceededSeconds: 60 });
  const ids = await finish("r2", 3, "complete");
  await engine.pool.query(
    `update ${S}.job_history set finished_at = now() - interval '2 minutes' where id = any($1)`,
    [ids],
  );
  await runRetention(engine);
  const left = await engine.pool.query(`select count(*)::int n from ${S}.job_history where queue = 'r2'`);
  assert.equal(left.rows[0].n, 0);
});

test("maintenance runs once across replicas per interval", async () => {
  const replicas = await Promise.all(
    Array.from({ length: 5 }, () =>
      EngineClass.connect({ connectionString: testDatabaseUrl(), schema: engine.schema, poolSize: 2 }),
    ),
  );
  onCleanup(() => Promise.all(replicas.map((r) => r.close())));
  const results = await Promise.all(replicas.map((r) => runMaintenance(r, 60_000)));
  assert.equal(results.filter((r) => r !== null).length, 1);
  const again = await Promise.all(replicas.map((r) => runMaintenance(r, 60_000)));
  assert.equal(again.filter((r) => r !== null).length, 0, "not again within the interval");
});
