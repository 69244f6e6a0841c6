/**
 * A worker serving every queue keeps the set of queues that hold work, fed by notifications and
 * rescanned once a second. A notification that arrives while that rescan, or a claim of its
 * queue, is in flight may be for a job the query did not see: the worker must not drop the queue
 * when the query returns, or the job waits for the next poll (a CI run saw a delivery wait 2.2 s
 * for a slot while 20 of 40 were free). Likewise a resume notified while the worker reads its
 * queues' settings must not leave the queue paused in its cache. The polls here are a minute
 * apart, so only the notification can start the job within the test's bound.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createWorker, type Engine } from "../src/index.js";
import { Listener } from "../src/notify/listener.js";
import { deferred, guardLeaks, testDatabaseUrl, testEngine, waitFor } from "./helpers.js";

guardLeaks();

/** Holds one call of `engine[method]` after Postgres answered it, until `release()`. */
function holdNext<M extends "waitingQueues" | "claim" | "queueLimits">(
  engine: Engine,
  method: M,
  when: (...args: Parameters<Engine[M]>) => boolean,
) {
  const original = (engine[method] as (...args: unknown[]) => Promise<unknown>).bind(engine);
  const held = deferred();
  const gate = deferred();
  let armed = true;
  Object.assign(engine, {
    [method]: async (...args: Parameters<Engine[M]>) => {
      const result = await original(...args);
      if (armed && when(...args)) {
        armed = false;
        held.resolve();
        await gate.promise;
      }
      return result;
    },
  });
  return { held: held.promise, release: () => gate.resolve() };
}

/** Resolves once a notification for `queue` reached this process (the worker's listener gets the same one). */
async function notified(engine: Engine, queue: string, enqueue: () => Promise<unknown>): Promise<void> {
  const seen = deferred();
  const listener = new Listener({
    connectionString: testDatabaseUrl(),
    channel: engine.channel,
    onNotify: (payload) => payload === queue && seen.resolve(),
  });
  await listener.start();
  try {
    await enqueue();
    await seen.promise;
    // The worker's listener reads its own socket: let it take the same notification in.
    await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    await listener.stop();
  }
}

/**
 * Starts a worker (polls a minute apart) whose engine call `hold` holds; while it is held, `act`
 * sends a notification for `queue`; then waits for the job with `payload` to run. Returns what ran.
 */
async function raceNotification(
  engine: Engine,
  hold: ReturnType<typeof holdNext>,
  notification: { queue: string; act: () => Promise<unknown>; queues?: "*" | string[] },
  payload: string,
): Promise<string[]> {
  const ran: string[] = [];
  const w = createWorker({
    engine,
    queues: notification.queues ?? "*",
    pollIntervalMs: 60_000,
    sweep: false,
    maintenance: false,
    shutdownTimeoutMs: 0,
    handlers: { note: ({ payload }) => void ran.push(String(payload)) },
  });
  await w.start();
  try {
    await hold.held;
    await notified(engine, notification.queue, notification.act);
    hold.release();
    await waitFor(() => ran.includes(payload), 10_000, `the job "${payload}" ran`);
  } finally {
    await w.stop();
  }
  return ran;
}

test("a notification during the rescan of waiting queues keeps its queue", async () => {
  const engine = await testEngine();
  // The worker's first pass rescans; hold that rescan after Postgres answered (no queue waits).
  const hold = holdNext(engine, "waitingQueues", () => true);
  const enqueue = () => engine.enqueue({ queue: "late", target: { handler: "note" }, payload: "a" });
  await raceNotification(engine, hold, { queue: "late", act: enqueue }, "a");
});

test("a notification during a short claim of its queue keeps the queue", async () => {
  const engine = await testEngine();
  await engine.enqueue({ queue: "q", target: { handler: "note" }, payload: "first" });
  // Hold the claim that takes the first job (fewer than its limit: it emptied the queue).
  const hold = holdNext(engine, "claim", (options) => options.queue === "q");
  const enqueue = () => engine.enqueue({ queue: "q", target: { handler: "note" }, payload: "second" });
  const ran = await raceNotification(engine, hold, { queue: "q", act: enqueue }, "second");
  assert.deepEqual(ran.sort(), ["first", "second"]);
});

test("a resume notified during the read of queue settings is not lost", async () => {
  const engine = await testEngine();
  await engine.upsertQueue("p");
  await engine.pauseQueue("p");
  await engine.enqueue({ queue: "p", target: { handler: "note" }, payload: "held" });
  // The worker's first pass reads the settings; hold that read after Postgres answered (paused).
  const hold = holdNext(engine, "queueLimits", () => true);
  await raceNotification(
    engine,
    hold,
    { queue: "p", act: () => engine.resumeQueue("p"), queues: ["p"] },
    "held",
  );
});
