import assert from "node:assert/strict";
import { test } from "node:test";
import { type ClaimedJob, createWorker, type Engine } from "../src/index.js";
import { guardLeaks, testEngine, waitFor } from "./helpers.js";

guardLeaks();
const engine: Engine = await testEngine();
const S = `"${engine.schema}"`;

function claim(queue: string, limit: number, workerId = "w"): Promise<ClaimedJob[]> {
  return engine.claim({ queue, handlers: ["h"], limit, leaseMs: 30_000, workerId, limited: true });
}

const keyOf = (j: ClaimedJob) => (j.payload as { account: string }).account;
const count = (jobs: ClaimedJob[], key: string) => jobs.filter((j) => keyOf(j) === key).length;

test("concurrency per payload key: at most N running per key value, across claimers", async () => {
  await engine.upsertQueue("f1", { flow: { key: "payload.account", concurrency: 2 } });
  await engine.enqueueMany(
    ["a", "b", "c"].flatMap((account) =>
      Array.from({ length: 10 }, () => ({ queue: "f1", target: { handler: "h" }, payload: { account } })),
    ),
  );
  const got = (await Promise.all(Array.from({ length: 6 }, (_, i) => claim("f1", 5, `w${i}`)))).flat();
  assert.deepEqual(
    ["a", "b", "c"].map((k) => count(got, k)),
    [2, 2, 2],
  );
  assert.equal((await claim("f1", 10)).length, 0, "every key at its limit");
  await engine.complete(got.filter((j) => keyOf(j) === "b").slice(0, 1));
  const next = await claim("f1", 10);
  assert.deepEqual(next.map(keyOf), ["b"], "the freed slot goes to its key");
});

test("a claim that waited for the queue's lock counts what the holder committed (a fresh snapshot after the lock)", async () => {
  await engine.upsertQueue("f-snap", { flow: { key: "payload.account", concurrency: 1 } });
  await engine.enqueueMany(
    Array.from({ length: 2 }, () => ({
      queue: "f-snap",
      target: { handler: "h" },
      payload: { account: "a" },
    })),
  );
  const holder = await engine.pool.connect();
  try {
    await holder.query("begin");
    await holder.query(`select 1 from ${S}.queues where name = 'f-snap' for no key update`);
    const waiting = claim("f-snap", 5, "late");
    await waitFor(
      async () =>
        (
          await engine.pool.query(
            `select 1 from pg_stat_activity
             where wait_event_type = 'Lock' and query like '%claim_limited%' and query like '%' || $1 || '%'`,
            [engine.schema],
          )
        ).rowCount,
      10_000,
      "the claim to wait for the queue's lock",
    );
    // What another claimer does while holding the lock: the key's one slot starts running.
    await holder.query(
      `update ${S}.jobs set state = 'running', attempt = 1, lease_token = gen_random_uuid(), worker_id = 'holder',
           started_at = now(), lease_until = now() + interval '1 minute'
       where id = (select min(id) from ${S}.jobs where queue = 'f-snap')`,
    );
    await holder.query("commit");
    assert.equal((await waiting).length, 0, "the key's one slot was taken while the claim waited");
  } finally {
    await holder.query("rollback");
    holder.release();
  }
});

test("a key's first job not yet due, or for another handler, leaves its place to the key's next ready job", async () => {
  await engine.upsertQueue("f-head", { flow: { key: "payload.account", concurrency: 5 } });
  const job = (account: string, extra: object) => ({
    queue: "f-head",
    target: { handler: "h" },
    payload: { account },
    ...extra,
  });
  await engine.enqueueMany([
    job("a", { priority: 9, delayMs: 3_600_000 }),
    job("a", { priority: 1 }),
    { ...job("b", { priority: 9 }), target: { handler: "other" } },
    job("b", { priority: 1 }),
    ...Array.from({ length: 3 }, (_, i) => job(`k${i}`, {})),
  ]);
  // Five keys share a batch of 5: one job each, which the walk's head gives unless it is not ready.
  const got = await claim("f-head", 5);
  assert.deepEqual(got.map(keyOf).sort(), ["a", "b", "k0", "k1", "k2"]);
  assert.ok(got.every((j) => j.priority === 0 || j.priority === 1));
  assert.ok(got.every((j) => j.handler === "h"));
});

