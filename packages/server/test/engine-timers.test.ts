import assert from "node:assert/strict";
import { test } from "node:test";
import type { MaintenanceReport } from "@keel/engine";
import { testEngine } from "../../engine/test/helpers.js";
import { startEngineTimers } from "../src/runtime/engine-timers.js";
import { guardServerLeaks, memoryLogger } from "./helpers.js";

// The server's maintenance: every task at start, failures logged once per outage, recovery logged.

guardServerLeaks();

/** Resolves when `until` holds for the reports seen so far. */
function watcher() {
  const reports: MaintenanceReport[] = [];
  let waiting: { until: (r: MaintenanceReport[]) => boolean; resolve: () => void } | undefined;
  return {
    reports,
    onRun(report: MaintenanceReport) {
      reports.push(report);
      if (waiting?.until(reports)) waiting.resolve();
    },
    when(until: (r: MaintenanceReport[]) => boolean): Promise<void> {
      if (until(reports)) return Promise.resolve();
      return new Promise((resolve) => {
        waiting = { until, resolve };
      });
    },
  };
}

test("every maintenance task runs at start, without waiting an interval", async () => {
  const engine = await testEngine();
  const { logger } = memoryLogger();
  const w = watcher();
  const started = performance.now();
  const timers = startEngineTimers(engine, logger, { onRun: w.onRun });
  try {
    const names = [
      "lease-sweep",
      "retention",
      "idempotency-expiry",
      "intake-event-expiry",
      "schedule-run-expiry",
    ];
    await w.when((r) => names.every((n) => r.some((x) => x.task === n)));
    assert.ok(performance.now() - started < 30_000, "well before the 60 s retention interval");
    assert.ok(w.reports.every((r) => r.ok));
  } finally {
    await timers.stop();
  }
});

test("a failing task is logged once per outage, and its recovery once", async () => {
  const engine = await testEngine();
  const { logger, lines } = memoryLogger();
  const w = watcher();
  const S = `"${engine.schema}"`;
  // The sweep's table gone for a while: every sweep fails until it is back.
  await engine.pool.query(`alter table ${S}.jobs rename to jobs_away`);
  const timers = startEngineTimers(engine, logger, { sweepIntervalMs: 10, onRun: w.onRun });
  try {
    const sweeps = () => w.reports.filter((r) => r.task === "lease-sweep");
    await w.when(() => sweeps().filter((r) => !r.ok).length >= 3);
    await engine.pool.query(`alter table ${S}.jobs_away rename to jobs`);
    await w.when(() => sweeps().at(-1)?.ok === true);
    const about = lines.filter((l) => l.task === "lease-sweep").map((l) => l.msg);
    assert.deepEqual(about, ["lease-sweep failed; retrying", "lease-sweep recovered"]);
  } finally {
    await timers.stop();
  }
});
