import assert from "node:assert/strict";
import { test } from "node:test";
import {
  createWorker,
  type Engine,
  type JobContext,
  LeaseLostError,
  NonRetryableError,
  RetryAfterError,
  type Worker,
  type WorkerOptions,
  WorkerShutdownError,
} from "../src/index.js";
import { deferred, guardLeaks, startTestWorker, testEngine, waitFor } from "./helpers.js";

guardLeaks();
const engine: Engine = await testEngine();

/** A started worker on the test engine; the test must stop it (the leak guard checks). */
const startWorker = (options: Omit<WorkerOptions, "engine">): Promise<Worker> =>
  startTestWorker(engine, options);

test("runs handlers with the job's context and records success", async () => {
  const seen = deferred<JobContext<{ to: string }>>();
  const worker = await startWorker({
    queues: ["w1"],
    handlers: { send: async (ctx: JobContext<{ to: string }>) => seen.resolve(ctx) },
  });
  const { id } = await engine.enqueue({
    queue: "w1",
    target: { handler: "send" },
    payload: { to: "a@b.c" },
    tenant: "acme",
  });
  const ctx = await seen.promise;
  assert.equal(ctx.id, id);
  assert.equal(ctx.queue, "w1");
  assert.equal(ctx.handler, "send");
  assert.deepEqual(ctx.payload, { to: "a@b.c" });
  assert.equal(ctx.attempt, 1);
  assert.equal(ctx.maxAttempts, ctx.job.maxAttempts);
  assert.equal(ctx.job.id, id);
  assert.equal(ctx.tenant, "acme");
  assert.equal(ctx.signal.aborted, false);
  await waitFor(async () => (await engine.getJob(id)).state === "succeeded", 5_000, "success recorded");
  await worker.stop();
});

test("typed errors steer retries; other errors follow the backoff", async () => {
  const worker = await startWorker({
    queues: ["w2"],
    handlers: {
      fatal: () => {
        throw new NonRetryableError("customer deleted");
      },
      later: () => {
        throw new RetryAfterError(90, "upstream said 429");
      },
      flaky: () => {
        throw new Error("connection reset");
      },
    },
  });
  const [fatal, later, flaky] = await engine.enqueueMany([
    { queue: "w2", target: { handler: "fatal" }, maxAttempts: 5 },
    { queue: "w2", target: { handler: "later" } },
    { queue: "w2", target: { handler: "flaky" }, backoff: { type: "fixed", delayMs: 45_000 } },
  ]);
  const dead = await waitFor(async () => {
    const j = await engine.getJob(fatal?.id as string);
    return j.state === "dead" ? j : undefined;
  });
  assert.equal(dead.attempts.length, 1);
  assert.equal(dead.lastError?.message, "customer deleted");
  assert.equal(dead.lastError?.name, "NonRetryableError");
  for (const [res, expected] of [
    [later, 90_000],
    [flaky, 45_000],
  ] as const) {
    const j = await waitFor(async () => {
      const x = await engine.getJob(res?.id as string);
      return x.state === "scheduled" ? x : undefined;
    });
    const wait = j.runAt.getTime() - Date.now();
    assert.ok(wait > expected - 5_000 && wait <= expected, `${j.lastError?.message}: retry in ${wait} ms`);
  }
  await worker.stop();
});

test("never runs more than its concurrency at once", async () => {
  let active = 0;
  let peak = 0;
  const worker = await startWorker({
    queues: ["w3"],
    concurrency: 3,
    handlers: {
      h: async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 20));
        active--;
      },
    },
  });
  const jobs = await engine.enqueueMany(
    Array.from({ length: 30 }, () => ({ queue: "w3", target: { handler: "h" } })),
  );
  await waitFor(async () => {
    const q = (await engine.listQueues()).find((x) => x.name === "w3");
    return q?.counts.succeeded === jobs.length;
  });
  assert.equal(peak, 3);
  await worker.stop();
});

test("a queue limit holds across two workers", async () => {
  await engine.upsertQueue("w4", { concurrency: 2 });
  let active = 0;
  let peak = 0;
  const handlers = {
    h: async () => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 15));
      active--;
    },
  };
  const a = await startWorker({ queues: ["w4"], concurrency: 5, handlers });
  const b = await startWorker({ queues: ["w4"], concurrency: 5, handlers });
  await engine.enqueueMany(Array.from({ length: 40 }, () => ({ queue: "w4", target: { handler: "h" } })));
  await waitFor(
    async () => (await engine.listQueues()).find((x) => x.name === "w4")?.counts.succeeded === 40,
  );
  assert.equal(peak, 2);
  await Promise.all([a.stop(), b.stop()]);
});

