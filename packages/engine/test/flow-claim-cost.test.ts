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
