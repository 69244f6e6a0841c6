import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { freshSchema, onCleanup, testDatabaseUrl, waitFor } from "../../engine/test/helpers.js";
import { startOwnRedis } from "../../sdk/test/fixtures/ratelimit-redis-server.js";
import type { HealthReport } from "../src/http/health.js";
import { startKeel } from "../src/runtime/start.js";
import { guardServerLeaks, memoryLogger } from "./helpers.js";

// With REDIS_URL set, /health says whether Redis answers (it said `pass` with Redis killed):
// `warn` by default, and a failing readiness with KEEL_REDIS_REQUIRED=true. A Redis of the
// test's own, never the shared one.

guardServerLeaks();
const hasRedisServer = spawnSync("redis-server", ["--version"]).status === 0;
const skip = hasRedisServer || process.env.CI === "true" ? false : "redis-server is not installed";

async function health(
  port: number | undefined,
  path: string,
): Promise<{ status: number; body: HealthReport }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: (await res.json()) as HealthReport };
}

for (const required of [false, true]) {
  test(`Redis killed and restarted: /health ${required ? "and /health/ready fail" : "warns"} (KEEL_REDIS_REQUIRED=${required})`, {
    skip,
  }, async () => {
    const redis = await startOwnRedis();
    const keel = await startKeel({
      env: {
        DATABASE_URL: testDatabaseUrl(),
        KEEL_SCHEMA: freshSchema("hredis"),
        REDIS_URL: redis.url,
        KEEL_REDIS_REQUIRED: String(required),
      },
      role: "api",
      port: 0,
      host: "127.0.0.1",
      logger: memoryLogger().logger,
      showGeneratedToken: () => {},
    });
    onCleanup(() => keel.stop());
    const up = await waitFor(async () => {
      const h = await health(keel.port, "/health");
      return h.body.checks["redis:responseTime"]?.[0]?.status === "pass" ? h : undefined;
    });
    assert.equal(up.status, 200);
    assert.equal(up.body.status, "pass");

    await redis.signal("SIGKILL");
    const down = await health(keel.port, "/health");
    const check = down.body.checks["redis:responseTime"]?.[0];
    assert.equal(check?.status, required ? "fail" : "warn", JSON.stringify(down.body));
    assert.equal(down.body.status, required ? "fail" : "warn");
    assert.equal(down.status, required ? 503 : 200);
    const ready = await health(keel.port, "/health/ready");
    assert.equal(ready.status, required ? 503 : 200, "readiness depends on Redis only when it is required");
    assert.equal(ready.body.checks["redis:responseTime"]?.[0]?.status, required ? "fail" : undefined);

    await redis.restart();
    await waitFor(
      async () =>
        (await health(keel.port, "/health")).body.checks["redis:responseTime"]?.[0]?.status === "pass",
      10_000,
      "Redis check passes again after the restart",
    );
  });
}
