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
  /** Run by one process per interval across all replicas (claimed in `maintenance`), not by each. */
  once: boolean;
  /** One run; deletes in batches of at most `batch` rows so no transaction holds locks for long. */
  run(engine: Engine, batch: number): Promise<MaintenanceResult>;
}
