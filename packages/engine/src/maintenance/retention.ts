import type { Engine } from "../engine.js";
import { MAINTENANCE_TASKS } from "./tasks.js";

export interface RetentionResult {
  deleted: number;
}

/**
 * Runs every retention task once now: finished jobs past their queue's retention, expired
 * Idempotency-Key records, webhook events and schedule runs, in batches of `batch` rows.
 * Processes run them periodically through `startMaintenance`.
 */
export async function runRetention(engine: Engine, batch = 5_000): Promise<RetentionResult> {
  let deleted = 0;
  for (const task of MAINTENANCE_TASKS) {
    if (task.group !== "retention") continue;
    deleted += (await task.run(engine, batch)).deleted ?? 0;
  }
  return { deleted };
}

/** Runs retention if no replica has done so within `intervalMs`; returns null when skipped. */
export async function runMaintenance(engine: Engine, intervalMs = 60_000): Promise<RetentionResult | null> {
  if (!(await engine.claimMaintenance("retention", intervalMs))) return null;
  return runRetention(engine);
}
