/**
 * Decision 061: a key the store refused is refused again by the process without a store round
 * trip while it certainly would be, and never past the moment the store could admit it.
 * Counted in store calls, with an injected clock (memory store) and on the real Redis store.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { onCleanup } from "../../engine/test/helpers.js";
import {
  createRateLimiter,
  type DecisionEvent,
  MemoryRateLimitStore,
  type Policy,
  type RateLimitStore,
  RedisRateLimitStore,
  type StoreEntry,
  type StoreOutcome,
} from "../src/index.js";

/** A store that counts the calls it passes on to a real one. */
class CountingStore implements RateLimitStore {
  calls = 0;
  constructor(private readonly inner: RateLimitStore) {}
  get kind() {
    return this.inner.kind;
  }
  consume(entries: readonly StoreEntry[]): Promise<StoreOutcome> {
    this.calls++;
    return this.inner.consume(entries);
  }
  close() {
    return this.inner.close();
  }
}

function memoryLimiter(policies: Policy[], rememberDenialsMs?: number) {
  let now = 1_700_000_000_000;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const store = new CountingStore(new MemoryRateLimitStore({ clock: clock.now }));
  const events: DecisionEvent[] = [];
  const limiter = createRateLimiter({
    store,
    policies,
    clock: clock.now,
    onDecision: (e) => events.push(e),
    ...(rememberDenialsMs === undefined ? {} : { rememberDenialsMs }),
  });
  return { limiter, store, clock, events };
}

// 5 per 10 s: one unit returns every 2 s.
const FIVE: Policy = { name: "five", limit: 5, windowSeconds: 10 };

describe("remembered denials (memory store, injected clock)", () => {
  test("after a refusal the key is refused without the store, with the store's headers", async () => {
    const { limiter, store, clock, events } = memoryLimiter([FIVE], 60_000);
    for (let i = 0; i < 5; i++)
      assert.equal((await limiter.check({ policy: "five", key: "k" })).allowed, true);
    const first = await limiter.check({ policy: "five", key: "k" });
    assert.equal(first.allowed, false);
    assert.equal(store.calls, 6);
    clock.advance(500);
    const again = await limiter.check({ policy: "five", key: "k" });
    assert.equal(store.calls, 6, "answered without the store");
    assert.equal(again.allowed, false);
    assert.equal(again.results[0]?.outcome, "denied");
    assert.equal(again.results[0]?.remaining, 0);
    // 1.5 s left of the 2 s wait: shown as 2 whole seconds, as the store would.
    assert.equal(again.retryAfterSeconds, 2);
    assert.equal(again.headers["retry-after"], "2");
    assert.equal(events.at(-1)?.outcome, "denied");
    // Another key is the store's to decide.
    assert.equal((await limiter.check({ policy: "five", key: "other" })).allowed, true);
    assert.equal(store.calls, 7);
  });

  test("never refused past the moment the store admits: it is asked then", async () => {
    const { limiter, store, clock } = memoryLimiter([FIVE], 60_000);
    for (let i = 0; i < 6; i++) await limiter.check({ policy: "five", key: "k" });
    assert.equal(store.calls, 6);
    clock.advance(1_999);
    assert.equal((await limiter.check({ policy: "five", key: "k" })).allowed, false);
    assert.equal(store.calls, 6);
    clock.advance(1);
    assert.equal((await limiter.check({ policy: "five", key: "k" })).allowed, true);
    assert.equal(store.calls, 7);
    // Refused again right away (the unit was spent): remembered again.
    assert.equal((await limiter.check({ policy: "five", key: "k" })).allowed, false);
    assert.equal((await limiter.check({ policy: "five", key: "k" })).allowed, false);
    assert.equal(store.calls, 8);
  });

  test("a cheaper check that would fit goes to the store", async () => {
    const policy: Policy = { name: "burst", limit: 10, windowSeconds: 10, burst: 10 };
    const { limiter, store, clock } = memoryLimiter([policy], 60_000);
    await limiter.check({ policy: "burst", key: "k", cost: 8 });
    assert.equal((await limiter.check({ policy: "burst", key: "k", cost: 3 })).allowed, false);
    assert.equal(store.calls, 2);
    clock.advance(1_000); // one unit back: 3 fit
    assert.equal((await limiter.check({ policy: "burst", key: "k", cost: 3 })).allowed, true);
    assert.equal(store.calls, 3);
  });

  test("remembered for rememberDenialsMs at most (default 1000), and not at all with 0", async () => {
    const slow: Policy = { name: "slow", limit: 1, windowSeconds: 3600 };
    const byDefault = memoryLimiter([slow]);
    await byDefault.limiter.check({ policy: "slow", key: "k" });
    await byDefault.limiter.check({ policy: "slow", key: "k" });
    byDefault.clock.advance(999);
    await byDefault.limiter.check({ policy: "slow", key: "k" });
    assert.equal(byDefault.store.calls, 2);
    byDefault.clock.advance(1);
    assert.equal((await byDefault.limiter.check({ policy: "slow", key: "k" })).allowed, false);
    assert.equal(byDefault.store.calls, 3, "asked again once the memory expired");

    const never = memoryLimiter([slow], 0);
    for (let i = 0; i < 4; i++) await never.limiter.check({ policy: "slow", key: "k" });
    assert.equal(never.store.calls, 4);
  });

  test("checks of several policies always go to the store", async () => {
    const { limiter, store } = memoryLimiter([FIVE, { name: "ten", limit: 10, windowSeconds: 10 }], 60_000);
    const both = [
      { policy: "five", key: "k" },
      { policy: "ten", key: "k" },
    ];
    for (let i = 0; i < 8; i++) await limiter.check(both);
    assert.equal(store.calls, 8);
  });
});

const url = process.env.KEEL_TEST_REDIS_URL;
const skip = url ? false : "KEEL_TEST_REDIS_URL is not set (no Redis)";

describe("remembered denials on Redis", { skip }, () => {
  test("refusals after the first cost no script call, and the quota holds", async () => {
    const inner = new RedisRateLimitStore({
      url: url as string,
      prefix: `keel:rl:test:${process.pid}:${randomBytes(4).toString("hex")}:`,
      redisOptions: { commandTimeout: 5_000 },
    });
    const store = new CountingStore(inner);
    const limiter = createRateLimiter({
      store,
      policies: [{ name: "q", limit: 50, windowSeconds: 3600 }],
      timeoutMs: 5_000,
    });
    onCleanup(() => limiter.close());
    await inner.ready();
    const decisions = await Promise.all(
      Array.from({ length: 100 }, () => limiter.check({ policy: "q", key: "k" })),
    );
    assert.equal(decisions.filter((d) => d.allowed).length, 50);
    const calls = store.calls;
    const later = await Promise.all(
      Array.from({ length: 100 }, () => limiter.check({ policy: "q", key: "k" })),
    );
    assert.equal(later.filter((d) => d.allowed).length, 0);
    assert.equal(store.calls, calls, "no Redis call for a key refused within the last second");
    assert.ok(later.every((d) => Number(d.headers["retry-after"]) >= 71));
  });
});
