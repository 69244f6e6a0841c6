import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type ClaimedJob, type Engine, isKeelError } from "../src/index.js";
import { leaseColumns } from "../src/queue/params.js";
import { guardLeaks, lapseLease, testEngine } from "./helpers.js";

guardLeaks();
const engine: Engine = await testEngine();
const LEASE = 30_000;

function claim(queue: string, limit = 10, workerId = "w1", handlers = ["h"]): Promise<ClaimedJob[]> {
  return engine.claim({ queue, handlers, limit, leaseMs: LEASE, workerId, limited: false });
}

/** Moves a lease into the past, as if the worker froze: no sleeping for 30 s. */
const expireLease = (id: string): Promise<void> => lapseLease(engine, id);

describe("claiming", () => {
  test("claims by priority, then run_at, and only handlers the worker has", async () => {
    await engine.enqueueMany([
      { queue: "c1", target: { handler: "h" }, payload: "low", priority: -1 },
      { queue: "c1", target: { handler: "h" }, payload: "high", priority: 5 },
      { queue: "c1", target: { handler: "other" }, payload: "not mine", priority: 10 },
      { queue: "c1", target: { handler: "h" }, payload: "later", delayMs: 60_000, priority: 100 },
      { queue: "c1", target: { handler: "h" }, payload: "mid" },
    ]);
    const first = await claim("c1", 1);
    assert.deepEqual(
      first.map((j) => j.payload),
      ["high"],
    );
    const rest = await claim("c1", 10);
    assert.deepEqual(rest.map((j) => j.payload).sort(), ["low", "mid"]);
    const job = rest[0] as ClaimedJob;
    assert.equal(job.attempt, 1);
    assert.match(job.leaseToken, /^[0-9a-f-]{36}$/);
    assert.ok(job.leaseUntil.getTime() > Date.now() + LEASE - 5_000);
  });

  test("concurrent claimers never get the same job", async () => {
    await engine.enqueueMany(
      Array.from({ length: 400 }, (_, i) => ({ queue: "c2", target: { handler: "h" }, payload: i })),
    );
    const rounds = await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        const mine: string[] = [];
        for (;;) {
          const jobs = await claim("c2", 7, `w${w}`);
          if (jobs.length === 0) return mine;
          mine.push(...jobs.map((j) => j.id));
        }
      }),
    );
    const all = rounds.flat();
    assert.equal(all.length, 400);
    assert.equal(new Set(all).size, 400);
    assert.ok(rounds.filter((r) => r.length > 0).length > 1, "more than one claimer got work");
  });
});

