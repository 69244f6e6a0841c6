import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { Redis } from "ioredis";
import { onCleanup } from "../../engine/test/helpers.js";
import { createRateLimiter, type Policy, RedisRateLimitStore, rateLimitRedisOptions } from "../src/index.js";

// The Redis store against the shared test Redis (KEEL_TEST_REDIS_URL), under a prefix of its own.

const url = process.env.KEEL_TEST_REDIS_URL;
const skip = url ? false : "KEEL_TEST_REDIS_URL is not set (no Redis)";
const prefix = `keel:rl:test:${process.pid}:${randomBytes(4).toString("hex")}:`;

async function redisLimiter(policies: Policy[]) {
  // Generous timeouts: these tests are about the store's answers, not a busy machine's latency.
  const store = new RedisRateLimitStore({
    url: url as string,
    prefix,
    redisOptions: { commandTimeout: 5_000 },
  });
  const limiter = createRateLimiter({ store, policies, timeoutMs: 5_000 });
  onCleanup(() => limiter.close());
  await store.ready();
  return { limiter, store };
}

describe("Redis store", { skip }, () => {
  test("GCRA with Redis's clock: the burst, then refusals with the wait until a unit returns", async () => {
    const { limiter, store } = await redisLimiter([{ name: "five", limit: 5, windowSeconds: 60 }]);
    const remaining: number[] = [];
    for (let i = 0; i < 5; i++) {
      const d = await limiter.check({ policy: "five", key: "k" });
      assert.equal(d.results[0]?.outcome, "allowed");
      remaining.push(d.results[0]?.remaining as number);
    }
    assert.deepEqual(remaining, [4, 3, 2, 1, 0]);
    const refused = await limiter.check({ policy: "five", key: "k" });
    assert.equal(refused.allowed, false);
    assert.equal(refused.results[0]?.outcome, "denied");
    // One unit per 12 s; a few ms have passed since the first check.
    assert.ok((refused.retryAfterSeconds as number) >= 11 && (refused.retryAfterSeconds as number) <= 12);
    // The key expires when its TAT passes (60 s of units spent).
    const ttl = await store.client.pttl(`${prefix}five:k`);
    assert.ok(ttl > 58_000 && ttl <= 60_000, `pttl ${ttl}`);
  });

  test("several policies in one script: a refusal by one spends nothing of the others", async () => {
    const { limiter } = await redisLimiter([
      { name: "wide", limit: 5, windowSeconds: 60 },
      { name: "narrow", limit: 2, windowSeconds: 60 },
    ]);
    const both = [
      { policy: "wide", key: "u" },
      { policy: "narrow", key: "u" },
    ];
    const admitted = [];
    for (let i = 0; i < 4; i++) admitted.push((await limiter.check(both)).allowed);
    assert.deepEqual(admitted, [true, true, false, false]);
    const wide = await limiter.check({ policy: "wide", key: "u" });
    assert.equal(wide.results[0]?.remaining, 2, "wide spent only the two admitted checks");
  });

  test("200 concurrent checks of one key admit exactly the burst", async () => {
    const { limiter } = await redisLimiter([{ name: "hot", limit: 50, windowSeconds: 3600 }]);
    const decisions = await Promise.all(
      Array.from({ length: 200 }, () => limiter.check({ policy: "hot", key: "k" })),
    );
    assert.equal(decisions.filter((d) => d.allowed).length, 50);
    assert.ok(decisions.every((d) => d.results[0]?.failMode === undefined));
  });

  test("a changed policy (same name, new limit or burst) decides the next check", async () => {
    const before = await redisLimiter([{ name: "changing", limit: 5, windowSeconds: 60 }]);
    for (let i = 0; i < 5; i++)
      assert.ok((await before.limiter.check({ policy: "changing", key: "a" })).allowed);
    assert.equal((await before.limiter.check({ policy: "changing", key: "a" })).allowed, false);
    assert.ok((await before.limiter.check({ policy: "changing", key: "b" })).allowed);
    // A process with the new definition, on the same keys: its parameters, not the old script's.
    const raised = await redisLimiter([{ name: "changing", limit: 5, windowSeconds: 60, burst: 10 }]);
    const a = await raised.limiter.check({ policy: "changing", key: "a" });
    assert.equal(a.allowed, true, "a larger burst admits at once");
    assert.equal(a.results[0]?.limit, 5);
    const lowered = await redisLimiter([{ name: "changing", limit: 1, windowSeconds: 60 }]);
    const b = await lowered.limiter.check({ policy: "changing", key: "b" });
    assert.equal(b.allowed, false, "one unit per minute: the unit b spent 12 s of is not back");
    assert.equal(b.results[0]?.limit, 1);
    assert.ok((await before.limiter.check({ policy: "changing", key: "b" })).allowed, "the old one still");
  });

  test("costs other than 1 are sent and spent, alone and with another policy", async () => {
    const { limiter } = await redisLimiter([
      { name: "units", limit: 10, windowSeconds: 60 },
      { name: "calls", limit: 3, windowSeconds: 60 },
    ]);
    const d1 = await limiter.check({ policy: "units", key: "c", cost: 4 });
    assert.equal(d1.results[0]?.remaining, 6);
    const d2 = await limiter.check([
      { policy: "units", key: "c", cost: 5 },
      { policy: "calls", key: "c" },
    ]);
    assert.deepEqual(
      d2.results.map((r) => r.remaining),
      [1, 2],
    );
    const d3 = await limiter.check({ policy: "units", key: "c", cost: 2 });
    assert.equal(d3.allowed, false);
    assert.equal((await limiter.check({ policy: "units", key: "c", cost: 0 })).results[0]?.remaining, 1);
  });

  test("a client you pass in is used as is and stays open after close", async () => {
    const client = new Redis(url as string, rateLimitRedisOptions());
    onCleanup(() => client.disconnect());
    const store = new RedisRateLimitStore({ client, prefix });
    const limiter = createRateLimiter({ store, policies: [{ name: "mine", limit: 1, windowSeconds: 1 }] });
    await store.ready();
    assert.equal((await limiter.check({ policy: "mine", key: "k" })).allowed, true);
    await limiter.close();
    assert.equal(await client.ping(), "PONG");
  });
});
