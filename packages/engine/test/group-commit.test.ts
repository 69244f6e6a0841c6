import assert from "node:assert/strict";
import { test } from "node:test";
import { GroupCommit } from "../src/index.js";

/** A flush that holds each batch until released, recording the batches it was given. */
function heldFlush() {
  const batches: number[][] = [];
  const releases: (() => void)[] = [];
  const started: (() => void)[] = [];
  return {
    batches,
    /** Ends the batch that started `i`th (0-based). */
    release: (i: number) => releases[i]?.(),
    /** Resolves once `n` batches have started. */
    startedCount: (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => (batches.length >= n ? resolve() : started.push(check));
        check();
      }),
    flush: async (items: number[]) => {
      batches.push(items);
      for (const wake of started.splice(0)) wake();
      await new Promise<void>((r) => releases.push(r));
      return items;
    },
  };
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

test("arrivals behind a transaction in flight wait for it and go as one batch", async () => {
  const held = heldFlush();
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
  const timersBefore = timers();
  const writer = new GroupCommit(held.flush, { aloneMs: 60_000 });
  const first = writer.submit(0);
  await held.startedCount(1);
  const later = Array.from({ length: 10 }, (_, i) => writer.submit(i + 1));
  await turns(5);
  // Before decision 089 a second transaction started here beside the first.
  assert.equal(held.batches.length, 1, "no second transaction beside one that has not run aloneMs");
  assert.equal(writer.waiting, 10);
  held.release(0);
  await first;
  await held.startedCount(2);
  assert.deepEqual(held.batches[1], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  held.release(1);
  assert.deepEqual(await Promise.all(later), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(timers(), timersBefore, "no timer left once the items it waited for went");
});

test("a transaction held past aloneMs lets the items waiting behind it commit beside it", async () => {
  const held = heldFlush();
  const writer = new GroupCommit(held.flush, { aloneMs: 20 });
  let firstDone = false;
  const first = writer.submit(0).then((v) => {
    firstDone = true;
    return v;
  });
  await held.startedCount(1);
  const waiting = writer.submit(1);
  // Nothing else arrives: the writer's own timer starts the second transaction.
  await held.startedCount(2);
  held.release(1);
  assert.equal(await waiting, 1);
  assert.equal(firstDone, false, "committed while the first is still held");
  held.release(0);
  assert.equal(await first, 0);
});

test("maxInFlight still caps the transactions side by side; aloneMs 0 starts them at once", async () => {
  const held = heldFlush();
  const writer = new GroupCommit(held.flush, { aloneMs: 0, maxInFlight: 2, maxBatch: 1 });
  const all = [0, 1, 2].map((i) => writer.submit(i));
  await held.startedCount(2);
  await turns(5);
  assert.equal(held.batches.length, 2, "two in flight, the third waits");
  held.release(0);
  await held.startedCount(3);
  held.release(1);
  held.release(2);
  assert.deepEqual(await Promise.all(all), [0, 1, 2]);
});