describe("leases", () => {
  test("a batch of completions answers only its stale ones, and finishes the rest", async () => {
    await engine.enqueueMany(Array.from({ length: 5 }, () => ({ queue: "l0", target: { handler: "h" } })));
    const jobs = (await engine.claim({
      queue: "l0",
      handlers: ["h"],
      limit: 5,
      leaseMs: 30_000,
      workerId: "w0",
      limited: false,
    })) as ClaimedJob[];
    assert.equal(jobs.length, 5);
    const wrong = "00000000-0000-4000-8000-000000000000";
    const [a, b, ...rest] = jobs as [ClaimedJob, ClaimedJob, ...ClaimedJob[]];
    const before = engine.stats.staleLeaseRejections;
    const stale = await engine.complete([
      { id: a.id, leaseToken: wrong },
      ...rest.map((j) => ({ id: j.id, leaseToken: j.leaseToken })),
      { id: b.id, leaseToken: wrong },
    ]);
    assert.deepEqual([...stale].sort(), [a.id, b.id].sort());
    assert.equal(engine.stats.staleLeaseRejections, before + 2);
    for (const j of rest) assert.equal((await engine.getJob(j.id)).state, "succeeded");
    for (const j of [a, b]) assert.equal((await engine.getJob(j.id)).state, "running");
  });

  test("completing with a stale token is rejected and counted", async () => {
    const { id } = await engine.enqueue({ queue: "l1", target: { handler: "h" } });
    const [job] = (await claim("l1")) as [ClaimedJob];
    const before = engine.stats.staleLeaseRejections;
    const stale = await engine.complete([{ id, leaseToken: "00000000-0000-4000-8000-000000000000" }]);
    assert.deepEqual([...stale], [id]);
    assert.equal(engine.stats.staleLeaseRejections, before + 1);
    assert.equal((await engine.getJob(id)).state, "running");
    assert.equal((await engine.complete([job])).size, 0);
    const done = await engine.getJob(id);
    assert.equal(done.state, "succeeded");
    assert.deepEqual(
      done.attempts.map((a) => [a.attempt, a.outcome, a.workerId]),
      [[1, "succeeded", "w1"]],
    );
  });

  test("after the sweeper takes a job back, the old worker cannot complete or fail it", async () => {
    const { id } = await engine.enqueue({ queue: "l2", target: { handler: "h" } });
    const [old] = (await claim("l2", 1, "frozen")) as [ClaimedJob];
    await expireLease(id);
    const swept = await engine.sweepExpiredLeases();
    assert.ok(swept.requeued >= 1);
    const [fresh] = (await claim("l2", 1, "healthy")) as [ClaimedJob];
    assert.equal(fresh.id, id);
    assert.equal(fresh.attempt, 2);
    assert.equal((await engine.complete([old])).size, 1);
    assert.equal((await engine.fail([{ job: old, error: { message: "late" }, retryInMs: 0 }])).size, 1);
    assert.equal((await engine.heartbeat([old], LEASE)).size, 1);
    assert.equal((await engine.complete([fresh])).size, 0);
    const job = await engine.getJob(id);
    assert.deepEqual(
      job.attempts.map((a) => [a.attempt, a.outcome, a.workerId]),
      [
        [1, "lease_expired", "frozen"],
        [2, "succeeded", "healthy"],
      ],
    );
  });

  test("a claim's jobs share the token it drew; another claim's token finishes none of them", async () => {
    await engine.enqueueMany(
      Array.from({ length: 4 }, (_, k) => ({ queue: "l9", target: { handler: "h" }, payload: k })),
    );
    const [a1, a2] = (await claim("l9", 2, "one")) as [ClaimedJob, ClaimedJob];
    const [b1, b2] = (await claim("l9", 2, "two")) as [ClaimedJob, ClaimedJob];
    // One draw per claim (decision 075), a new one for every claim.
    assert.equal(a1.leaseToken, a2.leaseToken);
    assert.equal(b1.leaseToken, b2.leaseToken);
    assert.notEqual(a1.leaseToken, b1.leaseToken);
    // A token is checked with its job's id: the first claim's token does not finish the second's jobs.
    const crossed = await engine.complete([{ id: b1.id, leaseToken: a1.leaseToken }]);
    assert.deepEqual([...crossed], [b1.id]);
    assert.equal((await engine.heartbeat([{ id: b2.id, leaseToken: a2.leaseToken }], LEASE)).size, 1);
    assert.equal((await engine.complete([a1, a2, b1, b2])).size, 0);
  });

  test("heartbeats extend the lease so the sweeper leaves the job alone", async () => {
    const { id } = await engine.enqueue({ queue: "l3", target: { handler: "h" } });
    const [job] = (await claim("l3")) as [ClaimedJob];
    await expireLease(id);
    assert.equal((await engine.heartbeat([job], LEASE)).size, 0);
    await engine.sweepExpiredLeases();
    assert.equal((await engine.getJob(id)).state, "running");
  });

  test("an expired lease on the last attempt makes the job dead", async () => {
    const { id } = await engine.enqueue({ queue: "l4", target: { handler: "h" }, maxAttempts: 1 });
    await claim("l4");
    await expireLease(id);
    await engine.sweepExpiredLeases();
    const job = await engine.getJob(id);
    assert.equal(job.state, "dead");
    assert.equal(job.lastError?.code, "lease_expired");
  });

  test("release hands a job back without spending an attempt", async () => {
    const { id } = await engine.enqueue({ queue: "l5", target: { handler: "h" } });
    const [job] = (await claim("l5")) as [ClaimedJob];
    assert.equal((await engine.release([job])).size, 0);
    const again = await claim("l5");
    assert.equal(again[0]?.id, id);
    assert.equal(again[0]?.attempt, 1);
  });
});

