import type { Engine } from "../engine.js";
import { deleteInBatches, type MaintenanceTask } from "../maintenance/task.js";

/**
 * Takes back jobs whose lease expired (a crashed or frozen worker). Every worker process sweeps:
 * the statement skips rows another process holds, and a job runs again within about its lease
 * plus this interval.
 */
export const leaseSweepTask: MaintenanceTask = {
  name: "lease-sweep",
  group: "sweep",
  intervalMs: 1_000,
  once: false,
  run: async (engine) => ({ ...(await engine.sweepExpiredLeases()) }),
};

/**
 * The lease sweep's safety net (decision 087): once across replicas every ten minutes, takes back
 * running jobs with a lapsed lease found by reading `jobs` itself, not `job_leases` (a sequential
 * scan): jobs that no lease row names, such as those claimed by an older Keel during a rolling
 * deploy. Its interval is its own, whatever `sweepIntervalMs` says.
 */
export const leaseScanTask: MaintenanceTask = {
  name: "lease-scan",
  group: "sweep",
  intervalMs: 600_000,
  fixedInterval: true,
  once: true,
  run: async (engine, batch) => ({ ...(await engine.scanExpiredLeases(Math.min(batch, 5_000))) }),
};

/**
 * Keeps the planner's count of `jobs` current: analyses the table once it has doubled since
 * Postgres last counted it, so that no cached plan keeps reading a table that has grown past
 * it (decision 066). A read of two catalog rows when nothing has changed.
 */
export const jobStatisticsTask: MaintenanceTask = {
  name: "job-statistics",
  group: "sweep",
  intervalMs: 1_000,
  once: false,
  run: async (engine) => ({ analyzed: (await engine.refreshJobStatistics()) ? 1 : 0 }),
};

/** Deletes finished jobs (and their attempts) past each queue's retention. */
export const jobRetentionTask: MaintenanceTask = {
  // The name older versions claim for all of retention: old and new replicas share the claim.
  name: "retention",
  group: "retention",
  intervalMs: 60_000,
  once: true,
  run: async (engine, batch) => ({ deleted: await deleteFinishedJobs(engine, batch) }),
};

/**
 * Deletes the GCRA state of flow keys that have been idle for over a minute (decision 051): one
 * row per key ever rate-limited would otherwise stay for good.
 */
export const flowRateExpiryTask: MaintenanceTask = {
  name: "flow-rate-expiry",
  group: "retention",
  intervalMs: 60_000,
  once: true,
  run: async (engine, batch) => ({ deleted: await deleteInBatches(engine, "flow_rates_expire", [], batch) }),
};

async function deleteFinishedJobs(engine: Engine, batch: number): Promise<number> {
  const queues = await engine.run<{
    name: string;
    retention_succeeded_seconds: number;
    retention_dead_seconds: number;
  }>("queue_retention", []);
  let deleted = 0;
  for (const q of queues) {
    // Succeeded jobs a job_finishes row at a time (decision 088): a batch ends at the row that
    // reaches `batch` jobs, and fewer named than that means none is left.
    for (;;) {
      const [row] = await engine.run<{ deleted: number; named: number }>("retention_delete_succeeded", [
        q.name,
        q.retention_succeeded_seconds,
        batch,
      ]);
      deleted += row?.deleted ?? 0;
      if ((row?.named ?? 0) < batch) break;
    }
    for (;;) {
      const [row] = await engine.run<{ deleted: number }>("retention_delete", [
        q.name,
        ["dead", "cancelled"],
        q.retention_dead_seconds,
        batch,
      ]);
      const n = row?.deleted ?? 0;
      deleted += n;
      if (n < batch) break;
    }
  }
  return deleted;
}
