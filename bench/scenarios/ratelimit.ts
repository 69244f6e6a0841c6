import { randomBytes } from "node:crypto";
import { createRateLimiter, RedisRateLimitStore } from "@keel/sdk";
import { Redis } from "ioredis";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { BenchContext, ResultRow, Scenario } from "../lib/scenario.js";
import { percentile, perSecond } from "../lib/stats.js";

/**
 * Scenario 6: rate-limit decisions per second and p99 through the SDK on Redis, against
 * rate-limiter-flexible's RateLimiterRedis (ioredis), side by side in one process on one Redis.
 *
 * Both get the same quota and window, the same keys in the same round-robin order and the same
 * number of checks in flight. The window is long enough (interval = window / quota > a round's
 * length) that neither GCRA (Keel) nor the fixed window (rate-limiter-flexible) gives anything
 * back during a round, so each key of a fresh key set must admit exactly `quota`: the
 * correctness check, which fails the run for a limiter that is fast but wrong (or that fell
 * back to its fail mode).
 */
interface Sizes {
  keys: number;
  quota: number;
  windowSeconds: number;
  /** Checks per key per round: twice the quota, so half are denied. */
  perKey: number;
  rounds: number;
  concurrency: number;
  warmup: number;
}

const FULL: Sizes = {
  keys: 250,
  quota: 50,
  windowSeconds: 3600,
  perKey: 100,
  rounds: 4,
  concurrency: 64,
  warmup: 5_000,
};
const SMOKE: Sizes = {
  keys: 2,
  quota: 50,
  windowSeconds: 3600,
  perKey: 100,
  rounds: 1,
  concurrency: 8,
  warmup: 20,
};

const TIMEOUT_MS = 1_000;
/** Checks slower than this would have met the Keel limiter's default store timeout. */
const DEFAULT_TIMEOUT_MS = 50;

/** One limiter under test: `decide` answers true (admitted) or false (denied), throws on failure. */
interface Contender {
  system: string;
  decide(key: string): Promise<boolean>;
}

interface RoundResult {
  ms: number;
  latencies: number[];
  admitted: Map<string, number>;
}

async function round(c: Contender, keys: readonly string[], total: number, concurrency: number) {
  const latencies = new Array<number>(total);
  const admitted = new Map<string, number>(keys.map((k) => [k, 0]));
  let next = 0;
  const lane = async () => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const key = keys[i % keys.length] as string;
      const t = performance.now();
      const ok = await c.decide(key);
      latencies[i] = performance.now() - t;
      if (ok) admitted.set(key, (admitted.get(key) ?? 0) + 1);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { ms: performance.now() - start, latencies, admitted } satisfies RoundResult;
}

/** Deletes every key under `pattern` (the run's own prefixes). */
async function deleteKeys(redis: Redis, pattern: string): Promise<number> {
  let cursor = "0";
  let deleted = 0;
  do {
    const [nextCursor, found] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = nextCursor;
    if (found.length > 0) deleted += await redis.unlink(...found);
  } while (cursor !== "0");
  return deleted;
}