test("a job's own flow key and concurrency: the queue switches to limited claims", async () => {
  await engine.enqueueMany(
    Array.from({ length: 5 }, () => ({
      queue: "f2",
      target: { handler: "h" },
      flowKey: "acct-1",
      flowConcurrency: 1,
    })),
  );
  const limits = await engine.queueLimits(["f2"]);
  assert.equal(limits.get("f2")?.limited, true);
  const stale = await engine.claim({
    queue: "f2",
    handlers: ["h"],
    limit: 5,
    leaseMs: 30_000,
    workerId: "w",
    limited: false,
  });
  assert.equal(stale.length, 0, "a stale unlimited claim takes nothing");
  assert.equal((await claim("f2", 5)).length, 1);
});

test("jobs keyed by an expression that is then removed are all still claimed: the queue stays a flow queue", async () => {
  // Claims of queues without flow control read only unkeyed jobs (decision 078): removing the
  // expression must not leave the jobs it keyed to a claim that cannot see them.
  await engine.upsertQueue("f7", { flow: { key: "payload.account", concurrency: 1 } });
  await engine.enqueueMany([
    ...["a", "b", "c"].map((account) => ({ queue: "f7", target: { handler: "h" }, payload: { account } })),
    { queue: "f7", target: { handler: "h" }, payload: {} },
  ]);
  await engine.upsertQueue("f7", {});
  const limited = (await engine.queueLimits(["f7"])).get("f7")?.limited;
  assert.equal(limited, true, "the queue is still claimed as a flow queue");
  const taken: ClaimedJob[] = [];
  for (let i = 0; i < 5; i++)
    taken.push(
      ...(await engine.claim({
        queue: "f7",
        handlers: ["h"],
        limit: 10,
        leaseMs: 30_000,
        workerId: "w",
        limited,
      })),
    );
  assert.deepEqual(taken.map((j) => (j.payload as { account?: string }).account ?? "-").sort(), [
    "-",
    "a",
    "b",
    "c",
  ]);
});

test("tenantConcurrency is the flow key tenant", async () => {
  await engine.upsertQueue("f3", { tenantConcurrency: 2 });
  const [q] = (await engine.listQueues()).filter((x) => x.name === "f3");
  assert.deepEqual(q?.flow, { key: "tenant", concurrency: 2 });
  assert.equal(q?.tenantConcurrency, 2, "still written for processes of the previous version");
  await engine.enqueueMany(
    Array.from({ length: 5 }, () => ({ queue: "f3", target: { handler: "h" }, tenant: "acme" })),
  );
  assert.equal((await claim("f3", 5)).length, 2);
});

test("host keys HTTP deliveries by the target's host", async () => {
  await engine.upsertQueue("f4", { flow: { key: "host", concurrency: 1 } });
  await engine.enqueueMany([
    { queue: "f4", target: { url: "https://a.example.com/x" } },
    { queue: "f4", target: { url: "https://A.example.com:8443/y" } },
    { queue: "f4", target: { url: "https://b.example.com/z" } },
  ]);
  const rows = await engine.pool.query(`select flow_key from ${S}.jobs where queue = 'f4' order by id`);
  assert.deepEqual(
    rows.rows.map((r) => r.flow_key),
    ["a.example.com", "a.example.com", "b.example.com"],
  );
  const got = await engine.claim({
    queue: "f4",
    handlers: ["@http"],
    limit: 5,
    leaseMs: 30_000,
    workerId: "w",
    limited: true,
  });
  assert.equal(got.length, 2, "one per host");
});

