import assert from "node:assert/strict";
import { test } from "node:test";
import { createWorker, type Engine, type Worker, type WorkerOptions } from "../src/index.js";
import { deferred, guardLeaks, startTestWorker, testEngine, waitFor } from "./helpers.js";

// A worker's `claimAhead` (decision 085): jobs claimed beyond its free slots wait in the worker,
// leased, and start in claim order as slots free.

guardLeaks();
const engine: Engine = await testEngine();

/** A started worker on the test engine; the test must stop it (the leak guard checks). */
const startWorker = (options: Omit<WorkerOptions, "engine">): Promise<Worker> =>
  startTestWorker(engine, options);

/** The ids of `queue`'s jobs in each state the job list shows. */
async function idsIn(queue: string, state: "running" | "available" | "succeeded"): Promise<string[]> {
  const { jobs } = await engine.listJobsPage({ queue, state, limit: 100 });
  return jobs.map((j) => j.id).sort();
}

test("claims up to claimAhead jobs beyond its slots and runs them in claim order, never above its concurrency", async () => {
  const gate = deferred();
  let active = 0;
  let peak = 0;
  const order: number[] = [];
  const jobs = await engine.enqueueMany(
    Array.from({ length: 10 }, (_, k) => ({ queue: "ca1", target: { handler: "h" }, payload: { k } })),
  );
  const worker = await startWorker({
    queues: ["ca1"],
    concurrency: 2,
    claimAhead: 3,
    handlers: {
      h: async ({ payload }: { payload: { k: number } }) => {
        order.push(payload.k);
        active++;
        peak = Math.max(peak, active);
        await gate.promise;
        active--;
      },
    },
  });
  // Two handlers running, three claimed jobs waiting for a slot: five leased, five available.
  await waitFor(async () => (await idsIn("ca1", "running")).length === 5, 5_000, "five jobs leased");
  assert.equal(active, 2);
  assert.equal((await idsIn("ca1", "available")).length, 5);
  gate.resolve();
  await waitFor(async () => (await idsIn("ca1", "succeeded")).length === 10, 10_000, "all ten succeeded");
  await worker.stop();
  assert.equal(peak, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "started in claim order, each once");
  for (const { id } of jobs) assert.equal((await engine.getJob(id)).attempt, 1);
});

test("stopping hands jobs claimed ahead straight back, unstarted and with no attempt spent", async () => {
  const started = deferred();
  const gate = deferred();
  const starts: string[] = [];
  const ends: string[] = [];
  const [first, ...rest] = await engine.enqueueMany(
    Array.from({ length: 5 }, () => ({ queue: "ca2", target: { handler: "h" } })),
  );
  const worker = await startWorker({
    queues: ["ca2"],
    concurrency: 1,
    claimAhead: 4,
    handlers: {
      h: async () => {
        started.resolve();
        await gate.promise;
      },
    },
    hooks: {
      onJobStart: (job) => starts.push(job.id),
      onJobEnd: (job) => ends.push(job.id),
    },
  });
  await started.promise;
  await waitFor(async () => (await idsIn("ca2", "running")).length === 5, 5_000, "all five leased");
  const stopped = worker.stop();
  // The four waiting jobs are back in the queue while the running one still runs.
  await waitFor(async () => (await idsIn("ca2", "available")).length === 4, 5_000, "four released");
  assert.deepEqual(await idsIn("ca2", "running"), [first?.id]);
  gate.resolve();
  await stopped;
  assert.deepEqual(starts, [first?.id]);
  assert.deepEqual(ends, [first?.id], "hooks hear only of the job that started");
  assert.equal((await engine.getJob(first?.id as string)).state, "succeeded");
  for (const job of rest) {
    const record = await engine.getJob(job.id);
    assert.equal(record.state, "available");
    assert.equal(record.attempt, 0, "a release does not spend an attempt");
  }
});