async function run(ctx: BenchContext): Promise<ResultRow[]> {
  const redisUrl = ctx.redisUrl;
  if (!redisUrl) throw new Error("the ratelimit scenario needs Redis");
  const s = ctx.smoke ? SMOKE : FULL;
  const runId = randomBytes(4).toString("hex");
  const keelPrefix = `bench:${runId}:keel:`;
  const rlfPrefix = `bench:${runId}:rlf`;

  // The store timeout is raised from its 50 ms default to 1 s (client and limiter): on this
  // shared 2-core machine a CPU stall would otherwise hand checks to the fail mode, and the
  // figures must be the store's decisions (rate-limiter-flexible has no timeout at all).
  const keelStore = new RedisRateLimitStore({
    url: redisUrl,
    prefix: keelPrefix,
    redisOptions: { commandTimeout: TIMEOUT_MS },
  });
  const keel = createRateLimiter({
    store: keelStore,
    policies: [{ name: "bench", limit: s.quota, windowSeconds: s.windowSeconds }],
    timeoutMs: TIMEOUT_MS,
  });
  // rate-limiter-flexible's documented ioredis setup: its own client, no offline queue.
  const rlfClient = new Redis(redisUrl, { enableOfflineQueue: false });
  rlfClient.on("error", () => {});
  const rlf = new RateLimiterRedis({
    storeClient: rlfClient,
    keyPrefix: rlfPrefix,
    points: s.quota,
    duration: s.windowSeconds,
  });
  // The same two with refusals answered in memory, as each offers it: Keel's remembered
  // refusals turned off here (on by default: decision 061), rate-limiter-flexible's
  // inMemoryBlockOnConsumed turned on (off by default), so both pairs can be compared.
  const keelAskingStore = new RedisRateLimitStore({
    url: redisUrl,
    prefix: `${keelPrefix}asking:`,
    redisOptions: { commandTimeout: TIMEOUT_MS },
  });
  const keelAsking = createRateLimiter({
    store: keelAskingStore,
    policies: [{ name: "bench", limit: s.quota, windowSeconds: s.windowSeconds }],
    timeoutMs: TIMEOUT_MS,
    rememberDenialsMs: 0,
  });
  const rlfBlocking = new RateLimiterRedis({
    storeClient: rlfClient,
    keyPrefix: `${rlfPrefix}b`,
    points: s.quota,
    duration: s.windowSeconds,
    inMemoryBlockOnConsumed: s.quota + 1,
  });
  const admin = new Redis(redisUrl);
  const failures: string[] = [];

  try {
    await keelStore.ready();
    await keelAskingStore.ready();
    if (rlfClient.status !== "ready") await new Promise((r) => rlfClient.once("ready", r));

    const keelContender = (system: string, limiter: typeof keel): Contender => ({
      system,
      async decide(key) {
        const d = await limiter.check({ policy: "bench", key });
        const outcome = d.results[0]?.outcome;
        if (outcome !== "allowed" && outcome !== "denied") {
          failures.push(`Keel decided by its fail mode (${outcome})`);
        }
        return d.allowed;
      },
    });
    const rlfContender = (system: string, limiter: RateLimiterRedis): Contender => ({
      system,
      async decide(key) {
        try {
          await limiter.consume(key);
          return true;
        } catch (err) {
          if (err instanceof RateLimiterRes) return false;
          throw err;
        }
      },
    });
    // The first two are the defaults the targets compare; the last two the other settings.
    const contenders: Contender[] = [
      keelContender("Keel SDK (RedisRateLimitStore)", keel),
      rlfContender("rate-limiter-flexible RateLimiterRedis", rlf),
      keelContender("Keel SDK, rememberDenialsMs: 0", keelAsking),
      rlfContender("rate-limiter-flexible, inMemoryBlockOnConsumed", rlfBlocking),
    ];
    const totals = new Map(contenders.map((c) => [c.system, { ms: 0, count: 0, latencies: [] as number[] }]));

    // Warm-up (excluded): JIT, connections, script cache, on keys of their own.
    for (const c of contenders) {
      const warmKeys = Array.from({ length: s.keys }, (_, i) => `warm:${i}`);
      await round(c, warmKeys, s.warmup, s.concurrency);
    }

    const perRound = s.keys * s.perKey;
    for (let r = 0; r < s.rounds; r++) {
      // Alternate the order (A B, B A, …) so neither always runs second on a warmer Redis.
      const order = r % 2 === 0 ? contenders : [...contenders].reverse();
      for (const c of order) {
        const keys = Array.from({ length: s.keys }, (_, i) => `r${r}:user:${i}`);
        const got = await round(c, keys, perRound, s.concurrency);
        const wrong = [...got.admitted].filter(([, n]) => n !== s.quota);
        if (wrong.length > 0) {
          failures.push(
            `${c.system}: ${wrong.length} of ${s.keys} keys admitted ≠ ${s.quota} (e.g. ${wrong[0]?.[0]}: ${wrong[0]?.[1]})`,
          );
        }
        const t = totals.get(c.system) as { ms: number; count: number; latencies: number[] };
        t.ms += got.ms;
        t.count += perRound;
        t.latencies.push(...got.latencies);
        ctx.log(
          `round ${r + 1} ${c.system}: ${Math.round(perSecond(perRound, got.ms))}/s, p99 ${percentile(got.latencies, 99).toFixed(2)} ms`,
        );
      }
    }
    if (failures.length > 0)
      throw new Error(`ratelimit correctness failed: ${[...new Set(failures)].join("; ")}`);

    const note = `quota ${s.quota}/${s.windowSeconds}s, ${s.keys} keys round-robin, ${s.perKey} checks per key per round (half denied), ${s.concurrency} in flight, ${s.rounds} round(s) alternating order, ${s.warmup} warm-up checks each excluded; admitted per key = quota verified`;
    const rows: ResultRow[] = [];
    const figures = new Map<string, { rate: number; p99: number }>();
    for (const c of contenders) {
      const t = totals.get(c.system) as { ms: number; count: number; latencies: number[] };
      const rate = perSecond(t.count, t.ms);
      const p99 = percentile(t.latencies, 99);
      figures.set(c.system, { rate, p99 });
      const base = { scenario: "ratelimit", system: c.system };
      const slow = t.latencies.filter((ms) => ms > DEFAULT_TIMEOUT_MS).length;
      rows.push(
        { ...base, metric: "decisions/s", value: rate, unit: "/s", note: `${t.count} decisions; ${note}` },
        { ...base, metric: "p50 latency", value: percentile(t.latencies, 50), unit: "ms" },
        { ...base, metric: "p99 latency", value: p99, unit: "ms" },
        {
          ...base,
          metric: `checks > ${DEFAULT_TIMEOUT_MS} ms`,
          value: slow,
          unit: "",
          note: `would have met Keel's default ${DEFAULT_TIMEOUT_MS} ms store timeout (raised to ${TIMEOUT_MS} ms here)`,
        },
      );
    }
    const k = figures.get(contenders[0]?.system as string) as { rate: number; p99: number };
    const f = figures.get(contenders[1]?.system as string) as { rate: number; p99: number };
    const kAsking = figures.get(contenders[2]?.system as string) as { rate: number; p99: number };
    const fBlocking = figures.get(contenders[3]?.system as string) as { rate: number; p99: number };
    // Each pair with the same setting on both sides: decisions/s ratio, both p99s in the note.
    const pair = (system: string, a: { rate: number; p99: number }, b: { rate: number; p99: number }) =>
      rows.push({
        scenario: "ratelimit",
        system,
        metric: "decisions/s ratio",
        value: a.rate / b.rate,
        unit: "×",
        note: `p99 ${a.p99.toFixed(2)} vs ${b.p99.toFixed(2)} ms`,
      });
    pair("Keel ÷ rate-limiter-flexible, both answering refusals in memory", k, fBlocking);
    pair("Keel ÷ rate-limiter-flexible, both asking Redis every time", kAsking, f);
    rows.push(
      {
        scenario: "ratelimit",
        system: "Keel ÷ rate-limiter-flexible",
        metric: "decisions/s ratio",
        value: k.rate / f.rate,
        unit: "×",
        note: "target ≥ 1",
      },
      {
        scenario: "ratelimit",
        system: "rate-limiter-flexible ÷ Keel",
        metric: "p99 ratio",
        value: f.p99 / k.p99,
        unit: "×",
        note: "target ≥ 1 (Keel's p99 no higher)",
      },
    );
    return rows;
  } finally {
    await keel.close();
    await keelAsking.close();
    rlfClient.disconnect();
    await deleteKeys(admin, `bench:${runId}:*`).catch(() => 0);
    admin.disconnect();
  }
}

export const ratelimit: Scenario = {
  name: "ratelimit",
  title: "6. Rate-limit decisions per second and p99 on Redis",
  target: "decisions/s and p99 at least rate-limiter-flexible's (RateLimiterRedis, ioredis)",
  needsRedis: true,
  run,
};
