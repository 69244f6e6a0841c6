import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  createRateLimiter,
  gcra,
  keyByAddress,
  keyByToken,
  keyByUser,
  MemoryRateLimitStore,
  type Policy,
  rateLimitHeaders,
  validatePolicy,
} from "../src/index.js";

/** A clock the test moves by hand, in milliseconds. */
function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function memoryLimiter(policies: Policy[]) {
  const clock = manualClock();
  const limiter = createRateLimiter({
    store: new MemoryRateLimitStore({ clock: clock.now }),
    policies,
    clock: clock.now,
  });
  return { limiter, clock };
}

describe("GCRA on the memory store (injected clock)", () => {
  test("a burst of `limit`, then one unit per window/limit, with exact remaining, reset and retry", async () => {
    const { limiter, clock } = memoryLimiter([{ name: "api", limit: 10, windowSeconds: 1 }]);
    const remaining: number[] = [];
    for (let i = 0; i < 10; i++) {
      const d = await limiter.check({ policy: "api", key: "k" });
      assert.equal(d.allowed, true);
      remaining.push(d.results[0]?.remaining as number);
    }
    assert.deepEqual(remaining, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    const refused = await limiter.check({ policy: "api", key: "k" });
    assert.equal(refused.allowed, false);
    assert.equal(refused.results[0]?.outcome, "denied");
    // One unit returns every 100 ms: the wait is 100 ms, shown as 1 whole second.
    assert.equal(refused.retryAfterSeconds, 1);
    assert.equal(refused.headers["retry-after"], "1");
    clock.advance(99);
    assert.equal((await limiter.check({ policy: "api", key: "k" })).allowed, false);
    clock.advance(1);
    assert.equal((await limiter.check({ policy: "api", key: "k" })).allowed, true);
    assert.equal((await limiter.check({ policy: "api", key: "k" })).allowed, false);
    // Idle for a full window: the whole burst is back.
    clock.advance(1000);
    const fresh = await limiter.check({ policy: "api", key: "k" });
    assert.equal(fresh.results[0]?.remaining, 9);
    // Keys are independent.
    assert.equal((await limiter.check({ policy: "api", key: "other" })).results[0]?.remaining, 9);
  });

  test("burst below the limit: fewer at once, the same long-run rate; cost spends several units", async () => {
    const { limiter, clock } = memoryLimiter([{ name: "b", limit: 60, windowSeconds: 60, burst: 3 }]);
    assert.equal((await limiter.check({ policy: "b", key: "k", cost: 2 })).results[0]?.remaining, 1);
    assert.equal((await limiter.check({ policy: "b", key: "k" })).results[0]?.remaining, 0);
    const refused = await limiter.check({ policy: "b", key: "k", cost: 2 });
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterSeconds, 2);
    clock.advance(2000);
    assert.equal((await limiter.check({ policy: "b", key: "k", cost: 2 })).allowed, true);
    // Cost 0 reads without spending.
    const peek = await limiter.check({ policy: "b", key: "k", cost: 0 });
    assert.equal(peek.allowed, true);
    assert.equal(peek.results[0]?.remaining, 0);
    assert.equal((await limiter.check({ policy: "b", key: "k" })).allowed, false);
  });

  test("property: in any span d, admitted units never exceed burst + d / interval, and a check that waits its retry passes", () => {
    const T = 100_000; // µs per unit
    const params = { intervalUs: T, burst: 5 };
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ gap: fc.integer({ min: 0, max: 300_000 }), cost: fc.integer({ min: 0, max: 5 }) }),
          {
            minLength: 1,
            maxLength: 80,
          },
        ),
        (steps) => {
          let now = 1_000_000_000;
          let tat = 0;
          const admitted: { at: number; cost: number }[] = [];
          for (const { gap, cost } of steps) {
            now += gap;
            const out = gcra(now, tat, params, cost);
            if (out.allowed) {
              tat = out.newTat;
              admitted.push({ at: now, cost });
            } else {
              assert.equal(out.newTat, tat);
              // Waiting exactly the retry makes the same check pass.
              assert.equal(gcra(now + out.retryAfterUs, tat, params, cost).allowed, true);
              assert.equal(gcra(now + out.retryAfterUs - 1, tat, params, cost).allowed, false);
            }
          }
          for (let i = 0; i < admitted.length; i++) {
            let sum = 0;
            for (let j = i; j < admitted.length; j++) {
              sum += (admitted[j] as { cost: number }).cost;
              const span = (admitted[j] as { at: number }).at - (admitted[i] as { at: number }).at;
              assert.ok(sum <= params.burst + Math.floor(span / T), `${sum} units in ${span} µs`);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("several policies in one check", () => {
  test("a refusal by one policy spends nothing of the others", async () => {
    const { limiter } = memoryLimiter([
      { name: "wide", limit: 5, windowSeconds: 60 },
      { name: "narrow", limit: 2, windowSeconds: 60 },
    ]);
    const both = [
      { policy: "wide", key: "u" },
      { policy: "narrow", key: "u" },
    ];
    assert.equal((await limiter.check(both)).allowed, true);
    assert.equal((await limiter.check(both)).allowed, true);
    const refused = await limiter.check(both);
    assert.equal(refused.allowed, false);
    assert.deepEqual(
      refused.results.map((r) => [r.policy, r.allowed, r.outcome, r.remaining]),
      [
        ["wide", true, "denied_by_other", 3],
        ["narrow", false, "denied", 0],
      ],
    );
    assert.equal(refused.headers.ratelimit, '"wide";r=3;t=24, "narrow";r=0;t=30');
    assert.equal(refused.headers["ratelimit-policy"], '"wide";q=5;w=60, "narrow";q=2;w=60');
    // wide kept 3 units: only the two admitted checks spent it.
    assert.equal((await limiter.check({ policy: "wide", key: "u" })).results[0]?.remaining, 2);
  });
});

describe("RateLimit headers (draft-ietf-httpapi-ratelimit-headers-10)", () => {
  test("the draft's examples", () => {
    assert.deepEqual(
      rateLimitHeaders([
        { policy: "default", limit: 100, windowSeconds: 60, remaining: 42, resetSeconds: 17 },
      ]),
      { "ratelimit-policy": '"default";q=100;w=60', ratelimit: '"default";r=42;t=17' },
    );
  });

  test("a refusal: t is the retry wait and Retry-After is not earlier; fail-open policies have no RateLimit item", () => {
    const headers = rateLimitHeaders(
      [
        { policy: "a", limit: 10, windowSeconds: 1, remaining: 0, resetSeconds: 1, retryAfterSeconds: 1 },
        { policy: "b", limit: 5, windowSeconds: 3600, remaining: 5, resetSeconds: 0, failMode: "open" },
      ],
      1,
    );
    assert.deepEqual(headers, {
      "ratelimit-policy": '"a";q=10;w=1, "b";q=5;w=3600',
      ratelimit: '"a";r=0;t=1',
      "retry-after": "1",
    });
  });

  test("a limiter's answer: t counts down to the full quota, rounded up", async () => {
    const { limiter, clock } = memoryLimiter([{ name: "default", limit: 100, windowSeconds: 60 }]);
    for (let i = 0; i < 58; i++) await limiter.check({ policy: "default", key: "k" });
    clock.advance(17_800); // 58 units take 34.8 s to return; 17.8 s have passed
    const d = await limiter.check({ policy: "default", key: "k", cost: 0 });
    assert.equal(d.headers.ratelimit, '"default";r=71;t=17');
    assert.equal(d.headers["retry-after"], undefined);
  });
});

describe("keys", () => {
  test("IPv4 stands alone; IPv6 is grouped by /64; IPv4-mapped IPv6 is the IPv4 address", () => {
    assert.equal(keyByAddress("203.0.113.9"), "ip:203.0.113.9");
    assert.equal(keyByAddress("::ffff:203.0.113.9"), "ip:203.0.113.9");
    assert.equal(keyByAddress("::FFFF:cb00:7109"), "ip:203.0.113.9");
    assert.equal(keyByAddress("2001:db8:1:2:aaaa::1"), "ip:2001:db8:1:2::/64");
    assert.equal(keyByAddress("2001:0db8:0001:0002:ffff:ffff:ffff:ffff"), "ip:2001:db8:1:2::/64");
    assert.equal(keyByAddress("[2001:db8::1]"), "ip:2001:db8:0:0::/64");
    assert.equal(keyByAddress("fe80::1%eth0"), "ip:fe80:0:0:0::/64");
    assert.equal(keyByAddress("::1"), "ip:0:0:0:0::/64");
    assert.equal(keyByAddress("2001:db8:1:2ff::1", { ipv6Prefix: 56 }), "ip:2001:db8:1:200::/56");
    assert.equal(keyByAddress("2001:db8:1:2ff::1", { ipv6Prefix: 48 }), "ip:2001:db8:1:0::/48");
    assert.notEqual(keyByAddress("2001:db8:1:2::1"), keyByAddress("2001:db8:1:3::1"));
    assert.throws(() => keyByAddress("not-an-ip"), { code: "invalid_argument" });
  });

  test("user and token keys; a token key never holds the token", () => {
    assert.equal(keyByUser(42), "user:42");
    const key = keyByToken("sk_live_secret");
    assert.match(key, /^token:[0-9a-f]{32}$/);
    assert.ok(!key.includes("secret"));
    assert.equal(keyByToken("sk_live_secret"), key);
  });
});

describe("policy validation", () => {
  const cases: [string, unknown, RegExp][] = [
    ["bad name", { name: "a:b", limit: 1, windowSeconds: 1 }, /name must be 1–64 letters/],
    ["zero limit", { name: "a", limit: 0, windowSeconds: 1 }, /limit must be a whole number from 1/],
    [
      "fractional window",
      { name: "a", limit: 1, windowSeconds: 1.5 },
      /windowSeconds must be a whole number/,
    ],
    ["burst", { name: "a", limit: 1, windowSeconds: 1, burst: -1 }, /burst must be/],
    [
      "fail mode",
      { name: "a", limit: 1, windowSeconds: 1, failMode: "maybe" },
      /failMode must be one of open, closed, fallback/,
    ],
    ["replicas", { name: "a", limit: 1, windowSeconds: 1, expectedReplicas: 0 }, /expectedReplicas must be/],
    ["typo", { name: "a", quota: 1, windowSeconds: 1 }, /unknown field 'quota'.*limit must be/],
    ["too fast", { name: "a", limit: 2_000_000, windowSeconds: 1 }, /at most 1,000,000 per second/],
  ];
  for (const [what, policy, message] of cases) {
    test(`${what}: invalid_policy naming the field`, () => {
      assert.throws(
        () => validatePolicy(policy as Policy),
        (err: { code?: string; status?: number; message: string }) => {
          assert.equal(err.code, "invalid_policy");
          assert.equal(err.status, 400);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  test("defaults and the fallback share", () => {
    const p = validatePolicy({ name: "api", limit: 100, windowSeconds: 60, expectedReplicas: 3 });
    assert.equal(p.failMode, "fallback");
    assert.equal(p.burst, 100);
    assert.equal(p.intervalUs, 600_000);
    assert.deepEqual(p.fallback, { limit: 33, burst: 33, intervalUs: 1_818_182 });
  });

  test("the limiter refuses duplicate policies, unknown policies and malformed checks with stable codes", async () => {
    assert.throws(
      () =>
        createRateLimiter({
          store: new MemoryRateLimitStore(),
          policies: [
            { name: "a", limit: 1, windowSeconds: 1 },
            { name: "a", limit: 2, windowSeconds: 1 },
          ],
        }),
      { code: "invalid_policy", message: /'a': declared twice/ },
    );
    const { limiter } = memoryLimiter([{ name: "a", limit: 3, windowSeconds: 1 }]);
    await assert.rejects(limiter.check({ policy: "nope", key: "k" }), {
      code: "policy_not_found",
      message: /'nope'.*declared: a/,
    });
    await assert.rejects(limiter.check({ policy: "a", key: "" }), {
      code: "invalid_argument",
      message: /key/,
    });
    await assert.rejects(limiter.check({ policy: "a", key: "k", cost: 4 }), {
      code: "invalid_argument",
      message: /cost: a whole number from 0 to 3/,
    });
    await assert.rejects(limiter.check([]), { code: "invalid_argument" });
    await assert.rejects(
      limiter.check([
        { policy: "a", key: "k" },
        { policy: "a", key: "k" },
      ]),
      { code: "invalid_argument", message: /given twice/ },
    );
  });
});