test("a cancelled job's handler is told through its signal", async () => {
  const started = deferred();
  const aborted = deferred<unknown>();
  const worker = await startWorker({
    queues: ["w5"],
    handlers: {
      long: ({ signal }: JobContext) =>
        new Promise<void>((resolve) => {
          started.resolve();
          signal.addEventListener("abort", () => {
            aborted.resolve(signal.reason);
            resolve();
          });
        }),
    },
  });
  const { id } = await engine.enqueue({ queue: "w5", target: { handler: "long" } });
  await started.promise;
  await engine.cancel(id);
  assert.ok((await aborted.promise) instanceof LeaseLostError);
  await worker.stop();
  assert.equal((await engine.getJob(id)).state, "cancelled");
});

test("graceful stop lets running jobs finish", async () => {
  const started = deferred();
  let finished = false;
  const worker = await startWorker({
    queues: ["w6"],
    handlers: {
      slow: async () => {
        started.resolve();
        await new Promise((r) => setTimeout(r, 300));
        finished = true;
      },
    },
  });
  const { id } = await engine.enqueue({ queue: "w6", target: { handler: "slow" } });
  await started.promise;
  await worker.stop();
  assert.equal(finished, true);
  assert.equal((await engine.getJob(id)).state, "succeeded");
});

test("past the shutdown deadline, unfinished jobs are released, not left to a lease", async () => {
  const started = deferred();
  let reason: unknown;
  const worker = await startWorker({
    queues: ["w7"],
    shutdownTimeoutMs: 200,
    handlers: {
      stuck: ({ signal }: JobContext) => {
        started.resolve();
        signal.addEventListener("abort", () => {
          reason = signal.reason;
        });
        return new Promise(() => {});
      },
    },
  });
  const { id } = await engine.enqueue({ queue: "w7", target: { handler: "stuck" } });
  await started.promise;
  await worker.stop();
  assert.ok(reason instanceof WorkerShutdownError);
  const job = await engine.getJob(id);
  assert.equal(job.state, "available");
  assert.equal(job.attempt, 0, "a release does not spend an attempt");
  assert.deepEqual(
    job.attempts.map((a) => a.outcome),
    ["released"],
  );
});

test("a notification wakes an idle worker long before its next poll", async () => {
  const seen = deferred<number>();
  const worker = await startWorker({
    queues: ["w8"],
    pollIntervalMs: 60_000,
    handlers: { h: () => seen.resolve(Date.now()) },
  });
  await new Promise((r) => setTimeout(r, 100)); // let the first empty claim pass
  const t0 = Date.now();
  await engine.enqueue({ queue: "w8", target: { handler: "h" } });
  const latency = (await seen.promise) - t0;
  assert.ok(latency < 1_000, `picked up after ${latency} ms`);
  await worker.stop();
});

test("a killed LISTEN connection is re-established and wake-ups resume", async () => {
  const pickups: number[] = [];
  const worker = await startWorker({
    queues: ["w9"],
    pollIntervalMs: 60_000,
    handlers: { h: () => void pickups.push(Date.now()) },
  });
  const app = `keel-listener:${engine.channel}`;
  const backend = async () =>
    (await engine.pool.query("select pid from pg_stat_activity where application_name = $1", [app])).rows.map(
      (r) => r.pid as number,
    );
  const [before] = await waitFor(backend, 5_000, "listener connected");
  await engine.pool.query("select pg_terminate_backend($1)", [before]);
  await waitFor(
    async () => {
      const pids = await backend();
      return pids.length === 1 && pids[0] !== before;
    },
    10_000,
    "listener reconnected",
  );
  await new Promise((r) => setTimeout(r, 100)); // the catch-up claim after reconnecting
  const t0 = Date.now();
  await engine.enqueue({ queue: "w9", target: { handler: "h" } });
  await waitFor(() => pickups.length === 1, 5_000, "pickup");
  assert.ok((pickups[0] as number) - t0 < 1_000, "woken by notification, not by the 60 s poll");
  await worker.stop();
});

test("hooks see every job's start and end", async () => {
  const ends: string[] = [];
  const worker = await startWorker({
    queues: ["w10"],
    handlers: {
      ok: () => {},
      bad: () => {
        throw new NonRetryableError("no");
      },
    },
    hooks: { onJobEnd: (job, r) => ends.push(`${job.handler}:${r.outcome}`) },
  });
  await engine.enqueueMany([
    { queue: "w10", target: { handler: "ok" } },
    { queue: "w10", target: { handler: "bad" } },
  ]);
  await waitFor(() => ends.length === 2);
  assert.deepEqual(ends.sort(), ["bad:failed", "ok:succeeded"]);
  await worker.stop();
});

