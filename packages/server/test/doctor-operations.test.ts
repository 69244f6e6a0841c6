import assert from "node:assert/strict";
import { test } from "node:test";
import { deadJobs, guardLeaks, testEngine } from "../../engine/test/helpers.js";
import { operationsChecks } from "../src/doctor/operations-checks.js";
import type { DoctorCheck } from "../src/doctor/types.js";

// The operations checks on a fresh schema, with the state they look for set directly: jobs that
// died, schedule runs whose jobs died, ready jobs nobody claimed.

guardLeaks();

const engine = await testEngine();
const S = `"${engine.schema}"`;
const check = async (id: string): Promise<DoctorCheck> => {
  const found = (await operationsChecks(engine)).find((c) => c.id === id);
  assert.ok(found, id);
  return found;
};

test("a fresh schema passes every operations check", async () => {
  for (const c of await operationsChecks(engine)) assert.equal(c.status, "pass", `${c.id}: ${c.seen}`);
});

test("dead letters: a few deaths warn, a surge over the hour before fails", async () => {
  await deadJobs(engine, "mail", 2);
  const few = await check("operations.dead_letters");
  assert.equal(few.status, "warn");
  assert.match(few.seen, /mail: 2 died in the last 1 h \(0 in the 1 h before\)/);
  await deadJobs(engine, "mail", 10);
  const surge = await check("operations.dead_letters");
  assert.equal(surge.status, "fail");
  assert.match(surge.fix ?? "", /keel queues retry-dead mail/);
  // Deaths that old are history, not growth.
  await engine.pool.query(`update ${S}.job_history set finished_at = now() - interval '3 hours'`);
  assert.equal((await check("operations.dead_letters")).status, "pass");
});

test("a schedule whose latest three runs died fails; one failed run warns", async () => {
  const target = { url: "https://app.example.com/api/cron/report" };
  await engine.schedules.upsert("report", { cron: "0 3 * * *", queue: "cron", target });
  await engine.schedules.upsert("digest", { cron: "0 4 * * *", queue: "cron", target });
  const dead = await deadJobs(engine, "cron", 4, { handler: "h" });
  const runs = [
    ["report", "2026-11-01T03:00:00Z", dead[0]],
    ["report", "2026-11-02T03:00:00Z", dead[1]],
    ["report", "2026-11-03T03:00:00Z", dead[2]],
    ["digest", "2026-11-02T04:00:00Z", null],
    ["digest", "2026-11-03T04:00:00Z", dead[3]],
  ];
  for (const [schedule, fireTime, jobId] of runs) {
    await engine.pool.query(
      `insert into ${S}.schedule_runs (schedule, fire_time, kind, outcome, job_id) values ($1, $2, 'cron', 'enqueued', $3)`,
      [schedule, fireTime, jobId],
    );
  }
  const failing = await check("operations.failing_schedules");
  assert.equal(failing.status, "fail");
  assert.match(failing.seen, /latest 3 runs of each of these schedules failed: report$/);
  assert.match(failing.fix ?? "", /keel schedules runs report/);

  // A later run of report that succeeded ends its streak; digest's latest still failed.
  const ok = await engine.enqueue({ queue: "cron", target: { handler: "h" } });
  await engine.pool.query(
    `insert into ${S}.schedule_runs (schedule, fire_time, kind, outcome, job_id) values ('report', '2026-11-04T03:00:00Z', 'cron', 'enqueued', $1)`,
    [ok.id],
  );
  const one = await check("operations.failing_schedules");
  assert.equal(one.status, "warn");
  assert.match(one.seen, /the latest run failed: digest$/);
  await engine.cancel(ok.id);
});

test("ready jobs nobody claimed for 5 minutes fail, unless the queue is paused or switched off", async () => {
  await engine.enqueueMany([
    { queue: "orphan", target: { handler: "h" } },
    { queue: "orphan", target: { url: "https://app.example.com/hook" } },
    { queue: "resting", target: { handler: "h" } },
    { queue: "off", target: { handler: "h" } },
  ]);
  await engine.pauseQueue("resting");
  await engine.switches.set("process:off", false);
  // Not yet: ready for less than the threshold.
  assert.equal((await check("operations.unserved_queues")).status, "pass");
  await engine.pool.query(
    `update ${S}.jobs set run_at = now() - interval '10 minutes' where queue in ('orphan', 'resting', 'off')`,
  );
  const unserved = await check("operations.unserved_queues");
  assert.equal(unserved.status, "fail");
  assert.match(unserved.seen, /^orphan: 2 ready, the oldest for 6\d\d s, nothing claimed$/);
  assert.match(unserved.fix ?? "", /keel start in role all or worker/);
  // A queue some worker served within the window is served.
  const [claimed] = await engine.claim({
    queue: "orphan",
    handlers: ["h"],
    limit: 1,
    leaseMs: 30_000,
    workerId: "w",
    // It holds an HTTP job, keyed by host (flow control): the limited claim serves it.
    limited: true,
  });
  assert.ok(claimed);
  assert.equal((await check("operations.unserved_queues")).status, "pass");
  await engine.complete([claimed]);
  assert.equal((await check("operations.unserved_queues")).status, "pass", "it finished a job just now");
});
