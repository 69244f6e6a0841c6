import assert from "node:assert/strict";
import { test } from "node:test";
import type { ClaimedJob, Engine } from "../src/index.js";
import { guardLeaks, testEngine, waitFor } from "./helpers.js";

guardLeaks();
const engine: Engine = await testEngine();
const S = `"${engine.schema}"`;

function claim(queue: string, limit: number): Promise<ClaimedJob[]> {
  return engine.claim({ queue, handlers: ["h"], limit, leaseMs: 30_000, workerId: "w", limited: true });
}

function twenty(queue: string, singleton: { key: string; mode: "drop" | "queue" }, round: number) {
  return Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      engine.enqueue({ queue, target: { handler: "h" }, payload: { round, i }, singleton }),
    ),
  );
}

test("singleton drop: of 20 concurrent enqueues one job is made; the others get it as a duplicate, while it runs too", async () => {
  const single = { key: "sync:acct-1", mode: "drop" } as const;
  const first = await twenty("s1", single, 1);
  const made = first.filter((r) => !r.deduplicated);
  assert.equal(made.length, 1);
  assert.equal(new Set(first.map((r) => r.id)).size, 1, "every call answers with the same job");
  const [running] = await claim("s1", 5);
  assert.equal(running?.id, made[0]?.id);
  const during = await twenty("s1", single, 2);
  assert.ok(
    during.every((r) => r.deduplicated && r.id === running?.id),
    "dropped while it runs",
  );
  await engine.complete([running as ClaimedJob]);
  const after = await engine.enqueue({ queue: "s1", target: { handler: "h" }, singleton: single });
  assert.equal(after.deduplicated, false, "a new one once it finished");
});

test("singleton queue: one waits while one runs; never two running", async () => {
  const single = { key: "sync:acct-2", mode: "queue" } as const;
  const first = await twenty("s2", single, 1);
  assert.equal(first.filter((r) => !r.deduplicated).length, 1);
  assert.equal(new Set(first.map((r) => r.id)).size, 1);
  const [running] = await claim("s2", 5);
  assert.ok(running);
  const second = await twenty("s2", single, 2);
  const queued = second.filter((r) => !r.deduplicated);
  assert.equal(queued.length, 1, "one newcomer kept to run after the current one");
  assert.equal(new Set(second.map((r) => r.id)).size, 1);
  assert.notEqual(queued[0]?.id, running.id);
  assert.equal((await claim("s2", 5)).length, 0, "it waits for the running one");
  const live = await engine.pool.query(`select count(*)::int as n from ${S}.jobs where queue = 's2'`);
  assert.equal(live.rows[0].n, 2, "one running, one queued");
  await engine.complete([running]);
  const next = await claim("s2", 5);
  assert.deepEqual(
    next.map((j) => j.id),
    [queued[0]?.id],
  );
});

test("debounce: 50 enqueues within the quiet period make one job, run once with the last payload", async () => {
  const results = [];
  for (let i = 0; i < 50; i++) {
    results.push(
      await engine.enqueue({
        queue: "d1",
        target: { handler: "h" },
        payload: { edit: i },
        debounce: { key: "recalc:doc-9", quietMs: 300 },
      }),
    );
  }
  assert.equal(new Set(results.map((r) => r.id)).size, 1, "one pending job");
  assert.equal(results.filter((r) => !r.deduplicated).length, 1);
  const [row] = (
    await engine.pool.query(
      `select payload, state, extract(epoch from run_at - now()) * 1000 as due_in_ms from ${S}.jobs where queue = 'd1'`,
    )
  ).rows;
  assert.deepEqual(row.payload, { edit: 49 });
  assert.equal(row.state, "scheduled");
  assert.ok(
    row.due_in_ms > 0 && row.due_in_ms <= 300,
    `runs the quiet period after the last enqueue (${row.due_in_ms} ms)`,
  );
  assert.equal(
    (await engine.queueLimits(["d1"])).get("d1")?.limited,
    false,
    "debounce alone: the plain claim",
  );
  const ran = await waitFor(async () => {
    const got = await engine.claim({
      queue: "d1",
      handlers: ["h"],
      limit: 10,
      leaseMs: 30_000,
      workerId: "w",
      limited: false,
    });
    return got.length > 0 ? got : undefined;
  });
  assert.equal(ran.length, 1);
  assert.deepEqual(ran[0]?.payload, { edit: 49 });
  // A newcomer while it runs is a new pending job, not a change to the running one.
  const next = await engine.enqueue({
    queue: "d1",
    target: { handler: "h" },
    payload: { edit: 50 },
    debounce: { key: "recalc:doc-9", quietMs: 300 },
  });
  assert.equal(next.deduplicated, false);
  assert.notEqual(next.id, ran[0]?.id);
});

