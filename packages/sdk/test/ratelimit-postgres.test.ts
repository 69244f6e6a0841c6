import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RunReport } from "@keel/engine";
import pg from "pg";
import { onCleanup, testEngine } from "../../engine/test/helpers.js";
import { createRateLimiter, type Policy, PostgresRateLimitStore } from "../src/index.js";

// The Postgres store against a real Postgres: a schema of its own, migrated by the engine.

const engine = await testEngine();
const table = `"${engine.schema}".rate_limits`;

function pgLimiter(
  policies: Policy[],
  options: { sweepIntervalMs?: number; sweepBatch?: number; onSweep?: (r: RunReport<number>) => void } = {},
) {
  const warnings: string[] = [];
  const store = new PostgresRateLimitStore({
    pool: engine.pool,
    schema: engine.schema,
    sweepIntervalMs: 0,
    ...options,
  });
  const limiter = createRateLimiter({
    store,
    policies,
    // Generous: these tests are about the store's answers, not about a busy machine's latency.
    timeoutMs: 5_000,
    log: (level, message, fields) => warnings.push(`${level} ${message} ${JSON.stringify(fields)}`),
  });
  onCleanup(() => limiter.close());
  return { limiter, store, warnings };
}

/** Lets `ms` pass (an observation window, not a synchronisation) and checks it did. */
async function watch(ms: number): Promise<void> {
  const start = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  assert.ok(performance.now() - start >= ms - 1);
}

async function rows(policy: string): Promise<{ key: string; tat: string }[]> {
  return (await engine.pool.query(`select key, tat from ${table} where policy = $1 order by key`, [policy]))
    .rows;
}

