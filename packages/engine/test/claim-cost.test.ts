/**
 * What one claim reads depends on what it takes and on the keys it walks, not on how many jobs
 * the queue holds that it cannot take: keyed jobs beside unkeyed ones of other queues (decision
 * 068), or jobs waiting for their run time (decision 069). Counted in index entries or index
 * blocks read from `jobs` (pg_stat_user_indexes, pg_statio_user_indexes), not in time.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ClaimCursor, ClaimedJob, Engine } from "../src/index.js";
import { lastInIndexOrder } from "../src/worker/worker.js";
import { guardLeaks, indexBlocksRead, testEngine, tuplesRead } from "./helpers.js";

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
      const n = await indexBlocksRead(engine, "jobs", async () => {
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

test("a claim of a queue without limits, from its front or after a cursor, reads as much of the index beside 40,000 delayed jobs as beside 4,000", async () => {
  const later = new Date(Date.now() + 3_600_000);
  const blocks: number[][] = [];
  // Against 4,000 delayed jobs, not none: with delayed jobs at other priorities a claim probes
  // those priorities, a few index descents more whatever their number.
  for (const delayed of [4_000, 40_000]) {
    const queue = `plain-${delayed}`;
    // Delayed jobs at the due jobs' priority and at a higher and a lower one.
    for (let done = 0; done < delayed; done += 1_000)
      await engine.enqueueMany(
        Array.from({ length: 1_000 }, (_, k) => ({
          queue,
          target: { handler: "h" },
          payload: {},
          priority: [5, 0, -5][k % 3],
          runAt: later,
        })),
      );
    await engine.enqueueMany(
      [0, 0, 0, 5].map((priority) => ({ queue, target: { handler: "h" }, payload: {}, priority })),
    );
    await engine.pool.query(`analyze "${engine.schema}".jobs`);
    const claim = (limit: number, after: ClaimCursor | null) =>
      engine.claim({ queue, handlers: ["h"], limit, leaseMs: 60_000, workerId: "w", limited: false, after });
    let first: ClaimedJob[] = [];
    let rest: ClaimedJob[] = [];
    const front = await indexBlocksRead(engine, "jobs", async () => {
      first = await claim(2, null);
    });
    const cursor = lastInIndexOrder(first) ?? null;
    const after = await indexBlocksRead(engine, "jobs", async () => {
      rest = await claim(50, cursor);
    });
    // A claim's rows come back in no particular order: sorted here, highest priority first.
    const priorities = (jobs: ClaimedJob[]) => jobs.map((j) => j.priority).sort((a, b) => b - a);
    assert.deepEqual(
      [priorities(first), priorities(rest)],
      [
        [5, 0],
        [0, 0],
      ],
      `${queue}: the due jobs in priority order, none of the delayed`,
    );
    blocks.push([front, after]);
  }
  const [[front0, after0], [front1, after1]] = blocks as [number[], number[]];
  // Before: 41 and 174 blocks from the front, 61 and 265 after the cursor; after: 52 and 59,
  // 71 and 72.
  assert.ok((front1 as number) < (front0 as number) * 1.5, `from the front: ${front0}, ${front1}`);
  assert.ok((after1 as number) < (after0 as number) * 1.5, `after the cursor: ${after0}, ${after1}`);
});
