import type { StatementName } from "../db/statements.js";
import type { Engine } from "../engine.js";

/** What a maintenance run did, by count: `{ requeued, dead }`, `{ deleted }`. */
export type MaintenanceResult = Record<string, number>;

/**
 * A piece of background upkeep, defined by the module that owns the table it cleans and run
 * through `PeriodicTask` by `startMaintenance`.
 */
export interface MaintenanceTask {
  /** Unique; also the task's row in the `maintenance` table when `once`. */
  name: string;
  /** `sweep`: lease sweeping, wanted often in every worker process; `retention`: deleting what expired. */
  group: "sweep" | "retention";
  /** Default time between runs. */
  intervalMs: number;
  /** `intervalMs` holds whatever interval the options give the task's group. */
  fixedInterval?: boolean;
  /** Run by one process per interval across all replicas (claimed in `maintenance`), not by each. */
  once: boolean;
  /** One run; deletes in batches of at most `batch` rows so no transaction holds locks for long. */
  run(engine: Engine, batch: number): Promise<MaintenanceResult>;
}

/**
 * Runs a delete statement (its last parameter the batch size, returning `{ deleted }`) until a
 * batch comes back short; returns how many rows went in all.
 *
 * @example
 * await deleteInBatches(engine, "schedule_runs_expire", [30 * 86_400], 5_000);
 */
export async function deleteInBatches(
  engine: Engine,
  statement: StatementName,
  params: unknown[],
  batch: number,
): Promise<number> {
  let deleted = 0;
  for (;;) {
    const [row] = await engine.run<{ deleted: number }>(statement, [...params, batch]);
    const n = row?.deleted ?? 0;
    deleted += n;
    if (n < batch) return deleted;
  }
}