describe("Postgres store", () => {
  test("GCRA with the database clock: the burst, then refusals with the wait until a unit returns", async () => {
    const { limiter } = pgLimiter([{ name: "five", limit: 5, windowSeconds: 60 }]);
    const remaining: number[] = [];
    for (let i = 0; i < 5; i++) {
      const d = await limiter.check({ policy: "five", key: "k" });
      assert.equal(d.results[0]?.outcome, "allowed");
      remaining.push(d.results[0]?.remaining as number);
    }
    assert.deepEqual(remaining, [4, 3, 2, 1, 0]);
    const refused = await limiter.check({ policy: "five", key: "k" });
    assert.equal(refused.results[0]?.outcome, "denied");
    assert.ok((refused.retryAfterSeconds as number) >= 11 && (refused.retryAfterSeconds as number) <= 12);
    const [row] = await rows("five");
    const { rows: clock } = await engine.pool.query(
      "select (extract(epoch from clock_timestamp()) * 1000000)::bigint as now",
    );
    const ahead = (Number(row?.tat) - Number(clock[0].now)) / 1e6;
    assert.ok(ahead > 59 && ahead <= 60, `TAT is ${ahead} s ahead of the database clock`);
  });

  test("several policies in one transaction: a refusal spends nothing and writes nothing", async () => {
    const { limiter } = pgLimiter([
      { name: "wide", limit: 5, windowSeconds: 60 },
      { name: "narrow", limit: 2, windowSeconds: 60 },
    ]);
    const both = (key: string) => [
      { policy: "wide", key },
      { policy: "narrow", key: "u" },
    ];
    const admitted = [];
    for (let i = 0; i < 4; i++) admitted.push((await limiter.check(both("u"))).allowed);
    assert.deepEqual(admitted, [true, true, false, false]);
    assert.equal((await limiter.check({ policy: "wide", key: "u" })).results[0]?.remaining, 2);
    // Refused by narrow: no row appears for a wide key never admitted.
    assert.equal((await limiter.check(both("new"))).allowed, false);
    assert.deepEqual(
      (await rows("wide")).map((r) => r.key),
      ["u"],
    );
  });

  test("200 concurrent checks of one key admit exactly the burst", async () => {
    const { limiter, warnings } = pgLimiter([{ name: "hot", limit: 50, windowSeconds: 3600 }]);
    const decisions = await Promise.all(
      Array.from({ length: 200 }, () => limiter.check({ policy: "hot", key: "k" })),
    );
    assert.equal(decisions.filter((d) => d.allowed).length, 50);
    assert.deepEqual(warnings, []);
  });

  test("checks locking the same rows in opposite orders never deadlock", async () => {
    const { limiter, warnings } = pgLimiter([
      { name: "a", limit: 1_000_000, windowSeconds: 60 },
      { name: "b", limit: 1_000_000, windowSeconds: 60 },
    ]);
    const forward = [
      { policy: "a", key: "x" },
      { policy: "b", key: "y" },
    ];
    const backward = [...forward].reverse();
    const decisions = await Promise.all(
      Array.from({ length: 120 }, (_, i) => limiter.check(i % 2 ? forward : backward)),
    );
    assert.ok(decisions.every((d) => d.allowed && d.results.every((r) => r.outcome === "allowed")));
    assert.deepEqual(warnings, [], "no store failure (a deadlock would be one)");
  });

  test("the sweep deletes rows whose TAT has passed, in batches, and keeps live ones", async () => {
    const { limiter, store } = pgLimiter([{ name: "sw", limit: 10, windowSeconds: 60 }], { sweepBatch: 3 });
    for (let i = 0; i < 10; i++) await limiter.check({ policy: "sw", key: `k${i}` });
    // Back-date seven keys' TAT into the past: their quota is full again, the rows are dead.
    await engine.pool.query(`update ${table} set tat = tat - 120000000 where policy = 'sw' and key < 'k7'`);
    const count = async () => (await engine.pool.query(`select count(*)::int as n from ${table}`)).rows[0].n;
    const before = await count();
    const deleted = await store.sweep();
    // Earlier tests' keys whose TAT has passed go too.
    assert.ok(deleted >= 7);
    assert.equal(await count(), before - deleted);
    assert.deepEqual(
      (await rows("sw")).map((r) => r.key),
      ["k7", "k8", "k9"],
    );
    const { rows: dead } = await engine.pool.query(
      `select count(*)::int as n from ${table} where tat < (extract(epoch from clock_timestamp()) * 1000000)::bigint - 1000000`,
    );
    assert.equal(dead[0].n, 0, "no row a second past its TAT is left");
  });

  test("the first check starts a periodic background sweep; close() stops it", async () => {
    const sweeps: RunReport<number>[] = [];
    let signal: (() => void) | undefined;
    const { limiter, store } = pgLimiter([{ name: "lazy", limit: 10, windowSeconds: 60 }], {
      sweepIntervalMs: 20,
      onSweep: (r) => {
        sweeps.push(r);
        signal?.();
      },
    });
    const swept = () => new Promise<void>((r) => (signal = r));
    // No check yet: no timer, so a store that is never used costs nothing. Five intervals watched.
    await watch(100);
    assert.equal(sweeps.length, 0, "no sweep before the first check");
    await limiter.check({ policy: "lazy", key: "old" });
    await engine.pool.query(`update ${table} set tat = 1 where policy = 'lazy'`);
    await limiter.check({ policy: "lazy", key: "new" });
    // A sweep that began before the back-dating may have missed the row: wait for one more.
    await swept();
    await swept();
    assert.ok(sweeps.every((r) => r.ok));
    assert.deepEqual(
      (await rows("lazy")).map((r) => r.key),
      ["new"],
    );
    await store.close();
    const after = sweeps.length;
    await watch(100);
    assert.equal(sweeps.length, after, "no sweep after close()");
  });

  test("an unreachable Postgres: the fail modes answer at once", async () => {
    const pool = new pg.Pool({
      connectionString: "postgres://postgres@127.0.0.1:1/none",
      connectionTimeoutMillis: 1000,
    });
    pool.on("error", () => {});
    onCleanup(() => pool.end());
    const logs: string[] = [];
    const limiter = createRateLimiter({
      store: new PostgresRateLimitStore({ pool, schema: engine.schema }),
      policies: [{ name: "down", limit: 4, windowSeconds: 60, failMode: "fallback", expectedReplicas: 2 }],
      log: (level, message) => logs.push(`${level} ${message}`),
    });
    const outcomes = [];
    for (let i = 0; i < 3; i++)
      outcomes.push((await limiter.check({ policy: "down", key: "k" })).results[0]?.outcome);
    assert.deepEqual(outcomes, ["fallback_allowed", "fallback_allowed", "fallback_denied"]);
    assert.equal(logs.length, 1);
    await limiter.close();
  });
});
