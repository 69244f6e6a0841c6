import assert from "node:assert/strict";
import { test } from "node:test";
import type { Engine } from "../src/index.js";
import { deadJobs, guardLeaks, testEngine } from "./helpers.js";

guardLeaks();
const engine: Engine = await testEngine();
const S = `"${engine.schema}"`;

test("failures group by error code and message shape, with counts over the last hour, day and week", async () => {
  // Same shape: numbers, quoted strings, UUIDs and hex ids vary.
  for (const [i, message] of [
    'connect ECONNREFUSED 10.0.0.1:5432 for "acct_1"',
    "connect ECONNREFUSED 10.0.0.7:5433 for 'acct_99'",
    'connect ECONNREFUSED 192.168.1.1:6543 for "x"',
  ].entries()) {
    await deadJobs(engine, "fg", 1, { error: { code: "conn", message } });
    if (i === 0) {
      await engine.pool.query(
        `update ${S}.job_history set finished_at = now() - interval '2 days' where queue = 'fg' and state = 'dead'`,
      );
    }
  }
  await deadJobs(engine, "fg", 2, {
    error: { code: "http_500", message: "order 6f1c2a3b-0c5e-4f7a-9d2e-1b3c4d5e6f70 failed at 0xdeadbeef1" },
  });
  await deadJobs(engine, "fg", 1, { error: { code: "conn", message: "certificate expired" } });
  const groups = await engine.failureGroups({ queue: "fg" });
  const byShape = Object.fromEntries(groups.map((g) => [g.shape, g]));
  assert.deepEqual(Object.keys(byShape).sort(), [
    "conn: certificate expired",
    "conn: connect ECONNREFUSED <n>.<n>.<n>.<n>:<n> for <str>",
    "http_500: order <uuid> failed at <hex>",
  ]);
  const conn = byShape["conn: connect ECONNREFUSED <n>.<n>.<n>.<n>:<n> for <str>"];
  assert.deepEqual(conn?.counts, { lastHour: 2, lastDay: 2, lastWeek: 3 });
  assert.match(conn?.fingerprint ?? "", /^[0-9a-f]{12}$/);
  assert.equal(conn?.example, 'connect ECONNREFUSED 192.168.1.1:6543 for "x"');
  assert.equal(conn?.capped, false);

  // The dry run counts the group, the retry takes exactly it, and the audit row says which.
  const filter = { fingerprint: conn?.fingerprint as string };
  assert.equal(await engine.countDead("fg", filter), 3);
  assert.equal(await engine.countDead("fg", { errorCode: "conn" }), 4);
  assert.equal(await engine.countDead("fg", { errorCode: "conn", olderThanSeconds: 86_400 }), 1);
  assert.equal(await engine.retryDead("fg", undefined, { by: "test" }, filter), 3);
  assert.equal(await engine.countDead("fg"), 3);
  const { rows } = await engine.pool.query(
    `select details from ${S}.audit_log where action = 'queue.retry_dead' order by id desc limit 1`,
  );
  assert.deepEqual(rows[0].details, { retried: 3, filter });
  assert.equal(await engine.purgeDead("fg", undefined, {}, { errorCode: "http_500" }), 2);
  assert.deepEqual(
    (await engine.failureGroups({ queue: "fg" })).map((g) => g.shape),
    ["conn: certificate expired"],
  );
  await assert.rejects(engine.countDead("fg", { fingerprint: "nope" }), /fingerprint/);
});

test("failure groups read at most cap dead jobs per queue and say so", async () => {
  await deadJobs(engine, "fg-cap", 3, { error: { message: "job 1 failed" } });
  const [group] = await engine.failureGroups({ queue: "fg-cap", cap: 2 });
  assert.deepEqual({ week: group?.counts.lastWeek, capped: group?.capped }, { week: 2, capped: true });
});
