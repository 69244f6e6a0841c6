import {
  createWorker,
  type Engine,
  type JobContext,
  NonRetryableError,
  type ScheduleDefinition,
  type Worker,
  type WorkerOptions,
} from "@keel/engine";
import type { BackupsConfig } from "../config/backups.js";
import { runDrill } from "./drill.js";
import { backupNow } from "./dump.js";
import { BACKUP_HANDLER, BACKUP_QUEUE, BACKUP_SCHEDULE, DRILL_HANDLER, DRILL_SCHEDULE } from "./names.js";
import { getBackup } from "./records.js";
import { backupTargets, type KeelDatabase } from "./targets.js";

/**
 * The schedules `backups:` asks for, synced with the file's `schedules:` (config-managed: removed
 * when the section goes). A slot still running when the next comes is skipped; a missed slot runs
 * once. A failed backup is retried twice (after about 1 and 2 minutes); a failed drill is a
 * finding, recorded and not retried.
 *
 * @example
 * await engine.schedules.sync({ ...config.schedules, ...backupSchedules(config.backups) });
 */
export function backupSchedules(config: BackupsConfig | undefined): Record<string, ScheduleDefinition> {
  const out: Record<string, ScheduleDefinition> = {};
  const common = { queue: BACKUP_QUEUE, overlap: "skip", missed: "latest" } as const;
  if (config?.schedule) {
    out[BACKUP_SCHEDULE] = {
      ...config.schedule,
      ...common,
      target: { handler: BACKUP_HANDLER },
      maxAttempts: 3,
      backoff: { type: "exponential", baseMs: 60_000, maxMs: 900_000 },
    };
  }
  if (config?.drills.schedule) {
    out[DRILL_SCHEDULE] = {
      ...config.drills.schedule,
      ...common,
      target: { handler: DRILL_HANDLER },
      maxAttempts: 1,
    };
  }
  return out;
}

export interface BackupWorkerOptions {
  engine: Engine;
  config: BackupsConfig;
  /** Where `${VARIABLE}` references (the app's database URL) are read. */
  env: NodeJS.ProcessEnv;
  keel: KeelDatabase;
  /** Passed to the engine Worker as is (lease, hooks, shutdown deadline). */
  worker?: Omit<WorkerOptions, "engine" | "queues" | "handlers" | "concurrency">;
}

/**
 * The built-in handlers `keel.backup` and `keel.drill`: each runs every target of
 * `backups.what` in turn, as `keel backup now` and `keel backup drill` do. They accept only jobs
 * their config-managed schedule made (the engine marks those; an API caller cannot), so a
 * token that may publish jobs cannot start dumps.
 */
export function backupHandlers(options: Omit<BackupWorkerOptions, "worker">) {
  const { engine, config, env, keel } = options;
  return {
    [BACKUP_HANDLER]: async (ctx: JobContext) => {
      fromSchedule(ctx, BACKUP_SCHEDULE);
      const done: { id: string; target: string; sizeBytes: number | null }[] = [];
      let failure: unknown;
      for (const target of backupTargets(config, env, keel)) {
        try {
          const b = await backupNow(engine, config, target, env, ctx.signal);
          done.push({ id: b.id, target: b.target, sizeBytes: b.sizeBytes });
        } catch (err) {
          failure ??= err;
        }
      }
      if (failure) throw failure;
      return { backups: done };
    },
    [DRILL_HANDLER]: async (ctx: JobContext) => {
      fromSchedule(ctx, DRILL_SCHEDULE);
      const drills: { id: string; target: string; restoreMs: number; dataAgeSeconds: number }[] = [];
      let failure: unknown;
      for (const { name } of backupTargets(config, env, keel)) {
        if (!(await getBackup(engine, undefined, name))) continue;
        try {
          const d = await runDrill(engine, config, env, keel, name);
          drills.push({
            id: d.id,
            target: d.target,
            restoreMs: d.restoreMs,
            dataAgeSeconds: d.dataAgeSeconds,
          });
        } catch (err) {
          failure ??= err;
        }
      }
      if (failure) throw failure;
      if (drills.length === 0) {
        throw new NonRetryableError("no successful backup to drill yet: run keel backup now first");
      }
      return { drills };
    },
  };
}

/**
 * Serves `keel.backups` with the two handlers, one job at a time, in the roles that run the
 * delivery worker (`all`, `worker`), when `backups:` is configured. Stop it with `stop()`.
 *
 * @example
 * const worker = await startBackupWorker({ engine, config: file.backups, env: process.env, keel });
 * await worker.stop();
 */
export async function startBackupWorker(options: BackupWorkerOptions): Promise<Worker> {
  const worker = createWorker({
    ...options.worker,
    engine: options.engine,
    queues: [BACKUP_QUEUE],
    concurrency: 1,
    handlers: backupHandlers(options),
  });
  await worker.start();
  return worker;
}

function fromSchedule(ctx: JobContext, schedule: string): void {
  const origin = ctx.job.origin;
  if (origin?.config === true && origin.schedule === schedule) return;
  throw new NonRetryableError(
    `${ctx.handler} runs only from the config's schedule ${schedule} (backups: in the config file); trigger it with: keel schedules trigger ${schedule}`,
  );
}