test("a worker serving every queue claims only from queues that hold work", async () => {
  for (let i = 0; i < 30; i++) await engine.upsertQueue(`empty-${i}`);
  const seen = deferred<string>();
  const claimed: string[] = [];
  const claim = engine.claim.bind(engine);
  // Counts the claims this worker makes (the engine and Postgres are the real ones).
  engine.claim = (options) => {
    claimed.push(options.queue);
    return claim(options);
  };
  try {
    const worker = await startWorker({
      queues: "*",
      pollIntervalMs: 100,
      handlers: { h: ({ queue }) => seen.resolve(queue) },
    });
    await new Promise((r) => setTimeout(r, 500));
    const { id } = await engine.enqueue({ queue: "brand-new", target: { handler: "h" } });
    assert.equal(await seen.promise, "brand-new", "a queue created after the worker started is served");
    await waitFor(async () => (await engine.getJob(id)).state === "succeeded");
    await worker.stop();
    assert.ok(!claimed.some((q) => q.startsWith("empty-")), "no claim against an empty queue");
  } finally {
    engine.claim = claim;
  }
});

test("completions that arrive while a completion commits share the next write", async () => {
  // A second engine whose completion statement takes 40 ms longer: handlers finishing one by
  // one during that time must join one write, not queue a write each.
  const slow = await testEngine();
  const writes: number[] = [];
  const complete = slow.complete.bind(slow);
  slow.complete = async (jobs) => {
    writes.push(jobs.length);
    await new Promise((r) => setTimeout(r, 40));
    return complete(jobs);
  };
  const n = 30;
  await slow.enqueueMany(
    Array.from({ length: n }, (_, i) => ({ queue: "w12", target: { handler: "stagger" }, payload: { i } })),
  );
  const ended: string[] = [];
  const worker = createWorker({
    engine: slow,
    queues: ["w12"],
    concurrency: n,
    leaseMs: 5_000,
    maintenance: false,
    // Each handler returns in its own timer turn, 1 ms after the previous one.
    handlers: {
      stagger: ({ payload }: JobContext<{ i: number }>) => new Promise((r) => setTimeout(r, payload.i)),
    },
    hooks: { onJobEnd: (_job, r) => ended.push(r.outcome) },
  });
  await worker.start();
  await waitFor(() => ended.length === n, 10_000, "every job recorded");
  await worker.stop();
  assert.deepEqual(new Set(ended), new Set(["succeeded"]));
  assert.equal(
    writes.reduce((a, b) => a + b, 0),
    n,
  );
  // 30 handlers over ~30 ms with 40 ms writes: a few writes at most (one per arrival would be 30).
  assert.ok(writes.length <= 4, `completions took ${writes.length} writes: ${writes.join(", ")}`);
});

test("while a completion commits, a backlog of completions starts a second write beside it", async () => {
  // The first write is held open; 200 completions then arrive at once. They must not wait for
  // it: a second write starts alongside (at most three run at a time).
  const held = await testEngine();
  const complete = held.complete.bind(held);
  let release!: () => void;
  const firstWrite = new Promise<void>((r) => {
    release = r;
  });
  const writes: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  held.complete = async (jobs) => {
    writes.push(jobs.length);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      if (writes.length === 1) await firstWrite;
      return await complete(jobs);
    } finally {
      inFlight--;
    }
  };
  const n = 201;
  await held.enqueueMany(
    Array.from({ length: n }, (_, i) => ({ queue: "w13", target: { handler: "gated" }, payload: { i } })),
  );
  let open!: () => void;
  const gate = new Promise<void>((r) => {
    open = r;
  });
  const ended: string[] = [];
  const worker = createWorker({
    engine: held,
    queues: ["w13"],
    concurrency: n,
    leaseMs: 30_000,
    maintenance: false,
    handlers: { gated: ({ payload }: JobContext<{ i: number }>) => (payload.i === 0 ? undefined : gate) },
    hooks: { onJobEnd: (_job, r) => ended.push(r.outcome) },
  });
  await worker.start();
  await waitFor(() => writes.length === 1, 10_000, "the first job's write started");
  open();
  await waitFor(() => writes.length >= 2, 10_000, "a second write started while the first is held");
  // The first write is still held, so the second ran beside it.
  assert.equal(maxInFlight, 2, `writes in flight at most: ${maxInFlight} (sizes ${writes.join(", ")})`);
  release();
  await waitFor(() => ended.length === n, 10_000, "every job recorded");
  await worker.stop();
  assert.deepEqual(new Set(ended), new Set(["succeeded"]));
  assert.equal(
    writes.reduce((a, b) => a + b, 0),
    n,
  );
  assert.ok(maxInFlight <= 3, `at most three writes at a time, saw ${maxInFlight}`);
});
