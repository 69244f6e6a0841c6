import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { testDatabaseUrl } from "../packages/engine/test/helpers.js";
import { SCENARIOS } from "./scenarios/index.js";

// Every benchmark scenario at tiny size, so the harness keeps working; figures are not checked
// (performance is measured by `npm run bench`, never in tests).
const redisUrl = process.env.KEEL_TEST_REDIS_URL;

describe("benchmark scenarios run (smoke)", () => {
  test("the issue's eight scenarios, flow control's (issue 17) and pressure (issue 18) are all registered", () => {
    assert.deepEqual(
      SCENARIOS.map((s) => s.name),
      [
        "enqueue",
        "process",
        "pickup",
        "delivery",
        "intake",
        "ratelimit",
        "memory",
        "cron",
        "flow",
        "pressure",
      ],
    );
  });
  for (const scenario of SCENARIOS) {
    test(scenario.name, { skip: scenario.needsRedis && !redisUrl ? "needs Redis" : false }, async () => {
      const rows = await scenario.run({
        smoke: true,
        databaseUrl: testDatabaseUrl(),
        redisUrl,
        log: () => {},
      });
      assert.ok(rows.length > 0, "a scenario reports at least one figure");
      for (const r of rows) {
        assert.equal(r.scenario, scenario.name);
        assert.ok(Number.isFinite(r.value) && r.value >= 0, `${r.system} ${r.metric}: ${r.value}`);
      }
    });
  }
});