test("fairness: one key with 10,000 ready jobs cannot hold back nine keys with 10 each", async () => {
  // No limit per key: the key only decides turns. Claims of 10, each completed at once.
  await engine.upsertQueue("fair", { flow: { key: "payload.account" } });
  await engine.enqueueMany(
    Array.from({ length: 10_000 }, () => ({
      queue: "fair",
      target: { handler: "h" },
      payload: { account: "big" },
    })),
  );
  await engine.enqueueMany(
    Array.from({ length: 9 }, (_, k) =>
      Array.from({ length: 10 }, () => ({
        queue: "fair",
        target: { handler: "h" },
        payload: { account: `small-${k}` },
      })),
    ).flat(),
  );
  let claims = 0;
  let smallDone = 0;
  let bigDone = 0;
  while (smallDone < 90) {
    const got = await claim("fair", 10);
    claims++;
    assert.ok(got.length > 0, "work is left");
    smallDone += got.filter((j) => keyOf(j) !== "big").length;
    bigDone += count(got, "big");
    await engine.complete(got);
    assert.ok(
      claims <= 20,
      `the small keys are done within 20 claims of 10 (after ${claims}: ${smallDone} of 90)`,
    );
  }
  // Turns across keys: each claim of 10 takes one job of each of the ten keys.
  assert.equal(claims, 10, "the small keys finish in 10 claims of 10");
  assert.equal(bigDone, 10);
});

test("enqueue from SQL keys the job by the queue's expression, or by options.flowKey", async () => {
  await engine.upsertQueue("f5", { flow: { key: "payload.account", concurrency: 1 } });
  await engine.pool.query(`select ${S}.enqueue('f5', '{"handler":"h"}', '{"account":"x"}', null)`);
  await engine.pool.query(`select ${S}.enqueue('f6', '{"handler":"h"}', null, '{"flowKey":"y"}')`);
  const rows = await engine.pool.query(
    `select queue, flow_key from ${S}.jobs where queue in ('f5', 'f6') order by queue`,
  );
  assert.deepEqual(
    rows.rows.map((r) => [r.queue, r.flow_key]),
    [
      ["f5", "x"],
      ["f6", "y"],
    ],
  );
  assert.equal((await engine.queueLimits(["f6"])).get("f6")?.limited, true);
});

test("HTTP jobs are keyed by host without any setting; a worker's keyConcurrency bounds each host", async () => {
  await engine.enqueueMany([
    ...Array.from({ length: 5 }, () => ({ queue: "f7", target: { url: "https://app-a.example.com/hook" } })),
    ...Array.from({ length: 5 }, () => ({ queue: "f7", target: { url: "https://app-b.example.com/hook" } })),
  ]);
  assert.equal((await engine.queueLimits(["f7"])).get("f7")?.limited, true);
  const got = await engine.claim({
    queue: "f7",
    handlers: ["@http"],
    limit: 10,
    leaseMs: 30_000,
    workerId: "w",
    limited: true,
    defaultKeyConcurrency: 2,
  });
  const hosts = got.map((j) => new URL((j.target as { url: string }).url).host).sort();
  assert.deepEqual(hosts, [
    "app-a.example.com",
    "app-a.example.com",
    "app-b.example.com",
    "app-b.example.com",
  ]);
});

