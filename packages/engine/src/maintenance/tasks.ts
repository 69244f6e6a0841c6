import { auditExpiryTask } from "../audit/maintenance.js";
import type { Engine } from "../engine.js";
import { idempotencyExpiryTask } from "../idempotency/maintenance.js";
import { intakeEventExpiryTask } from "../intake/maintenance.js";
import { track } from "../internal/resources.js";
import {
  flowRateExpiryTask,
  jobRetentionTask,
  jobStatisticsTask,
  leaseScanTask,
  leaseSweepTask,
} from "../queue/maintenance.js";
import { scheduleRunExpiryTask } from "../schedules/maintenance.js";
import { type Clock, PeriodicTask, type RunReport } from "./periodic.js";
import type { MaintenanceResult, MaintenanceTask } from "./task.js";

/** Every maintenance task, each defined by the module that owns its table. */
export const MAINTENANCE_TASKS: readonly MaintenanceTask[] = [
  leaseSweepTask,
  leaseScanTask,
  jobStatisticsTask,
  jobRetentionTask,
  idempotencyExpiryTask,
  intakeEventExpiryTask,
  scheduleRunExpiryTask,
  auditExpiryTask,
  flowRateExpiryTask,
];

/** A run's report; `result` is null when another replica had run the task within its interval. */
export type MaintenanceReport = RunReport<MaintenanceResult | null> & { group: MaintenanceTask["group"] };

export interface MaintenanceOptions {
  /** Sweep expired leases in this process. Default true. */
  sweep?: boolean;
  /** Default 1 s. */
  sweepIntervalMs?: number;
  /** Run retention and expiry (each once across replicas per interval). Default true. */
  retention?: boolean;
  /** Default 60 s. */
  retentionIntervalMs?: number;
  /** First runs at start rather than after one interval: a process restarted often still cleans up. Default false. */
  immediate?: boolean;
  /** Rows per delete statement. Default 5,000. */
  batch?: number;
  jitter?: number;
  clock?: Clock;
  random?: () => number;
  /** After every run of every task: logs, metrics, and a test signal. */
  onRun?(report: MaintenanceReport): void;
}

/**
 * The engine's background upkeep in this process: one `PeriodicTask` per maintenance task.
 *
 * @example
 * const maintenance = startMaintenance(engine, { onRun: (r) => r.ok || log.warn(r.error) });
 * process.on("SIGTERM", () => maintenance.stop());
 */
export function startMaintenance(engine: Engine, options: MaintenanceOptions = {}): Maintenance {
  return new Maintenance(engine, options);
}

export class Maintenance {
  /** The running tasks by name; `ran()` on one is the end of its next run. */
  readonly tasks: ReadonlyMap<string, PeriodicTask<MaintenanceResult | null>>;
  private readonly untrack: () => void;

  constructor(engine: Engine, options: MaintenanceOptions) {
    const tasks = new Map<string, PeriodicTask<MaintenanceResult | null>>();
    const jitter = options.jitter ?? 0.1;
    const batch = options.batch ?? 5_000;
    for (const task of MAINTENANCE_TASKS) {
      if (task.group === "sweep" ? options.sweep === false : options.retention === false) continue;
      const intervalMs = task.fixedInterval
        ? task.intervalMs
        : ((task.group === "sweep" ? options.sweepIntervalMs : options.retentionIntervalMs) ??
          task.intervalMs);
      // Jitter may bring a replica's next run a little early: claim with that much slack, or a
      // lone process would find its own claim unexpired and skip every other run.
      const claimMs = Math.floor(intervalMs * (1 - jitter));
      const periodic = new PeriodicTask<MaintenanceResult | null>({
        name: task.name,
        intervalMs,
        jitter,
        immediate: options.immediate,
        clock: options.clock,
        random: options.random,
        run: async () => {
          if (task.once && !(await engine.claimMaintenance(task.name, claimMs))) return null;
          return task.run(engine, batch);
        },
        onRun: (report) => options.onRun?.({ ...report, group: task.group }),
      });
      tasks.set(task.name, periodic.start());
    }
    this.tasks = tasks;
    this.untrack = track("maintenance", this);
  }

  /** The running task `name`; throws when it is not running here. */
  task(name: string): PeriodicTask<MaintenanceResult | null> {
    const task = this.tasks.get(name);
    if (!task) throw new RangeError(`maintenance task ${name} is not running in this process`);
    return task;
  }

  /** Stops every task and waits for runs in progress. */
  async stop(): Promise<void> {
    await Promise.all([...this.tasks.values()].map((t) => t.stop()));
    this.untrack();
  }
}