describe("failure and retry", () => {
  test("a failure with attempts left reschedules after the delay; the last one is dead", async () => {
    const { id } = await engine.enqueue({ queue: "f1", target: { handler: "h" }, maxAttempts: 2 });
    const [a1] = (await claim("f1")) as [ClaimedJob];
    await engine.fail([{ job: a1, error: { message: "boom 1" }, retryInMs: 60_000 }]);
    let job = await engine.getJob(id);
    assert.equal(job.state, "scheduled");
    const wait = job.runAt.getTime() - Date.now();
    assert.ok(wait > 55_000 && wait <= 61_000, `retry in ${wait} ms`);
    assert.equal(job.lastError?.message, "boom 1");
    await engine.pool.query(`update "${engine.schema}".jobs set run_at = now() where id = $1`, [id]);
    const [a2] = (await claim("f1")) as [ClaimedJob];
    assert.equal(a2.attempt, 2);
    await engine.fail([{ job: a2, error: { message: "boom 2" }, retryInMs: 1000 }]);
    job = await engine.getJob(id);
    assert.equal(job.state, "dead");
    assert.equal(job.lastError?.message, "boom 2");
    assert.deepEqual(
      job.attempts.map((a) => [a.outcome, a.error?.message]),
      [
        ["failed", "boom 1"],
        ["failed", "boom 2"],
      ],
    );
  });

  test("a null retry delay stops retrying at once", async () => {
    const { id } = await engine.enqueue({ queue: "f2", target: { handler: "h" }, maxAttempts: 5 });
    const [job] = (await claim("f2")) as [ClaimedJob];
    await engine.fail([{ job, error: { message: "bad input", code: "x" }, retryInMs: null }]);
    assert.equal((await engine.getJob(id)).state, "dead");
  });

  test("retry puts a dead job back with fresh attempts and the same id", async () => {
    const { id } = await engine.enqueue({ queue: "f3", target: { handler: "h" }, maxAttempts: 1 });
    const [job] = (await claim("f3")) as [ClaimedJob];
    await engine.fail([{ job, error: { message: "x" }, retryInMs: 0 }]);
    await engine.retry(id);
    const back = await engine.getJob(id);
    assert.equal(back.state, "available");
    assert.equal(back.attempt, 0);
    await assert.rejects(engine.retry(id), (e: unknown) => isKeelError(e, "job_not_retryable"));
  });

  test("retryDead brings back every dead job of a queue", async () => {
    const ids = await engine.enqueueMany(
      Array.from({ length: 30 }, () => ({ queue: "f4", target: { handler: "h" }, maxAttempts: 1 })),
    );
    const jobs = await claim("f4", 100);
    await engine.fail(jobs.map((job) => ({ job, error: { message: "x" }, retryInMs: 0 })));
    const progress: number[] = [];
    assert.equal(await engine.retryDead("f4", (n) => progress.push(n)), 30);
    assert.deepEqual(progress, [30]);
    const states = await Promise.all(ids.map((r) => engine.getJob(r.id).then((j) => j.state)));
    assert.deepEqual(new Set(states), new Set(["available"]));
  });

  test("cancel removes a waiting job and takes the lease of a running one", async () => {
    const waiting = await engine.enqueue({ queue: "f5", target: { handler: "h" }, delayMs: 10_000 });
    assert.equal((await engine.cancel(waiting.id)).previousState, "scheduled");
    assert.equal((await engine.getJob(waiting.id)).state, "cancelled");
    await assert.rejects(engine.cancel(waiting.id), (e: unknown) => isKeelError(e, "job_already_finished"));

    const running = await engine.enqueue({ queue: "f5", target: { handler: "h" } });
    const [job] = (await claim("f5")) as [ClaimedJob];
    await engine.cancel(running.id, "test");
    assert.equal((await engine.heartbeat([job], LEASE)).size, 1, "the worker learns it lost the job");
    assert.equal((await engine.complete([job])).size, 1);
    assert.equal((await engine.getJob(running.id)).state, "cancelled");
  });

  test("unknown job ids answer job_not_found", async () => {
    await assert.rejects(engine.getJob("999999999"), (e: unknown) => isKeelError(e, "job_not_found"));
    await assert.rejects(engine.getJob("abc"), (e: unknown) => isKeelError(e, "job_not_found"));
  });
});

