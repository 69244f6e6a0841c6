import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { freshSchema, guardLeaks, onCleanup, testDatabaseUrl } from "../../engine/test/helpers.js";
import { loadEnv } from "../src/config/env.js";
import { loadConfigFile } from "../src/config/file.js";
import { toPolicies } from "../src/config/policies.js";
import { KeelMetrics } from "../src/metrics/index.js";
import { openRateLimiter } from "../src/runtime/ratelimit.js";
import { startKeel } from "../src/runtime/start.js";
import { contractCheckedApi } from "./api-harness.js";
import { memoryLogger, tempDir } from "./helpers.js";

// POST /v1/ratelimit/check through the contract-checked API harness, with the server's limiter
// (runtime/ratelimit.ts) on Postgres, and on Redis when the test Redis is there; the config
// file's `policies:`; REDIS_URL; and one started Keel answering the route.

guardLeaks();

const POLICIES = toPolicies({
  api: { limit: 3, window: 60 },
  login: { limit: 1, window: 600, failMode: "closed" },
});

function limiterOn(redisUrl: string | undefined) {
  const metrics = new KeelMetrics({
    engine: { listQueues: async () => [], stats: { staleLeaseRejections: 0 } },
  });
  return {
    metrics,
    factory: (engine: Parameters<typeof openRateLimiter>[0]["engine"]) => {
      const limiter = openRateLimiter({
        policies: POLICIES,
        redisUrl,
        engine,
        metrics,
        logger: memoryLogger().logger,
        // Generous: these tests pin the store's answers; a busy machine must not turn them into fallbacks.
        storeTimeoutMs: 5_000,
      });
      onCleanup(() => limiter?.close());
      return limiter;
    },
  };
}

async function counted(metrics: KeelMetrics, policy: string, outcome: string): Promise<number> {
  const values = (await metrics.rateLimitDecisions.get()).values;
  return values.find((v) => v.labels.policy === policy && v.labels.outcome === outcome)?.value ?? 0;
}

const postgres = limiterOn(undefined);
const pgApi = await contractCheckedApi({ rateLimiter: postgres.factory });
const redisUrl = process.env.KEEL_TEST_REDIS_URL;
const redis = limiterOn(redisUrl);
const redisApi = redisUrl ? await contractCheckedApi({ rateLimiter: redis.factory }) : undefined;

for (const [store, api, metrics] of [
  ["Postgres", pgApi, postgres.metrics],
  ["Redis", redisApi, redis.metrics],
] as const) {
  describe(`POST /v1/ratelimit/check (${store})`, { skip: api ? false : "no Redis" }, () => {
    // Unique per run: the Redis is shared and keeps keys for their window.
    const key = `user:${store}:${randomBytes(6).toString("hex")}`;
    const check = (body: object, headers = {}) => api?.call("POST", "/v1/ratelimit/check", body, headers);

    test("admits, with the RateLimit headers; a refusal is 200 with allowed: false and the wait", async () => {
      const first = await check({ policy: "api", key });
      assert.equal(first?.statusCode, 200);
      assert.deepEqual(first?.json(), {
        allowed: true,
        policy: "api",
        limit: 3,
        remaining: 2,
        resetSeconds: 20,
      });
      assert.equal(first?.headers["ratelimit-policy"], '"api";q=3;w=60');
      assert.equal(first?.headers.ratelimit, '"api";r=2;t=20');
      assert.equal(first?.headers["retry-after"], undefined);
      assert.equal((await check({ policy: "api", key, cost: 2 }))?.json().remaining, 0);
      const refused = await check({ policy: "api", key });
      assert.equal(refused?.statusCode, 200);
      assert.deepEqual(refused?.json(), {
        allowed: false,
        policy: "api",
        limit: 3,
        remaining: 0,
        resetSeconds: 60,
        retryAfterSeconds: 20,
      });
      assert.equal(refused?.headers.ratelimit, '"api";r=0;t=20');
      assert.equal(refused?.headers["retry-after"], undefined, "a 200 carries no Retry-After");
      assert.equal(await counted(metrics, "api", "allowed"), 2);
      assert.equal(await counted(metrics, "api", "denied"), 1);
    });

    test("cost 0 reads without spending; keys are independent", async () => {
      const peek = await check({ policy: "login", key: `${key}:peek`, cost: 0 });
      assert.equal(peek?.json().remaining, 1);
      assert.equal((await check({ policy: "login", key: `${key}:peek` }))?.json().allowed, true);
      assert.equal((await check({ policy: "login", key: `${key}:peek` }))?.json().allowed, false);
      assert.equal((await check({ policy: "login", key: `${key}:other` }))?.json().allowed, true);
    });

    test("unknown policies, malformed bodies and costs over the burst are refused with stable codes", async () => {
      const unknown = await check({ policy: "nope", key });
      assert.equal(unknown?.statusCode, 404);
      assert.equal(unknown?.json().error.code, "policy_not_found");
      assert.match(unknown?.json().error.message, /'nope'.*declared: api, login/);
      const tooDear = await check({ policy: "api", key, cost: 4 });
      assert.equal(tooDear?.statusCode, 400);
      assert.equal(tooDear?.json().error.code, "invalid_argument");
      assert.equal((await check({ policy: "api" }))?.json().error.code, "invalid_argument");
      assert.equal((await check({ policy: "api", key, extra: 1 }))?.json().error.code, "unknown_option");
      assert.equal((await check({ policy: "a:b", key }))?.json().error.code, "invalid_argument");
    });

    test("needs the publish scope: a read token is refused", async () => {
      const read = await api?.engine.tokens.create({ name: "reader", scopes: ["read"], actor: "test" });
      const publish = await api?.engine.tokens.create({ name: "app", scopes: ["publish"], actor: "test" });
      const as = (token: string | undefined) =>
        api?.app.inject({
          method: "POST",
          url: "/v1/ratelimit/check",
          headers: { authorization: `Bearer ${token}` },
          payload: { policy: "api", key: `${key}:scoped` },
        });
      const refused = await as(read?.token);
      assert.equal(refused?.statusCode, 403);
      assert.equal(refused?.json().error.code, "forbidden");
      assert.equal((await as(publish?.token))?.statusCode, 200);
    });
  });
}