test("a job cancelled while it waits is dropped unstarted; the heartbeat covers waiting jobs", async () => {
  const starts: string[] = [];
  const ends: string[] = [];
  const [first, second] = await engine.enqueueMany([
    { queue: "ca3", target: { handler: "h" } },
    { queue: "ca3", target: { handler: "h" } },
  ]);
  const worker = await startWorker({
    queues: ["ca3"],
    concurrency: 1,
    claimAhead: 1,
    // Runs until its lease is lost: the heartbeat that tells it marks the waiting job too.
    handlers: { h: ({ signal }) => new Promise((resolve) => signal.addEventListener("abort", resolve)) },
    hooks: {
      onJobStart: (job) => starts.push(job.id),
      onJobEnd: (job, { outcome }) => ends.push(`${job.id} ${outcome}`),
    },
  });
  await waitFor(async () => (await idsIn("ca3", "running")).length === 2, 5_000, "both leased");
  const leasedUntil = (await engine.getJob(second?.id as string)).leaseUntil as Date;
  // The waiting job's lease is extended like a running one's (every leaseMs / 3).
  await waitFor(
    async () => ((await engine.getJob(second?.id as string)).leaseUntil as Date) > leasedUntil,
    5_000,
    "the waiting job's lease extended",
  );
  await engine.cancel(second?.id as string);
  await engine.cancel(first?.id as string);
  await waitFor(() => ends.length === 1, 5_000, "the running job told of its lost lease");
  await worker.stop();
  assert.deepEqual(starts, [first?.id], "the cancelled waiting job never started");
  assert.deepEqual(ends, [`${first?.id} lease_lost`]);
  assert.equal((await engine.getJob(second?.id as string)).state, "cancelled");
});

test("a job that waited past its lease with no heartbeat getting through is dropped, not started", async () => {
  const gate = deferred();
  const runs: string[] = [];
  const [first, second] = await engine.enqueueMany([
    { queue: "ca5", target: { handler: "h" } },
    { queue: "ca5", target: { handler: "h" } },
  ]);
  const firstId = first?.id as string;
  const secondId = second?.id as string;
  // Heartbeats fail (the database unreachable for them): the leases lapse unseen.
  const { heartbeat } = engine;
  engine.heartbeat = async () => {
    throw new Error("heartbeat refused by the test");
  };
  try {
    const worker = await startWorker({
      queues: ["ca5"],
      concurrency: 1,
      claimAhead: 1,
      sweepIntervalMs: 200,
      handlers: {
        h: async ({ id, attempt }) => {
          runs.push(`${id}#${attempt}`);
          if (id === firstId && attempt === 1) await gate.promise;
        },
      },
      hooks: { onError: () => {} },
    });
    await waitFor(async () => (await idsIn("ca5", "running")).length === 2, 5_000, "both leased");
    // The sweep takes both back once their leases expire; the second is still waiting here.
    await waitFor(
      async () => (await engine.getJob(secondId)).attempts.some((a) => a.outcome === "lease_expired"),
      15_000,
      "the waiting job's lease swept",
    );
    gate.resolve();
    await waitFor(
      async () => (await engine.getJob(secondId)).state === "succeeded",
      15_000,
      "claimed again, run",
    );
    await worker.stop();
  } finally {
    engine.heartbeat = heartbeat;
  }
  assert.ok(!runs.includes(`${secondId}#1`), `the lapsed claim never ran: ${runs.join(", ")}`);
  assert.ok(runs.includes(`${secondId}#2`));
});

test("a queue with a concurrency limit is claimed only for free slots", async () => {
  await engine.upsertQueue("ca4", { concurrency: 5 });
  const gate = deferred();
  await engine.enqueueMany(Array.from({ length: 8 }, () => ({ queue: "ca4", target: { handler: "h" } })));
  let active = 0;
  const worker = await startWorker({
    queues: ["ca4"],
    concurrency: 2,
    claimAhead: 10,
    handlers: {
      h: async () => {
        active++;
        await gate.promise;
      },
    },
  });
  await waitFor(() => active === 2, 5_000, "two handlers running");
  // A claim of the limited queue took only the free slots: nothing leased waits in the worker.
  assert.equal((await idsIn("ca4", "running")).length, 2);
  gate.resolve();
  await waitFor(async () => (await idsIn("ca4", "succeeded")).length === 8, 10_000, "all eight succeeded");
  await worker.stop();
});

test("claimAhead must be a whole number, and needs queueShare 1", () => {
  for (const claimAhead of [-1, 1.5, Number.NaN])
    assert.throws(
      () => createWorker({ engine, handlers: { h: () => {} }, claimAhead }),
      (err: Error & { code?: string }) => err.code === "invalid_argument" && /claimAhead/.test(err.message),
    );
  assert.throws(
    () => createWorker({ engine, handlers: { h: () => {} }, claimAhead: 5, queueShare: 0.5 }),
    (err: Error & { code?: string }) => err.code === "invalid_argument" && /queueShare 1/.test(err.message),
  );
});