describe("queues", () => {
  test("a paused queue yields nothing until resumed", async () => {
    await engine.enqueue({ queue: "p1", target: { handler: "h" } });
    await engine.pauseQueue("p1");
    assert.equal((await claim("p1")).length, 0);
    assert.equal((await engine.queueLimits(["p1"])).get("p1")?.paused, true);
    await engine.resumeQueue("p1");
    assert.equal((await claim("p1")).length, 1);
    await assert.rejects(engine.pauseQueue("nope"), (e: unknown) => isKeelError(e, "queue_not_found"));
  });

  test("listQueues reports counts per state and the oldest ready age", async () => {
    await engine.enqueueMany([
      { queue: "stats", target: { handler: "h" }, runAt: new Date(Date.now() - 5_000) },
      { queue: "stats", target: { handler: "h" } },
      { queue: "stats", target: { handler: "h" }, delayMs: 60_000 },
    ]);
    const q = (await engine.listQueues()).find((x) => x.name === "stats");
    assert.ok(q);
    assert.deepEqual(q.counts, {
      scheduled: 1,
      available: 2,
      running: 0,
      succeeded: 0,
      dead: 0,
      cancelled: 0,
    });
    assert.ok(q.oldestReadyAgeSeconds >= 4.5 && q.oldestReadyAgeSeconds < 30, `${q.oldestReadyAgeSeconds}`);
  });

  test("queue settings are validated", async () => {
    await assert.rejects(engine.upsertQueue("q", { concurrency: 0 }), (e: unknown) =>
      isKeelError(e, "invalid_argument"),
    );
    await assert.rejects(engine.upsertQueue("q", { colour: "red" } as never), (e: unknown) =>
      isKeelError(e, "unknown_option"),
    );
  });
});

describe("the lease columns a completion sends", () => {
  const token = "0b7c9a52-4a3e-4c55-9d0e-2f1f7f0f2c11";

  test("plain ids and tokens go as one array literal each", () => {
    assert.deepEqual(
      leaseColumns([
        { id: "1", leaseToken: token },
        { id: "42", leaseToken: token },
      ]),
      ["{1,42}", `{${token},${token}}`],
    );
    assert.deepEqual(leaseColumns([]), ["{}", "{}"]);
  });

  test("an element that is not plain sends that column as an array, for the driver to quote", () => {
    // A comma in an id must not become a second element (and misalign ids and tokens).
    const [ids, tokens] = leaseColumns([
      { id: "1,2", leaseToken: token },
      { id: "3", leaseToken: 'x",y' },
    ]);
    assert.deepEqual(ids, ["1,2", "3"]);
    assert.deepEqual(tokens, [token, 'x",y']);
  });

  test("a job id that is not a bigint fails the completion instead of finishing another job", async () => {
    await engine.enqueue({ queue: "lc1", target: { handler: "h" } });
    const [job] = await claim("lc1");
    assert.ok(job);
    await assert.rejects(engine.complete([{ id: `${job.id},1`, leaseToken: job.leaseToken }]));
    assert.deepEqual(await engine.complete([{ id: job.id, leaseToken: job.leaseToken }]), new Set());
  });
});
