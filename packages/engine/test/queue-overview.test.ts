import assert from "node:assert/strict";
import { test } from "node:test";
import type { Engine } from "../src/index.js";
import { deadJobs, guardLeaks, testEngine } from "./helpers.js";

guardLeaks();
const engine: Engine = await testEngine();
const S = `"${engine.schema}"`;

test("queueOverview counts exactly, caps the last hour's counts and says which reached the cap", async () => {
  await deadJobs(engine, "ov", 3);
  await engine.enqueue({ queue: "ov", target: { handler: "h" } });
  // One dead job finished two hours ago: in the total, not in the last hour.
  await engine.pool.query(
    `update ${S}.job_history set finished_at = now() - interval '2 hours'
     where id = (select min(id) from ${S}.job_history where queue = 'ov')`,
  );
  const [exact] = await engine.queueOverview();
  assert.deepEqual(
    {
      dead: exact?.counts.dead,
      available: exact?.counts.available,
      capped: exact?.capped,
      lastHour: exact?.lastHour,
    },
    { dead: 3, available: 1, capped: [], lastHour: { succeeded: 0, dead: 2 } },
  );
  const [capped] = await engine.queueOverview(1);
  assert.deepEqual(
    { dead: capped?.counts.dead, lastHour: capped?.lastHour, capped: capped?.capped },
    { dead: 3, lastHour: { succeeded: 0, dead: 1 }, capped: ["dead"] },
  );
  await assert.rejects(engine.queueOverview(0), /cap/);
});