test("debounce maxWaitMs: the pending job runs no later than the wait after the first enqueue", async () => {
  const debounce = { key: "k", quietMs: 3_600_000, maxWaitMs: 1_000 };
  await engine.enqueue({ queue: "d2", target: { handler: "h" }, payload: 1, debounce });
  await engine.enqueue({ queue: "d2", target: { handler: "h" }, payload: 2, debounce });
  const [row] = (
    await engine.pool.query(
      `select payload, extract(epoch from run_at - created_at) * 1000 as after_first_ms from ${S}.jobs where queue = 'd2'`,
    )
  ).rows;
  assert.equal(row.payload, 2);
  assert.ok(row.after_first_ms <= 1_000, `capped at maxWaitMs (${row.after_first_ms} ms after the first)`);
});

test("one batch: debounce keeps the last job of a key, singleton the first", async () => {
  const out = await engine.enqueueMany([
    ...Array.from({ length: 5 }, (_, i) => ({
      queue: "d3",
      target: { handler: "h" },
      payload: { debounced: i },
      debounce: { key: "b", quietMs: 10 },
    })),
    ...Array.from({ length: 3 }, (_, i) => ({
      queue: "d3",
      target: { handler: "h" },
      payload: { single: i },
      singleton: { key: "s", mode: "queue" as const },
    })),
  ]);
  assert.equal(new Set(out.map((r) => r.id)).size, 2);
  const rows = await engine.pool.query(`select payload from ${S}.jobs where queue = 'd3' order by id`);
  assert.deepEqual(
    rows.rows.map((r) => r.payload).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    [{ debounced: 4 }, { single: 0 }],
  );
});

test("flow options that contradict each other are refused with flow_options_conflict", async () => {
  await assert.rejects(
    engine.enqueue({ target: { handler: "h" }, dedupeKey: "a", debounce: { key: "b", quietMs: 10 } }),
    { code: "flow_options_conflict" },
  );
  await assert.rejects(
    engine.enqueue({ target: { handler: "h" }, delayMs: 5, debounce: { key: "b", quietMs: 10 } }),
    { code: "flow_options_conflict" },
  );
  await assert.rejects(
    engine.enqueue({ target: { handler: "h" }, flowKey: "x", singleton: { key: "b", mode: "queue" } }),
    { code: "flow_options_conflict" },
  );
});

test("a schedule's jobs carry its flowKey, {{tenant}} filled per fan-out job", async () => {
  const { schedule } = await engine.schedules.upsert("sync-accounts", {
    cron: "0 * * * *",
    queue: "fs",
    target: { handler: "h" },
    fanOut: { tenants: ["acme", "globex"] },
    flowKey: "sync:{{tenant}}",
    flowConcurrency: 1,
  });
  assert.deepEqual([schedule.flowKey, schedule.flowConcurrency], ["sync:{{tenant}}", 1]);
  await engine.schedules.trigger("sync-accounts");
  const rows = await engine.pool.query(
    `select tenant, flow_key, flow_concurrency from ${S}.jobs where queue = 'fs' order by tenant`,
  );
  assert.deepEqual(
    rows.rows.map((r) => [r.tenant, r.flow_key, r.flow_concurrency]),
    [
      ["acme", "sync:acme", 1],
      ["globex", "sync:globex", 1],
    ],
  );
});

test("a source route's jobs carry its flowKey and flowConcurrency", async () => {
  await engine.intake.sources.put(
    "gh",
    {
      provider: "github",
      secrets: ["s"],
      routes: [
        {
          target: { url: "https://ci.example.com/hook" },
          queue: "fr-hooks",
          flowKey: "ci",
          flowConcurrency: 1,
        },
      ],
    },
    { managedBy: "api" },
  );
  const source = await engine.intake.sources.get("gh");
  assert.deepEqual(
    source.routes.map((r) => [r.flowKey, r.flowConcurrency]),
    [["ci", 1]],
  );
  await engine.intake.events.accept({
    source,
    eventId: "e-1",
    type: "push",
    contentType: "application/json",
    headers: {},
    body: Buffer.from("{}"),
    verification: { provider: "github", secret: 1 },
  });
  const rows = await engine.pool.query(
    `select flow_key, flow_concurrency from ${S}.jobs where queue = 'fr-hooks'`,
  );
  assert.deepEqual(
    rows.rows.map((r) => [r.flow_key, r.flow_concurrency]),
    [["ci", 1]],
  );
});

