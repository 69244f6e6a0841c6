import { type Engine, type MaintenanceReport, startMaintenance } from "@keel/engine";
import type { Logger } from "pino";

export interface EngineTimerOptions {
  /** How often expired leases are taken back. Default 1 s. */
  sweepIntervalMs?: number;
  /** How often retention is attempted (each task runs once per interval across all replicas). Default 60 s. */
  maintenanceIntervalMs?: number;
  /** After every maintenance run: a test signal. */
  onRun?(report: MaintenanceReport): void;
}

export interface EngineTimers {
  /** Stops the tasks and waits for runs in progress. */
  stop(): Promise<void>;
}

/**
 * The engine's maintenance in a worker process (lease sweeping, retention and expiry), logged:
 * what a run removed, and failures once per outage rather than every second.
 */
export function startEngineTimers(
  engine: Engine,
  logger: Logger,
  options: EngineTimerOptions = {},
): EngineTimers {
  const failing = new Set<string>();
  return startMaintenance(engine, {
    sweepIntervalMs: options.sweepIntervalMs,
    retentionIntervalMs: options.maintenanceIntervalMs,
    // A process restarted often must still sweep and clean up.
    immediate: true,
    onRun: (report) => {
      logRun(logger, report, failing);
      options.onRun?.(report);
    },
  });
}

function logRun(logger: Logger, report: MaintenanceReport, failing: Set<string>): void {
  const { task } = report;
  if (!report.ok) {
    if (!failing.has(task))
      logger.warn({ task, err: (report.error as Error).message }, `${task} failed; retrying`);
    failing.add(task);
    return;
  }
  if (failing.delete(task)) logger.info({ task }, `${task} recovered`);
  const result = report.result;
  if (!result) return;
  if (task === "lease-sweep" || task === "lease-scan") {
    if ((result.requeued ?? 0) + (result.dead ?? 0) > 0)
      logger.info({ task, requeued: result.requeued, dead: result.dead }, "expired leases swept");
  } else if (task === "job-statistics") {
    if ((result.analyzed ?? 0) > 0) logger.info({ task }, "jobs table analysed after it grew");
  } else if ((result.deleted ?? 0) > 0) {
    logger.info({ task, deleted: result.deleted }, "maintenance removed expired rows");
  }
}
