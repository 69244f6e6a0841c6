import assert from "node:assert/strict";
import { test } from "node:test";
import { createWorker, type Engine, type JobContext } from "../src/index.js";
import { deferred, guardLeaks, testEngine, waitFor } from "./helpers.js";

guardLeaks();
const engine: Engine = await testEngine();

/**
 * A handler that never returns until its signal aborts (the worker stopping releases it):
 * what an endpoint that never answers looks like to the worker.
 */
function stuck(started: () => void) {
  return ({ signal }: JobContext) =>
    new Promise<void>((_resolve, reject) => {
      started();
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
}

test("queueShare 0.5: one queue of never-finishing jobs holds half the slots, another keeps running", async () => {
  const CONCURRENCY = 8;
  await engine.enqueueMany(
    Array.from({ length: 3 * CONCURRENCY }, (_, i) => ({
      queue: "hog",
      target: { handler: "stuck" },
      payload: i,
    })),
  );
  let stuckRunning = 0;
  let stuckMost = 0;
  const filled = deferred();
  const worker = createWorker({
    engine,
    queues: ["hog", "prompt", "third"],
    concurrency: CONCURRENCY,
    queueShare: 0.5,
    pollIntervalMs: 50,
    shutdownTimeoutMs: 0,
    handlers: {
      stuck: stuck(() => {
        stuckMost = Math.max(stuckMost, ++stuckRunning);
        if (stuckRunning === CONCURRENCY / 2) filled.resolve();
      }),
      quick: () => {},
    },
  });
  await worker.start();
  try {
    await filled.promise;
    // The hog holds its share; 50 jobs of another queue run through the slots it left.
    await engine.enqueueMany(
      Array.from({ length: 50 }, (_, i) => ({ queue: "prompt", target: { handler: "quick" }, payload: i })),
    );
    await waitFor(
      async () => (await engine.listQueues()).find((q) => q.name === "prompt")?.counts.succeeded === 50,
      15_000,
      "50 prompt jobs succeeded while the hog holds its slots",
    );
    // A third queue still finds room: half of what the hog leaves.
    await engine.enqueue({ queue: "third", target: { handler: "quick" } });
    await waitFor(
      async () => (await engine.listQueues()).find((q) => q.name === "third")?.counts.succeeded === 1,
      15_000,
      "a third queue's job succeeded",
    );
    assert.equal(stuckMost, CONCURRENCY / 2, "the hog never held more than half the slots");
    const hog = (await engine.listQueues()).find((q) => q.name === "hog");
    assert.equal(hog?.counts.running, CONCURRENCY / 2);
    assert.equal(hog?.counts.available, 3 * CONCURRENCY - CONCURRENCY / 2, "the rest waits its turn");
  } finally {
    await worker.stop();
  }
});

test("two queues of never-finishing jobs: half, then a quarter; a third queue still runs", async () => {
  const CONCURRENCY = 8;
  for (const queue of ["hogA", "hogB"]) {
    await engine.enqueueMany(
      Array.from({ length: 2 * CONCURRENCY }, () => ({ queue, target: { handler: `stuck-${queue}` } })),
    );
  }
  const running = { hogA: 0, hogB: 0 };
  const filled = deferred();
  const started = (queue: "hogA" | "hogB") => () => {
    running[queue]++;
    if (running.hogA + running.hogB === (3 * CONCURRENCY) / 4) filled.resolve();
  };
  const worker = createWorker({
    engine,
    queues: ["hogA", "hogB", "after"],
    concurrency: CONCURRENCY,
    queueShare: 0.5,
    pollIntervalMs: 50,
    shutdownTimeoutMs: 0,
    handlers: { "stuck-hogA": stuck(started("hogA")), "stuck-hogB": stuck(started("hogB")), quick: () => {} },
  });
  await worker.start();
  try {
    await filled.promise;
    await engine.enqueueMany(
      Array.from({ length: 20 }, () => ({ queue: "after", target: { handler: "quick" } })),
    );
    await waitFor(
      async () => (await engine.listQueues()).find((q) => q.name === "after")?.counts.succeeded === 20,
      15_000,
      "20 jobs of a third queue succeeded",
    );
    // Which hog claimed first decides which holds 4 and which 2; together never more than 6.
    assert.deepEqual(
      [running.hogA, running.hogB].sort((a, b) => a - b),
      [CONCURRENCY / 4, CONCURRENCY / 2],
    );
  } finally {
    await worker.stop();
  }
});

test("queueShare 1 (the default) lets one queue take every slot, as before", async () => {
  await engine.enqueueMany(Array.from({ length: 6 }, () => ({ queue: "all", target: { handler: "stuck" } })));
  let runningNow = 0;
  const filled = deferred();
  const worker = createWorker({
    engine,
    queues: ["all"],
    concurrency: 4,
    pollIntervalMs: 50,
    shutdownTimeoutMs: 0,
    handlers: { stuck: stuck(() => ++runningNow === 4 && filled.resolve()) },
  });
  await worker.start();
  try {
    await filled.promise;
    assert.equal((await engine.listQueues()).find((q) => q.name === "all")?.counts.running, 4);
  } finally {
    await worker.stop();
  }
});

test("queueShare outside (0, 1] is refused", () => {
  for (const queueShare of [0, -0.5, 1.5, Number.NaN]) {
    assert.throws(
      () => createWorker({ engine, handlers: { h: () => {} }, queueShare }),
      /queueShare must be above 0 and at most 1/,
    );
  }
});
