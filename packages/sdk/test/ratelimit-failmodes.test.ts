import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  createRateLimiter,
  type DecisionEvent,
  MemoryRateLimitStore,
  type Policy,
  type RateLimitStore,
  type StoreEntry,
} from "../src/index.js";

// The limiter's fail-mode logic, against a store whose failures the test switches on and off.
// Real Redis killed and frozen under load: ratelimit-redis-outage.test.ts.

type Mode = "ok" | "error" | "hang";

/** A working memory store that can be made to fail or to never answer. */
class SwitchableStore implements RateLimitStore {
  readonly kind = "switchable";
  mode: Mode = "ok";
  calls = 0;
  private readonly inner: MemoryRateLimitStore;
  constructor(clock: () => number) {
    this.inner = new MemoryRateLimitStore({ clock });
  }
  consume(entries: readonly StoreEntry[]) {
    this.calls++;
    if (this.mode === "error") return Promise.reject(new Error("connection refused"));
    if (this.mode === "hang") return new Promise<never>(() => {});
    return this.inner.consume(entries);
  }
  close() {
    return this.inner.close();
  }
}

function setup(policies: Policy[], probeIntervalMs = 100) {
  let now = 1_700_000_000_000;
  const clock = () => now;
  const store = new SwitchableStore(clock);
  const logs: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const events: DecisionEvent[] = [];
  const limiter = createRateLimiter({
    store,
    policies,
    clock,
    probeIntervalMs,
    log: (level, message, fields) => logs.push({ level, message, fields }),
    onDecision: (e) => events.push(e),
  });
  return { limiter, store, logs, events, advance: (ms: number) => (now += ms) };
}

describe("fail modes (store failing)", () => {
  test("open admits without counting, closed refuses, fallback enforces limit / expectedReplicas", async () => {
    const { limiter, store, logs, events } = setup([
      { name: "o", limit: 2, windowSeconds: 60, failMode: "open" },
      { name: "c", limit: 2, windowSeconds: 60, failMode: "closed" },
      { name: "f", limit: 9, windowSeconds: 60, failMode: "fallback", expectedReplicas: 3 },
    ]);
    store.mode = "error";
    for (let i = 0; i < 5; i++) {
      const d = await limiter.check({ policy: "o", key: "k" });
      assert.equal(d.allowed, true);
      assert.equal(d.results[0]?.failMode, "open");
      assert.equal(d.headers.ratelimit, undefined, "nothing counted, nothing claimed");
    }
    const closed = await limiter.check({ policy: "c", key: "k" });
    assert.equal(closed.allowed, false);
    assert.equal(closed.retryAfterSeconds, 1);
    assert.equal(closed.headers["retry-after"], "1");
    const admitted = [];
    for (let i = 0; i < 5; i++) admitted.push((await limiter.check({ policy: "f", key: "k" })).allowed);
    assert.deepEqual(admitted, [true, true, true, false, false], "9 per window over 3 replicas: 3 here");
    const fallback = await limiter.check({ policy: "f", key: "k" });
    assert.equal(fallback.headers["ratelimit-policy"], '"f";q=3;w=60');
    assert.equal(limiter.degraded, true);
    assert.equal(logs.length, 1, "one line when the store fails, not one per request");
    assert.equal(logs[0]?.level, "warn");
    assert.deepEqual(logs[0]?.fields.policies, [{ policy: "o", failMode: "open" }]);
    assert.equal(logs[0]?.fields.error, "connection refused");
    const count = (outcome: string) => events.filter((e) => e.outcome === outcome).length;
    assert.equal(count("fail_open"), 5);
    assert.equal(count("fail_closed"), 1);
    assert.equal(count("fallback_allowed"), 3);
    assert.equal(count("fallback_denied"), 3);
  });

  test("closed and fallback in one check: refused, and the fallback share is not spent", async () => {
    const { limiter, store } = setup([
      { name: "c", limit: 2, windowSeconds: 60, failMode: "closed" },
      { name: "f", limit: 2, windowSeconds: 60, failMode: "fallback" },
    ]);
    store.mode = "error";
    for (let i = 0; i < 3; i++) {
      const d = await limiter.check([
        { policy: "c", key: "k" },
        { policy: "f", key: "k" },
      ]);
      assert.equal(d.allowed, false);
      assert.equal(d.results[1]?.outcome, "denied_by_other");
    }
    assert.equal((await limiter.check({ policy: "f", key: "k" })).results[0]?.remaining, 1);
  });

  test("a store that never answers: the check returns after the timeout", async () => {
    const { limiter, store } = setup([{ name: "f", limit: 5, windowSeconds: 60 }]);
    store.mode = "hang";
    const started = performance.now();
    const d = await limiter.check({ policy: "f", key: "k" });
    const waited = performance.now() - started;
    assert.equal(d.results[0]?.outcome, "fallback_allowed");
    assert.ok(waited >= 45 && waited < 1000, `waited ${waited} ms for a 50 ms timeout`);
  });

  test("while failing, one check per probe interval tries the store; the first success ends the outage", async () => {
    const { limiter, store, logs, advance } = setup([{ name: "f", limit: 100, windowSeconds: 60 }], 100);
    store.mode = "error";
    await limiter.check({ policy: "f", key: "k" });
    assert.equal(store.calls, 1);
    for (let i = 0; i < 10; i++) await limiter.check({ policy: "f", key: "k" });
    assert.equal(store.calls, 1, "no store call inside the probe interval");
    advance(100);
    await limiter.check({ policy: "f", key: "k" });
    assert.equal(store.calls, 2, "one probe");
    await limiter.check({ policy: "f", key: "k" });
    assert.equal(store.calls, 2);
    store.mode = "ok";
    advance(100);
    const back = await limiter.check({ policy: "f", key: "k" });
    assert.equal(back.results[0]?.outcome, "allowed");
    assert.equal(back.results[0]?.failMode, undefined);
    assert.equal(limiter.degraded, false);
    assert.deepEqual(
      logs.map((l) => l.level),
      ["warn", "info"],
    );
    await limiter.check({ policy: "f", key: "k" });
    assert.equal(store.calls, 4, "every check uses the store again");
    await limiter.close();
  });
});
