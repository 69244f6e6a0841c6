import { type Engine, runMaintenance } from "@keel/engine";
import type { Logger } from "pino";

export interface EngineTimerOptions {
  /** How often expired leases are taken back. Default 1 s. */
  sweepIntervalMs?: number;
  /** How often retention is attempted (it runs once per minute across all replicas). Default 60 s. */
  maintenanceIntervalMs?: number;
}

export interface EngineTimers {
  /** Clears the timers and waits for a run in progress. */
  stop(): Promise<void>;
}

/**
 * The engine's periodic work in a worker process: sweeping expired leases back to their
 * queues, and retention. Each task runs again only after the previous run finished, so a
 * slow database never piles runs up; failures are logged once per outage, not every second.
 */
export function startEngineTimers(
  engine: Engine,
  logger: Logger,
  options: EngineTimerOptions = {},
): EngineTimers {
  const tasks = [
    every("lease sweep", options.sweepIntervalMs ?? 1_000, logger, async () => {
      const { requeued, dead } = await engine.sweepExpiredLeases();
      if (requeued + dead > 0) logger.info({ requeued, dead }, "expired leases swept");
    }),
    every("retention", options.maintenanceIntervalMs ?? 60_000, logger, async () => {
      const result = await runMaintenance(engine);
      if (result && result.deleted > 0)
        logger.info({ deleted: result.deleted }, "retention removed finished jobs");
    }),
  ];
  return { stop: async () => void (await Promise.all(tasks.map((t) => t.stop()))) };
}

function every(name: string, intervalMs: number, logger: Logger, run: () => Promise<void>): EngineTimers {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  let failing = false;
  const tick = () => {
    running = run().then(
      () => {
        if (failing) logger.info({ task: name }, `${name} recovered`);
        failing = false;
      },
      (err: unknown) => {
        if (!failing) logger.warn({ task: name, err: (err as Error).message }, `${name} failed; retrying`);
        failing = true;
      },
    );
    void running.then(() => {
      if (!stopped) timer = setTimeout(tick, intervalMs);
    });
  };
  // First run right away: a process restarted often must still sweep and clean up.
  tick();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
