import assert from "node:assert/strict";
import { test } from "node:test";
import { freshSchema, testDatabaseUrl, waitFor } from "../../engine/test/helpers.js";
import { LOOP_FAILURES_UNREADY } from "../src/http/loop-health.js";
import { startKeel } from "../src/runtime/start.js";
import { get, guardServerLeaks, memoryLogger } from "./helpers.js";

guardServerLeaks();

test("readiness fails while Keel's own loops keep failing though Postgres answers, and recovers with them", async () => {
  const { logger } = memoryLogger();
  const schema = freshSchema("loops");
  const keel = await startKeel({
    env: { DATABASE_URL: testDatabaseUrl(), KEEL_SCHEMA: schema, PORT: "0" },
    host: "127.0.0.1",
    logger,
  });
  const ready = () => get(`http://127.0.0.1:${keel.port}/health/ready`);
  try {
    assert.equal((await ready())?.status, 200);
    // A table gone from under Keel (a hand edit, a bad restore): `select 1` and the migration
    // check still pass, every claim and lease sweep fails.
    await keel.engine.pool.query(`alter table "${schema}".jobs rename to jobs_away`);
    const unready = await waitFor(
      async () => {
        const res = await ready();
        // The lease sweep fails as fast as the claim loop: wait for the claim loop's entry.
        return res?.status === 503 && JSON.stringify(res.body).includes('"componentId":"claim"')
          ? res
          : undefined;
      },
      30_000,
      "readiness to fail",
    );
    const loops =
      (
        unready.body.checks as Record<
          string,
          { componentId: string; status: string; observedValue: number; output: string }[]
        >
      )["keel:loops"] ?? [];
    const claim = loops.find((c) => c.componentId === "claim");
    assert.ok(claim, JSON.stringify(unready.body));
    assert.equal(claim.status, "fail");
    assert.ok(claim.observedValue >= LOOP_FAILURES_UNREADY);
    assert.match(claim.output, /claiming jobs for delivery keeps failing: .*jobs/);
    await keel.engine.pool.query(`alter table "${schema}".jobs_away rename to jobs`);
    await waitFor(async () => (await ready())?.status === 200, 30_000, "readiness to pass again");
  } finally {
    await keel.stop();
  }
});
