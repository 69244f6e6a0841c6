import assert from "node:assert/strict";
import { test } from "node:test";
import { type Engine, MAINTENANCE_TASKS, type MaintenanceReport, startMaintenance } from "../src/index.js";
import { ManualClock } from "./clock.js";
import { guardLeaks, lapseLease, testEngine } from "./helpers.js";

// Each maintenance task the modules register runs through the periodic primitive and does its
// job on real rows. The clock is moved by hand; each run is awaited through its test signal.

guardLeaks();
const engine: Engine = await testEngine();
const S = `"${engine.schema}"`;

async function count(sql: string): Promise<number> {
  return (await engine.pool.query(`select count(*)::int as n from ${S}.${sql}`)).rows[0].n;
}

test("every module's task is registered: lease sweep and scan, job statistics, job retention, idempotency, intake, schedule-run, audit and flow-rate expiry", () => {
  assert.deepEqual(
    MAINTENANCE_TASKS.map((t) => [t.name, t.group, t.once]),
    [
      ["lease-sweep", "sweep", false],
      ["lease-scan", "sweep", true],
      ["job-statistics", "sweep", false],
      ["retention", "retention", true],
      ["idempotency-expiry", "retention", true],
      ["intake-event-expiry", "retention", true],
      ["schedule-run-expiry", "retention", true],
      ["audit-expiry", "retention", true],
      ["flow-rate-expiry", "retention", true],
    ],
  );
});

test("each registered task runs on its interval and removes what expired", async () => {
  // A job whose worker froze past its lease.
  const { id: frozen } = await engine.enqueue({ queue: "m", target: { handler: "h" } });
  await engine.claim({
    queue: "m",
    handlers: ["h"],
    limit: 1,
    leaseMs: 30_000,
    workerId: "w",
    limited: false,
  });
  await lapseLease(engine, frozen);
  // A job that succeeded 8 days ago (default retention: 7 days).
  const { id: old } = await engine.enqueue({ queue: "m2", target: { handler: "h" } });
  const claimed = await engine.claim({
    queue: "m2",
    handlers: ["h"],
    limit: 1,
    leaseMs: 30_000,
    workerId: "w",
    limited: false,
  });
  await engine.complete(claimed);
  await engine.pool.query(
    `update ${S}.job_history set finished_at = now() - interval '8 days' where id = $1`,
    [old],
  );
  // An expired Idempotency-Key record, a 31-day-old event of a removed source, a 31-day-old schedule run.
  await engine.pool.query(
    `insert into ${S}.idempotency_keys (scope, key, fingerprint, state, expires_at)
     values ('api', 'k1', 'f', 'completed', now() - interval '1 minute')`,
  );
  await engine.pool.query(
    `insert into ${S}.events (source, event_id, headers, body, verification, received_at)
     values ('gone', 'e1', '{}', '\\x00', '{}', now() - interval '31 days')`,
  );
  await engine.pool.query(
    `insert into ${S}.schedule_runs (schedule, fire_time, kind, outcome, decided_at)
     values ('nightly', now() - interval '31 days', 'cron', 'enqueued', now() - interval '31 days')`,
  );

  // A flow key idle for two minutes (its GCRA state holds nothing) and one still limited.
  await engine.pool.query(
    `insert into ${S}.flow_rates (queue, key, tat)
     values ('q', 'idle', now() - interval '2 minutes'), ('q', 'busy', now() + interval '1 second')`,
  );

  const clock = new ManualClock();
  const reports: MaintenanceReport[] = [];
  const maintenance = startMaintenance(engine, {
    clock,
    jitter: 0,
    sweepIntervalMs: 1_000,
    retentionIntervalMs: 60_000,
    onRun: (r) => reports.push(r),
  });
  try {
    const sweep = maintenance.task("lease-sweep");
    const swept = sweep.ran();
    clock.advance(1_000);
    const report = await swept;
    assert.deepEqual(report.ok && report.result, { requeued: 1, dead: 0 });
    assert.equal((await engine.getJob(frozen)).state, "available");

    const retention = [
      "retention",
      "idempotency-expiry",
      "intake-event-expiry",
      "schedule-run-expiry",
      "flow-rate-expiry",
    ];
    const runs = retention.map((name) => maintenance.task(name).ran());
    clock.advance(60_000);
    const results = await Promise.all(runs);
    for (const r of results) assert.ok(r.ok && r.result, `${r.task} ran: ${JSON.stringify(r)}`);
    assert.deepEqual(
      results.map((r) => [r.task, r.ok && r.result?.deleted]),
      [
        ["retention", 1],
        ["idempotency-expiry", 1],
        ["intake-event-expiry", 1],
        ["schedule-run-expiry", 1],
        ["flow-rate-expiry", 1],
      ],
    );
    assert.equal(await count(`job_history where id = ${Number(old)}`), 0);
    assert.equal(await count("idempotency_keys"), 0);
    assert.equal(await count("events"), 0);
    assert.equal(await count("schedule_runs"), 0);
    assert.equal(await count("flow_rates where key = 'busy'"), 1);
    assert.ok(reports.some((r) => r.group === "retention") && reports.some((r) => r.group === "sweep"));

    // Claimed once across replicas per interval: a second process asking at once is told to skip.
    const other = startMaintenance(engine, { sweep: false, immediate: true, clock: new ManualClock() });
    try {
      const skipped = await Promise.all(retention.map((name) => other.task(name).ran()));
      for (const r of skipped) assert.deepEqual(r.ok && r.result, null, `${r.task} skipped`);
    } finally {
      await other.stop();
    }
  } finally {
    await maintenance.stop();
  }
});

test("sweep and retention can each be left to other processes", async () => {
  const onlySweep = startMaintenance(engine, { retention: false, clock: new ManualClock() });
  const onlyRetention = startMaintenance(engine, { sweep: false, clock: new ManualClock() });
  try {
    assert.deepEqual([...onlySweep.tasks.keys()], ["lease-sweep", "lease-scan", "job-statistics"]);
    assert.deepEqual(
      [...onlyRetention.tasks.keys()],
      [
        "retention",
        "idempotency-expiry",
        "intake-event-expiry",
        "schedule-run-expiry",
        "audit-expiry",
        "flow-rate-expiry",
      ],
    );
    assert.throws(() => onlySweep.task("retention"), /not running in this process/);
  } finally {
    await Promise.all([onlySweep.stop(), onlyRetention.stop()]);
  }
});