describe("configuration", () => {
  test("policies: in the config file become SDK policies; mistakes are reported with their path", async () => {
    const dir = tempDir("rl-config");
    writeFileSync(
      join(dir, "keel.config.json"),
      JSON.stringify({
        policies: { api: { limit: 100, window: 60, failMode: "fallback", expectedReplicas: 3 } },
      }),
    );
    const { config } = await loadConfigFile({ cwd: dir });
    assert.deepEqual(toPolicies(config.policies), [
      { name: "api", limit: 100, windowSeconds: 60, failMode: "fallback", expectedReplicas: 3 },
    ]);
    writeFileSync(
      join(dir, "keel.config.json"),
      JSON.stringify({
        policies: {
          ok: { limit: 1, window: 1 },
          fast: { limit: 5_000_000, window: 1 },
          typo: { limit: 1, windw: 1 },
          mode: { limit: 1, window: 1, failMode: "maybe" },
        },
      }),
    );
    await assert.rejects(loadConfigFile({ cwd: dir }), (err: { code: string; message: string }) => {
      assert.equal(err.code, "invalid_config");
      assert.match(err.message, /policies\.fast: limit must be at most 1,000,000 per second of window/);
      assert.match(err.message, /policies\.typo: unknown key windw/);
      assert.match(err.message, /policies\.mode\.failMode: /);
      return true;
    });
  });

  test("REDIS_URL: optional, a redis:// or rediss:// URL, never echoed", () => {
    assert.equal(loadEnv({}).redisUrl, undefined);
    assert.equal(loadEnv({ REDIS_URL: "redis://:pw@cache:6379/2" }).redisUrl, "redis://:pw@cache:6379/2");
    assert.throws(
      () => loadEnv({ REDIS_URL: "http://user:hunter2@cache" }),
      (err: Error) => /REDIS_URL is not a Redis URL/.test(err.message) && !err.message.includes("hunter2"),
    );
  });

  test("a started Keel answers the route with the file's policies", async () => {
    const dir = tempDir("rl-start");
    writeFileSync(
      join(dir, "keel.config.json"),
      JSON.stringify({ policies: { web: { limit: 1, window: 60 } } }),
    );
    const admin = "a".repeat(40);
    const keel = await startKeel({
      env: {
        DATABASE_URL: testDatabaseUrl(),
        KEEL_SCHEMA: freshSchema("rl"),
        PORT: "0",
        KEEL_ADMIN_TOKEN: admin,
        // The store decides, not the fail mode, however loaded the machine.
        KEEL_RATELIMIT_TIMEOUT_MS: "10000",
      },
      cwd: dir,
      host: "127.0.0.1",
      logger: memoryLogger().logger,
      role: "api",
    });
    try {
      const post = () =>
        fetch(`http://127.0.0.1:${keel.port}/v1/ratelimit/check`, {
          method: "POST",
          headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
          body: JSON.stringify({ policy: "web", key: "ip:203.0.113.9" }),
        });
      assert.equal(((await (await post()).json()) as { allowed: boolean }).allowed, true);
      const second = await post();
      assert.equal(((await second.json()) as { allowed: boolean }).allowed, false);
      assert.equal(second.headers.get("ratelimit-policy"), '"web";q=1;w=60');
      const metrics = await (await fetch(`http://127.0.0.1:${keel.port}/metrics`)).text();
      assert.match(metrics, /keel_ratelimit_decisions_total\{policy="web",outcome="denied"\} 1/);
    } finally {
      await keel.stop();
    }
  });
});
