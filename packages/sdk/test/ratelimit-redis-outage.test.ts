import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { onCleanup, waitFor } from "../../engine/test/helpers.js";
import { createRateLimiter, type DecisionOutcome, RedisRateLimitStore } from "../src/index.js";
import { startOwnRedis } from "./fixtures/ratelimit-redis-server.js";

// Redis crashed (SIGKILL), restarted, frozen (SIGSTOP) and thawed while checks flow: each fail
// mode does what docs/ratelimit.md says, no check waits much past the 50 ms store timeout, and
// the store takes over again once Redis answers. Uses a redis-server of its own, never the
// shared one.

const hasRedisServer = spawnSync("redis-server", ["--version"]).status === 0;
const skip = hasRedisServer || process.env.CI === "true" ? false : "redis-server is not installed";

const TIMEOUT_MS = 50;
// Generous: the machine is shared; a check that waited on a dead Redis would take seconds.
const LATENCY_BOUND_MS = TIMEOUT_MS + 450;
const STORE_OUTCOMES: DecisionOutcome[] = ["allowed", "denied"];

interface Sample {
  phase: string;
  policy: string;
  outcome: DecisionOutcome;
  ms: number;
}

test("Redis killed, restarted, frozen and thawed under load", { skip }, async () => {
  const redis = await startOwnRedis();
  const store = new RedisRateLimitStore({ url: redis.url });
  const logs: string[] = [];
  const limiter = createRateLimiter({
    store,
    timeoutMs: TIMEOUT_MS,
    policies: [
      { name: "o", limit: 1_000_000, windowSeconds: 60, failMode: "open" },
      { name: "c", limit: 1_000_000, windowSeconds: 60, failMode: "closed" },
      // 30 per minute over 3 replicas: 10 per minute in this process while Redis is away.
      { name: "f", limit: 30, windowSeconds: 60, failMode: "fallback", expectedReplicas: 3 },
    ],
    log: (level, message) => logs.push(`${level}: ${message}`),
  });
  onCleanup(() => limiter.close());
  await store.ready();

  // Three loops, one per policy, each a check every ~3 ms, keyed by the phase.
  let phase = "up";
  let running = true;
  const samples: Sample[] = [];
  const loop = async (policy: string) => {
    while (running) {
      const started = performance.now();
      const d = await limiter.check({ policy, key: phase });
      samples.push({
        phase,
        policy,
        outcome: d.results[0]?.outcome as DecisionOutcome,
        ms: performance.now() - started,
      });
      await new Promise((r) => setTimeout(r, 3));
    }
  };
  const loops = ["o", "c", "f"].map(loop);
  const of = (p: string, policy: string) => samples.filter((s) => s.phase === p && s.policy === policy);
  const seen = (p: string, policy: string, outcomes: DecisionOutcome[], n = 5) =>
    of(p, policy).filter((s) => outcomes.includes(s.outcome)).length >= n;
  const allSeen = (p: string, outcomes: Record<string, DecisionOutcome[]>) =>
    Object.entries(outcomes).every(([policy, o]) => seen(p, policy, o));
  try {
    await waitFor(
      () => allSeen("up", { o: STORE_OUTCOMES, c: STORE_OUTCOMES, f: STORE_OUTCOMES }),
      10_000,
      "normal",
    );

    phase = "killed";
    await redis.signal("SIGKILL");
    const failing = {
      o: ["fail_open"],
      c: ["fail_closed"],
      f: ["fallback_allowed", "fallback_denied"],
    } as const;
    await waitFor(
      () => allSeen("killed", failing as unknown as Record<string, DecisionOutcome[]>),
      10_000,
      "fail modes",
    );
    // Long enough for the fallback's 10 to run out.
    await waitFor(() => seen("killed", "f", ["fallback_denied"]), 10_000, "fallback refusals");

    phase = "restarted";
    await redis.restart();
    await waitFor(
      () => allSeen("restarted", { o: STORE_OUTCOMES, c: STORE_OUTCOMES, f: STORE_OUTCOMES }),
      10_000,
      "normal mode after the restart",
    );

    phase = "frozen";
    await redis.signal("SIGSTOP");
    await waitFor(
      () => allSeen("frozen", failing as unknown as Record<string, DecisionOutcome[]>),
      10_000,
      "fail modes",
    );

    phase = "thawed";
    await redis.signal("SIGCONT");
    await waitFor(
      () => allSeen("thawed", { o: STORE_OUTCOMES, c: STORE_OUTCOMES, f: STORE_OUTCOMES }),
      10_000,
      "normal mode after the freeze",
    );
  } finally {
    running = false;
    await Promise.all(loops);
  }

  for (const p of ["killed", "frozen"]) {
    // Checks already sent when Redis went away may still have been answered by it.
    const failed = (policy: string) => of(p, policy).filter((s) => !STORE_OUTCOMES.includes(s.outcome));
    assert.ok(
      failed("o").every((s) => s.outcome === "fail_open"),
      `${p}: open admits`,
    );
    assert.ok(
      failed("c").every((s) => s.outcome === "fail_closed"),
      `${p}: closed refuses`,
    );
    const fallbackAdmitted = failed("f").filter((s) => s.outcome === "fallback_allowed").length;
    // 10 per minute in this process: the burst plus at most one unit per 6 s of outage.
    assert.ok(fallbackAdmitted <= 10 + 2, `${p}: fallback admitted ${fallbackAdmitted}`);
  }
  assert.equal(of("killed", "f").filter((s) => s.outcome === "fallback_allowed").length >= 10, true);
  const slowest = Math.max(...samples.map((s) => s.ms));
  assert.ok(slowest < LATENCY_BOUND_MS, `the slowest check took ${slowest.toFixed(1)} ms`);
  const frozenSlowest = Math.max(...of("frozen", "o").map((s) => s.ms));
  assert.ok(frozenSlowest >= TIMEOUT_MS - 5, "a frozen Redis costs the probe the timeout, no more");
  // One line per outage and one per recovery, never one per check (a loaded machine may add a
  // short outage of its own: a check slower than the timeout).
  const levels = logs.map((l) => l.split(":")[0]);
  assert.ok(levels.length >= 4 && levels.length < 20, levels.join(" "));
  assert.ok(
    levels.every((l, i) => l === (i % 2 === 0 ? "warn" : "info")),
    levels.join(" "),
  );
});
