import type { CronSchedule } from "./cron.js";
import type { MissedPolicy, OverlapPolicy, RunKind, SkipReason } from "./types.js";

/** Ranges of missed slots are counted up to this many; beyond, the count is left null. */
const COUNT_LIMIT = 10_000;

/** A slot decision to record; `tenant` is '' for a schedule without fan-out. */
export interface PlannedRun {
  fireTime: Date;
  tenant: string;
  kind: RunKind;
  outcome: "enqueued" | "queued" | "skipped";
  reason: SkipReason | null;
  lastFireTime: Date | null;
  skippedCount: number | null;
}

export interface PlanInput {
  cron: CronSchedule;
  /** The cursor: the earliest slot not yet decided. */
  nextFireAt: Date;
  now: Date;
  /** Slots older than now − grace are missed (downtime) and follow the missed policy. */
  graceMs: number;
  missed: MissedPolicy;
  backfillSeconds: number;
  overlap: OverlapPolicy;
  /** Why slots are skipped right now (pause or the scheduling switch), or null. */
  blocked: "paused" | "switch" | null;
  /** A queue switch refuses the schedule's jobs. */
  enqueueDisabled: boolean;
  tenants: string[];
  /** Tenants whose previous run is unfinished (updated as runs are planned). */
  busy: Set<string>;
  /** Queued runs per tenant, oldest first (overlap `queue`). */
  queued: Map<string, { fireTime: Date; kind: RunKind }[]>;
  /** Most slots decided per call; the rest wait for the next call. */
  maxSlots: number;
}

export interface Plan {
  runs: PlannedRun[];
  /** Queued runs whose turn came: enqueue them now. */
  released: { fireTime: Date; tenant: string; kind: RunKind }[];
  nextFireAt: Date;
  /** Slots were left for another call (maxSlots reached). */
  more: boolean;
}

/**
 * Decides a schedule's due slots. Pure: the caller holds the schedule's row lock, records the
 * runs (a slot already recorded is never recorded twice) and enqueues the jobs of the runs that
 * are new and `enqueued`.
 */
export function planSlots(input: PlanInput): Plan {
  const { cron, now } = input;
  const runs: PlannedRun[] = [];
  const released: Plan["released"] = [];
  const busy = input.busy;

  // Queued runs first: the oldest of each tenant whose previous run has finished.
  if (input.overlap === "queue" && input.blocked === null && !input.enqueueDisabled) {
    for (const [tenant, waiting] of input.queued) {
      const first = waiting[0];
      if (first && !busy.has(tenant)) {
        released.push({ fireTime: first.fireTime, tenant, kind: first.kind });
        busy.add(tenant);
      }
    }
  }

  let cursor: Date | null = input.nextFireAt;
  const cutoff = new Date(now.getTime() - input.graceMs);
  const fire: Date[] = [];
  let more = false;

  if (cursor <= now && cursor < cutoff) {
    // Slots before the cutoff passed while no scheduler decided them.
    const lastMissed = cron.previous(cutoff);
    const firstOnTime = cron.next(new Date(cutoff.getTime() - 1));
    if (lastMissed && lastMissed >= cursor) {
      if (input.missed === "all") {
        const windowStart = new Date(now.getTime() - input.backfillSeconds * 1000);
        let from = cursor;
        if (cursor < windowStart) {
          const lastOld = cron.previous(windowStart);
          if (lastOld && lastOld >= cursor) {
            runs.push(...skippedRange(cron, cursor, lastOld, input.tenants));
          }
          from = cron.next(new Date(windowStart.getTime() - 1)) ?? windowStart;
        }
        let slot: Date | null = from;
        while (slot && slot < cutoff && fire.length < input.maxSlots) {
          fire.push(slot);
          slot = cron.next(slot);
        }
        if (slot && slot < cutoff) more = true;
        cursor = slot;
      } else {
        const keep = input.missed === "latest" ? lastMissed : null;
        const lastSkipped = keep ? cron.previous(keep) : lastMissed;
        if (lastSkipped && lastSkipped >= cursor) {
          runs.push(...skippedRange(cron, cursor, lastSkipped, input.tenants));
        }
        if (keep) fire.push(keep);
        cursor = firstOnTime;
      }
    } else {
      // The cursor is not itself a slot (the expression changed under it): start from now.
      cursor = firstOnTime;
    }
  }

  while (!more && cursor && cursor <= now && fire.length < input.maxSlots) {
    fire.push(cursor);
    cursor = cron.next(cursor);
  }
  if (cursor && cursor <= now) more = true;

  for (const fireTime of fire) {
    for (const tenant of input.tenants) runs.push(decide(input, fireTime, tenant));
  }
  // A schedule that fires no more parks its cursor far in the future.
  const nextFireAt = cursor ?? new Date("9999-12-31T00:00:00Z");
  return { runs, released, nextFireAt, more };
}

function decide(input: PlanInput, fireTime: Date, tenant: string): PlannedRun {
  const run = (outcome: PlannedRun["outcome"], reason: SkipReason | null): PlannedRun => ({
    fireTime,
    tenant,
    kind: "cron",
    outcome,
    reason,
    lastFireTime: null,
    skippedCount: null,
  });
  if (input.blocked) return run("skipped", input.blocked);
  if (input.enqueueDisabled) return run("skipped", "enqueue_disabled");
  const busy = input.busy.has(tenant);
  if (input.overlap === "skip" && busy) return run("skipped", "overlap");
  if (input.overlap === "queue" && (busy || (input.queued.get(tenant)?.length ?? 0) > 0)) {
    const waiting = input.queued.get(tenant) ?? [];
    waiting.push({ fireTime, kind: "cron" });
    input.queued.set(tenant, waiting);
    return run("queued", null);
  }
  input.busy.add(tenant);
  return run("enqueued", null);
}

/** One `skipped`/`missed` run per tenant covering the slots from `first` to `last`. */
function skippedRange(cron: CronSchedule, first: Date, last: Date, tenants: string[]): PlannedRun[] {
  let count = 1;
  let slot: Date | null = first;
  while (slot && slot < last && count <= COUNT_LIMIT) {
    slot = cron.next(slot);
    if (slot && slot <= last) count++;
  }
  const skippedCount = count > COUNT_LIMIT ? null : count;
  return tenants.map((tenant) => ({
    fireTime: first,
    tenant,
    kind: "cron" as const,
    outcome: "skipped" as const,
    reason: "missed" as const,
    lastFireTime: last,
    skippedCount,
  }));
}
