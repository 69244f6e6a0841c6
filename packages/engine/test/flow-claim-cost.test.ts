/**
 * A claim from a queue with flow control reads about as many index entries as the keys it walks,
 * however deep the queue's backlog and whatever else the table holds. Counted in index entries
 * read from `jobs` (pg_stat_user_indexes.idx_tup_read), not in time.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Engine } from "../src/index.js";
import { guardLeaks, testEngine, tuplesRead } from "./helpers.js";

guardLeaks();
// One connection: the statistics it flushes are the ones measured.
const engine: Engine = await testEngine({ poolSize: 1 });

const fill = async (queue: string, n: number, payload: (k: number) => unknown) => {
  for (let done = 0; done < n; done += 1_000)
    await engine.enqueueMany(
      Array.from({ length: Math.min(1_000, n - done) }, (_, k) => ({
        queue,
        target: { handler: "h" },
        payload: payload(done + k),
      })),
    );
};

test("a flow claim beside unkeyed jobs of other queues reads the keys it walks, not the queue's backlog", async () => {
  // Most queues have no flow key, so most of jobs has none. Postgres then guessed that the
  // claim's search for the queue's unkeyed jobs would soon find some in the queue's order, and
  // read every keyed job of the queue to learn there were none (decision 068).
  await engine.upsertQueue("keyed", { flow: { key: "payload.account", concurrency: 2 } });
  await fill("plain", 20_000, (k) => ({ k }));
  await fill("keyed", 20_000, (k) => ({ account: `a${k % 50}` }));
  await engine.pool.query(`analyze "${engine.schema}".jobs`);
  const claim = () =>
    engine.claim({
      queue: "keyed",
      handlers: ["h"],
      limit: 1,
      leaseMs: 60_000,
      workerId: "w",
      limited: true,
    });
  const reads: number[] = [];
  for (let i = 0; i < 3; i++) {
    let got = 0;
    reads.push(
      await tuplesRead(engine, "jobs", "index", async () => {
        got = (await claim()).length;
      }),
    );
    assert.equal(got, 1, "one job claimed");
  }
  // The walk reads one entry per key it visits (33 for a claim of one: flowWalkLength), the
  // claimed job's own, and a few more; 20,000 keyed jobs were read before.
  for (const n of reads) assert.ok(n < 200, `index entries read by one claim: ${reads.join(", ")}`);
});

/** Index blocks of `jobs` read or found in shared buffers while `fn` runs. */
async function indexBlocks(fn: () => Promise<unknown>): Promise<number> {
  const read = async () => {
    await engine.pool.query("select pg_stat_force_next_flush()");
    await engine.pool.query("select pg_stat_clear_snapshot()");
    const { rows } = await engine.pool.query<{ n: number }>(
      `select coalesce(sum(idx_blks_hit + idx_blks_read), 0)::int as n
       from pg_statio_user_indexes where schemaname = $1 and relname = 'jobs'`,
      [engine.schema],
    );
    return rows[0]?.n ?? 0;
  };
  const before = await read();
  await fn();
  return (await read()) - before;
}

test("a limited claim reads as much of the index with 40,000 jobs waiting to become due as with none", async () => {
  // Ordered by priority then time, a scan could not stop at the first job not yet due: a claim
  // that found fewer due jobs than it could take read every delayed job of the queue, or of each
  // key, again at every claim (decision 069).
  const later = new Date(Date.now() + 3_600_000);
  const queues = { limited: { concurrency: 50 }, flow: { flow: { key: "payload.account", concurrency: 5 } } };
  const blocks: Record<string, number[]> = {};
  for (const [name, settings] of Object.entries(queues)) {
    blocks[name] = [];
    for (const delayed of [0, 40_000]) {
      const queue = `${name}-${delayed}`;
      await engine.upsertQueue(queue, settings);
      for (let done = 0; done < delayed; done += 1_000)
        await engine.enqueueMany(
          Array.from({ length: 1_000 }, (_, k) => ({
            queue,
            target: { handler: "h" },
            payload: { account: `a${k % 5}` },
            runAt: later,
          })),
        );
      // Three jobs due now, of two priorities, the higher one among the delayed jobs' own.
      await engine.enqueueMany(
        [0, 0, 5].map((priority, k) => ({
          queue,
          target: { handler: "h" },
          payload: { account: `a${k}` },
          priority,
        })),
      );
      await engine.pool.query(`analyze "${engine.schema}".jobs`);
      let claimed: string[] = [];
      const n = await indexBlocks(async () => {
        claimed = (
          await engine.claim({
            queue,
            handlers: ["h"],
            limit: 50,
            leaseMs: 60_000,
            workerId: "w",
            limited: true,
          })
        ).map((j) => `${j.priority}`);
      });
      assert.deepEqual(claimed.sort(), ["0", "0", "5"], `${queue}: the three due jobs, none of the delayed`);
      blocks[name]?.push(n);
    }
  }
  // Before: 67 and 579 blocks for the limited queue, 88 and 1,041 for the flow queue. The deeper
  // index adds a block to each descent, no more.
  for (const [name, [none, many]] of Object.entries(blocks)) {
    assert.ok(
      (many as number) < (none as number) * 1.5,
      `${name}: index blocks with no delayed jobs and with 40,000: ${none}, ${many}`,
    );
  }
});
