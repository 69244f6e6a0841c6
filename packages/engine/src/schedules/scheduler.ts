import { transaction } from "../db/pool.js";
import { Engine } from "../engine.js";
import { track } from "../internal/resources.js";
import { decideSlots, type FireEvent, type ScheduleRow } from "./fire.js";

/** The longest sleep after failed checks (Postgres away): slots fire soon after it returns. */
const MAX_ERROR_SLEEP_MS = 2_000;

export interface SchedulerOptions {
  engine: Engine;
  /**
   * The clock slots are decided by. Default: the database's clock, the same for every replica.
   * Tests inject an accelerated clock; every replica must then share it.
   */
  now?: () => Date;
  /** Longest sleep between checks, ms (default 1000); with `now` injected, the check interval. */
  tickMs?: number;
  /** A slot older than this when first seen was missed (downtime) and follows the schedule's
   * missed policy; younger late slots simply fire. Default 60 s. */
  graceMs?: number;
  /** Schedules decided per transaction. Default 20. */
  batchSize?: number;
  /** Most jobs one schedule makes per transaction. Default 2000. */
  maxJobs?: number;
  /** False: no background loop; slots are decided only by calling `tick` (tests, one-off runs). */
  autoStart?: boolean;
  hooks?: {
    /** Every decided slot (or skipped range), after its transaction committed. */
    onFire?: (event: FireEvent) => void;
    onError?: (err: unknown) => void;
    /** A tick (and the look at when to tick next) that ended without error. */
    onTick?: () => void;
  };
}

export interface Scheduler {
  /** Stops after the current check; resolves when it has. */
  stop(): Promise<void>;
  /** Runs one check now (decides every due slot); resolves with what it decided. */
  tick(): Promise<FireEvent[]>;
}

/**
 * Fires cron schedules. Run any number of schedulers on one database: each slot still makes
 * exactly one job, because a schedule's slots are decided under its row lock (`for update skip
 * locked`) and recorded under a primary key `(schedule, fire_time, tenant)` in the same
 * transaction as the jobs; a scheduler that dies mid-way rolls everything back.
 *
 * @example
 * const scheduler = createScheduler({ engine });
 * // … on shutdown
 * await scheduler.stop();
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const { engine } = options;
  if (!(engine instanceof Engine)) throw new TypeError("createScheduler needs an engine");
  const tickMs = options.tickMs ?? 1_000;
  const graceMs = options.graceMs ?? 60_000;
  const batchSize = options.batchSize ?? 20;
  const maxJobs = options.maxJobs ?? 2_000;
  let stopped = false;
  let wake: (() => void) | undefined;
  const untrack = track("scheduler", {});

  /** One transaction: lock due schedules, decide their slots. */
  const decideBatch = async (): Promise<{ events: FireEvent[]; more: boolean }> => {
    const injected = options.now?.() ?? null;
    return transaction(engine.pool, async (client) => {
      const rows = await engine.runOn<ScheduleRow & { now: Date }>(client, "schedule_due", [
        injected,
        batchSize,
      ]);
      if (rows.length === 0) return { events: [], more: false };
      const now = injected ?? (rows[0] as { now: Date }).now;
      const result = await decideSlots(engine, client, rows, { now, graceMs, maxJobs });
      return { events: result.events, more: result.more || rows.length === batchSize };
    });
  };

  const tick = async (): Promise<FireEvent[]> => {
    const all: FireEvent[] = [];
    for (;;) {
      const { events, more } = await decideBatch();
      for (const e of events) {
        all.push(e);
        options.hooks?.onFire?.(e);
      }
      if (!more || stopped) return all;
    }
  };

  /** How long to sleep: until the earliest cursor, at most tickMs (always tickMs with an injected clock). */
  const pause = async (): Promise<number> => {
    if (options.now) return tickMs;
    const [row] = await engine.run<{ wait_ms: number | null; queued: boolean }>("schedule_soonest", []);
    if (!row || row.wait_ms === null || row.queued) return tickMs;
    return Math.min(tickMs, Math.max(5, Math.ceil(row.wait_ms)));
  };

  const loop = (async () => {
    if (options.autoStart === false) return;
    let failures = 0;
    while (!stopped) {
      let sleep = tickMs;
      try {
        await tick();
        sleep = await pause();
        failures = 0;
        options.hooks?.onTick?.();
      } catch (err) {
        failures++;
        options.hooks?.onError?.(err);
        // Backs off, but never past a few seconds: once Postgres is back, slots must fire
        // again within seconds, not after a 30 s sleep begun during the outage.
        sleep = Math.min(Math.max(tickMs, MAX_ERROR_SLEEP_MS), tickMs * 2 ** Math.min(failures, 5));
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, sleep);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  })();

  return {
    tick,
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      untrack();
    },
  };
}
