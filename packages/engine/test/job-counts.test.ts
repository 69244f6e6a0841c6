import assert from "node:assert/strict";
import { test } from "node:test";
import { type Engine, runRetention } from "../src/index.js";
import { deadJobs, guardLeaks, succeededJobs, testEngine } from "./helpers.js";

guardLeaks();
const engine: Engine = await testEngine();
const S = `"${engine.schema}"`;

/** listQueues' finished counts next to a count of history itself. */
async function counts(queue: string) {
  const q = (await engine.listQueues()).find((x) => x.name === queue);
  const { rows } = await engine.pool.query(
    `select state, count(*)::int as n from ${S}.job_history where queue = $1 group by state`,
    [queue],
  );
  const truth = Object.fromEntries(rows.map((r) => [r.state, r.n]));
  return {
    listed: { succeeded: q?.counts.succeeded, dead: q?.counts.dead, cancelled: q?.counts.cancelled },
    history: { succeeded: truth.succeeded ?? 0, dead: truth.dead ?? 0, cancelled: truth.cancelled ?? 0 },
  };
}

test("finished counts follow every way into and out of history without counting it", async () => {
  await succeededJobs(engine, "c1", 7);
  await deadJobs(engine, "c1", 5);
  const { id } = await engine.enqueue({ queue: "c1", target: { handler: "h" } });
  await engine.cancel(id);
  let c = await counts("c1");
  assert.deepEqual(c.listed, { succeeded: 7, dead: 5, cancelled: 1 });
  assert.deepEqual(c.listed, c.history);

  await engine.retry(id); // out of history
  const [oneDead] = (
    await engine.pool.query(
      `select id::text from ${S}.job_history where queue = 'c1' and state = 'dead' limit 1`,
    )
  ).rows;
  await engine.retry(oneDead.id);
  assert.equal(await engine.retryDead("c1"), 4);
  c = await counts("c1");
  assert.deepEqual(c.listed, { succeeded: 7, dead: 0, cancelled: 0 });
  assert.deepEqual(c.listed, c.history);

  await deadJobs(engine, "c1", 2);
  assert.equal(await engine.purgeDead("c1"), 2);
  await engine.pool.query(
    `update ${S}.job_history set finished_at = now() - interval '30 days' where queue = 'c1' and state = 'succeeded'`,
  );
  await runRetention(engine, 3);
  c = await counts("c1");
  assert.deepEqual(c.listed, { succeeded: 0, dead: 0, cancelled: 0 });
  assert.deepEqual(c.listed, c.history);

  // A direct write (an import, a restore, a hand edit) is counted by the same triggers.
  await engine.pool.query(
    `update ${S}.job_history set state = 'cancelled' where id = (select max(id) from ${S}.job_history where queue = 'c1')`,
  );
  assert.deepEqual((await counts("c1")).listed, (await counts("c1")).history);
});

test("concurrent completions on several connections add up", async () => {
  const jobs = 400;
  await engine.enqueueMany(Array.from({ length: jobs }, () => ({ queue: "c2", target: { handler: "h" } })));
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (;;) {
        const claimed = await engine.claim({
          queue: "c2",
          handlers: ["h"],
          limit: 7,
          leaseMs: 30_000,
          workerId: "w",
          limited: false,
        });
        if (claimed.length === 0) return;
        const [ok, bad] = [claimed.slice(0, 5), claimed.slice(5)];
        await Promise.all([
          engine.complete(ok),
          engine.fail(bad.map((job) => ({ job, error: { message: "x" }, retryInMs: null }))),
        ]);
      }
    }),
  );
  const c = await counts("c2");
  assert.equal((c.listed.succeeded ?? 0) + (c.listed.dead ?? 0), jobs);
  assert.deepEqual(c.listed, c.history);
  const shards = await engine.pool.query(
    `select count(distinct shard)::int as n from ${S}.job_counts where queue = 'c2'`,
  );
  assert.ok(shards.rows[0].n >= 1);
});

test("bulk retries and purges count in shards 16–31, apart from completions' 0–15", async () => {
  await succeededJobs(engine, "c3", 2);
  await deadJobs(engine, "c3", 3);
  const shards = async (state: string) =>
    (
      await engine.pool.query(
        `select shard from ${S}.job_counts where queue = 'c3' and state = $1 and jobs <> 0`,
        [state],
      )
    ).rows.map((r) => r.shard as number);
  assert.ok((await shards("succeeded")).every((s) => s < 16));
  const before = await shards("dead");
  assert.ok(before.every((s) => s < 16));
  // A caller's transaction: the bulk retry's counter rows stay locked until it commits.
  const client = await engine.pool.connect();
  try {
    await client.query("begin");
    assert.equal(await engine.retryDead("c3", undefined, { client }), 3);
    const { rows } = await client.query(
      `select shard from ${S}.job_counts where queue = 'c3' and state = 'dead' and shard >= 16`,
    );
    assert.equal(rows.length, 1);
    // A completion meanwhile, on another connection, does not wait for it.
    await succeededJobs(engine, "c3", 1);
    await client.query("commit");
  } finally {
    client.release();
  }
  assert.deepEqual((await counts("c3")).listed, { succeeded: 3, dead: 0, cancelled: 0 });
});