test("a worker's keyRate bounds starts per host in a queue without a rate of its own", async () => {
  await engine.enqueueMany([
    ...Array.from({ length: 5 }, () => ({ queue: "f8", target: { url: "https://app-a.example.com/hook" } })),
    ...Array.from({ length: 5 }, () => ({ queue: "f8", target: { url: "https://app-b.example.com/hook" } })),
  ]);
  const take = () =>
    engine.claim({
      queue: "f8",
      handlers: ["@http"],
      limit: 10,
      leaseMs: 30_000,
      workerId: "w",
      limited: true,
      // One start a minute per host, bursts of 2: two each now, then none for a minute.
      defaultKeyRate: { intervalUs: 60_000_000, burst: 2 },
    });
  const hostsOf = (jobs: ClaimedJob[]) =>
    jobs.map((j) => new URL((j.target as { url: string }).url).host).sort();
  assert.deepEqual(hostsOf(await take()), [
    "app-a.example.com",
    "app-a.example.com",
    "app-b.example.com",
    "app-b.example.com",
  ]);
  assert.deepEqual(await take(), [], "both hosts used their burst");
  // Once an interval has passed (measured here after the start was recorded, so a slow machine
  // changes nothing), each host is admitted again: the limiter holds no start past its due time.
  await engine.enqueueMany([
    ...Array.from({ length: 3 }, () => ({ queue: "f8b", target: { url: "https://app-a.example.com/hook" } })),
    ...Array.from({ length: 3 }, () => ({ queue: "f8b", target: { url: "https://app-b.example.com/hook" } })),
  ]);
  const second = (t: number) =>
    engine.claim({
      queue: "f8b",
      handlers: ["@http"],
      limit: 10,
      leaseMs: 30_000,
      workerId: "w",
      limited: true,
      defaultKeyRate: { intervalUs: t, burst: 1 },
    });
  assert.equal((await second(1_000_000)).length, 2, "one per host (burst 1)");
  const recorded = performance.now();
  await new Promise((r) => setTimeout(r, 1_050));
  assert.ok(performance.now() - recorded >= 1_000);
  assert.deepEqual(hostsOf(await second(1_000_000)), ["app-a.example.com", "app-b.example.com"]);
  // A queue's own rate wins over the worker's.
  await engine.upsertQueue("f9", { flow: { key: "host", rate: { limit: 1, windowSeconds: 60, burst: 3 } } });
  await engine.enqueueMany(
    Array.from({ length: 5 }, () => ({ queue: "f9", target: { url: "https://app-a.example.com/hook" } })),
  );
  const own = await engine.claim({
    queue: "f9",
    handlers: ["@http"],
    limit: 10,
    leaseMs: 30_000,
    workerId: "w",
    limited: true,
    defaultKeyRate: { intervalUs: 60_000_000, burst: 1 },
  });
  assert.equal(own.length, 3, "the queue's burst of 3, not the worker's 1");
});

test("a worker with keyRate 10/s starts each key's jobs at 10/s", async () => {
  await engine.enqueueMany(
    ["a", "b"].flatMap((key) =>
      Array.from({ length: 20 }, () => ({
        queue: "f10",
        target: { handler: "h" },
        flowKey: key,
        payload: { key },
      })),
    ),
  );
  let left = 40;
  let done!: () => void;
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const worker = createWorker({
    engine,
    queues: ["f10"],
    concurrency: 10,
    keyRate: { limit: 10, windowSeconds: 1 },
    shutdownTimeoutMs: 0,
    maintenance: false,
    handlers: {
      h: () => {
        if (--left === 0) done();
      },
    },
  });
  await worker.start();
  try {
    await finished;
  } finally {
    await worker.stop();
  }
  // The starts the limit governs: each claim's Postgres clock, as recorded in the job's try (a
  // handler's own start in this process can lag its claim by event-loop delay, unevenly).
  const { rows } = await engine.pool.query<{ key: string; ms: number }>(
    `select h.payload ->> 'key' as key, extract(epoch from t.started_at) * 1000 as ms
     from ${S}.job_tries t join ${S}.job_history h on h.id = t.job_id
     where t.queue = 'f10' order by t.started_at`,
  );
  const starts = new Map<string, number[]>();
  for (const r of rows) starts.set(r.key, [...(starts.get(r.key) ?? []), Number(r.ms)]);
  for (const key of ["a", "b"]) {
    const s = starts.get(key) ?? [];
    assert.equal(s.length, 20);
    // After the burst of 2, one start every 100 ms: 18 intervals from the second start to the last.
    const rate = (18 * 1000) / ((s.at(-1) as number) - (s[1] as number));
    // Never faster than the limit (how close to it a loaded machine gets is the machine's).
    assert.ok(rate <= 11, `key ${key} started at ${rate.toFixed(2)}/s (limit 10)`);
    const busiest = Math.max(...s.map((t) => s.filter((u) => u >= t && u < t + 1000).length));
    assert.ok(busiest <= 11, `key ${key}: ${busiest} starts within one second`);
  }
});

test("a worker refuses a keyRate it could never start a job under", () => {
  for (const keyRate of [
    { limit: 0, windowSeconds: 1 },
    { limit: 10, windowSeconds: 0.5 },
    { limit: 10, windowSeconds: 1, burst: 0 },
  ]) {
    assert.throws(
      () => createWorker({ engine, queues: ["f11"], keyRate, handlers: { h: () => {} } }),
      (err: Error & { code?: string }) =>
        err.code === "invalid_argument" && /keyRate needs/.test(err.message),
      JSON.stringify(keyRate),
    );
  }
});