test("a source route's debounce: a burst of events makes one pending job, for the last event", async () => {
  await engine.intake.sources.put(
    "shop",
    {
      provider: "github",
      secrets: ["s"],
      routes: [
        {
          target: { url: "https://app.example.com/rebuild-catalogue" },
          queue: "fr-debounce",
          debounce: { key: "catalogue", quietMs: 60_000 },
        },
      ],
    },
    { managedBy: "api" },
  );
  const source = await engine.intake.sources.get("shop");
  assert.deepEqual(source.routes[0]?.debounce, { key: "catalogue", quietMs: 60_000 });
  for (let i = 1; i <= 5; i++) {
    await engine.intake.events.accept({
      source,
      eventId: `p-${i}`,
      type: "push",
      contentType: "application/json",
      headers: {},
      body: Buffer.from("{}"),
      verification: { provider: "github", secret: 1 },
    });
  }
  const events = await engine.pool.query<{ id: string; event_id: string }>(
    `select id::text, event_id from ${S}.events where source = 'shop'`,
  );
  const last = events.rows.find((e) => e.event_id === "p-5")?.id;
  const jobs = await engine.pool.query(`select origin from ${S}.jobs where queue = 'fr-debounce'`);
  assert.equal(jobs.rows.length, 1, "one pending job for the burst");
  assert.equal(jobs.rows[0].origin.event, last, "it carries the last event");
});

test("a source route's singleton drops jobs while one is queued; contradicting options are refused", async () => {
  await engine.intake.sources.put(
    "crm",
    {
      provider: "github",
      secrets: ["s"],
      routes: [
        { target: { url: "https://app.example.com/sync" }, queue: "fr-single", singleton: { key: "sync" } },
      ],
    },
    { managedBy: "api" },
  );
  const source = await engine.intake.sources.get("crm");
  for (let i = 1; i <= 3; i++) {
    await engine.intake.events.accept({
      source,
      eventId: `c-${i}`,
      type: "push",
      contentType: "application/json",
      headers: {},
      body: Buffer.from("{}"),
      verification: { provider: "github", secret: 1 },
    });
  }
  const jobs = await engine.pool.query(`select 1 from ${S}.jobs where queue = 'fr-single'`);
  assert.equal(jobs.rows.length, 1);
  await assert.rejects(
    engine.intake.sources.put(
      "crm2",
      {
        provider: "github",
        secrets: ["s"],
        routes: [
          {
            target: { url: "https://app.example.com/sync" },
            singleton: { key: "a" },
            debounce: { key: "a", quietMs: 1000 },
          },
        ],
      },
      { managedBy: "api" },
    ),
    (err: Error & { code?: string; details?: { detail?: string } }) =>
      err.code === "invalid_source" &&
      /routes\[0\]: give one of singleton and debounce/.test(err.details?.detail ?? ""),
  );
});

test("events of one batch routed to a singleton or debounce route: one job, no failed batch", async () => {
  await engine.intake.sources.put(
    "burst",
    {
      provider: "github",
      secrets: ["s"],
      routes: [
        {
          events: ["sync"],
          target: { url: "https://app.example.com/sync" },
          queue: "fr-b-single",
          singleton: { key: "k" },
        },
        {
          events: ["build"],
          target: { url: "https://app.example.com/build" },
          queue: "fr-b-debounce",
          debounce: { key: "k", quietMs: 60_000 },
        },
      ],
    },
    { managedBy: "api" },
  );
  const source = await engine.intake.sources.get("burst");
  const accept = (eventId: string, type: string) =>
    engine.intake.events.accept({
      source,
      eventId,
      type,
      contentType: "application/json",
      headers: {},
      body: Buffer.from("{}"),
      verification: { provider: "github", secret: 1 },
    });
  // One turn of the event loop: the ten events share one batch (one statement).
  const results = await Promise.all([
    ...[1, 2, 3, 4, 5].map((i) => accept(`s-${i}`, "sync")),
    ...[1, 2, 3, 4, 5].map((i) => accept(`b-${i}`, "build")),
  ]);
  assert.ok(results.every((r) => !r.duplicate && r.jobs === 1));
  const ids = new Map(
    (
      await engine.pool.query<{ id: string; event_id: string }>(
        `select id::text, event_id from ${S}.events where source = 'burst'`,
      )
    ).rows.map((r) => [r.event_id, r.id]),
  );
  assert.equal(ids.size, 10, "every event stored");
  const single = await engine.pool.query(`select origin from ${S}.jobs where queue = 'fr-b-single'`);
  assert.equal(single.rows.length, 1, "one queued job for the singleton");
  assert.equal(single.rows[0].origin.event, ids.get("s-1"), "the first event's");
  const debounced = await engine.pool.query(`select origin from ${S}.jobs where queue = 'fr-b-debounce'`);
  assert.equal(debounced.rows.length, 1, "one pending job for the debounce");
  assert.equal(debounced.rows[0].origin.event, ids.get("b-5"), "the last event's");
});
