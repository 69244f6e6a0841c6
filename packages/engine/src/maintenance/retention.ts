import type { Engine } from "../engine.js";

/** How long decided schedule slots are kept: 30 days. */
const SCHEDULE_RUNS_SECONDS = 30 * 86_400;

export interface RetentionResult {
  deleted: number;
}

/**
 * Deletes finished jobs (and their attempts) past each queue's retention, in batches so no
 * transaction holds locks for long. Call through `runMaintenance` to run once across replicas.
 */
export async function runRetention(engine: Engine, batch = 5_000): Promise<RetentionResult> {
  const queues = await engine.run<{
    name: string;
    retention_succeeded_seconds: number;
    retention_dead_seconds: number;
  }>("queue_retention", []);
  let deleted = 0;
  for (const q of queues) {
    const passes: [string[], number][] = [
      [["succeeded"], q.retention_succeeded_seconds],
      [["dead", "cancelled"], q.retention_dead_seconds],
    ];
    for (const [states, seconds] of passes) {
      for (;;) {
        const [row] = await engine.run<{ deleted: number }>("retention_delete", [
          q.name,
          states,
          seconds,
          batch,
        ]);
        const n = row?.deleted ?? 0;
        deleted += n;
        if (n < batch) break;
      }
    }
  }
  deleted += await engine.idempotency.expire(batch);
  // Webhook events past their source's retention (30 days by default), oldest first per source.
  deleted += await engine.intake.events.expire(batch);
  for (;;) {
    const [row] = await engine.run<{ deleted: number }>("schedule_runs_expire", [
      SCHEDULE_RUNS_SECONDS,
      batch,
    ]);
    const n = row?.deleted ?? 0;
    deleted += n;
    if (n < batch) break;
  }
  return { deleted };
}

/** Runs retention if no replica has done so within `intervalMs`; returns null when skipped. */
export async function runMaintenance(engine: Engine, intervalMs = 60_000): Promise<RetentionResult | null> {
  if (!(await engine.claimMaintenance("retention", intervalMs))) return null;
  return runRetention(engine);
}
