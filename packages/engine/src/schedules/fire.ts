import type { Client } from "../db/mutation.js";
import type { Engine } from "../engine.js";
import type { JobState, JobTarget } from "../queue/types.js";
import { type EnqueueRow, validateEnqueue } from "../queue/validate.js";
import { CronSchedule } from "./cron.js";
import { type PlannedRun, planSlots } from "./plan.js";
import type { FanOut, MissedPolicy, OverlapPolicy, RunKind, SkipReason } from "./types.js";
import { jobInput, type ScheduleJobOptions } from "./validate.js";

/** A schedules row as the statements return it. */
export interface ScheduleRow {
  name: string;
  cron: string;
  timezone: string;
  queue: string;
  target: JobTarget;
  payload: unknown;
  job_options: ScheduleJobOptions;
  missed: MissedPolicy;
  backfill_seconds: number;
  overlap: OverlapPolicy;
  fan_out: FanOut | null;
  jitter_seconds: number;
  managed_by: "config" | "api";
  next_fire_at: Date;
  created_at: Date;
  updated_at: Date;
}

/** What one decided slot did, for metrics and logs. */
export interface FireEvent {
  schedule: string;
  kind: RunKind;
  outcome: "enqueued" | "queued" | "skipped";
  reason: SkipReason | null;
  /** Slots this event stands for (a skipped range counts its slots when known). */
  slots: number;
  /** Seconds from the slot's time to the decision, for cron slots enqueued. */
  latenessSeconds: number | null;
}

export interface DecideOptions {
  now: Date;
  graceMs: number;
  /** Most jobs one schedule makes per transaction. */
  maxJobs: number;
}

/** A run to record together with the job it makes, when it makes one. */
export interface RunToWrite extends PlannedRun {
  schedule: string;
  job?: EnqueueRow;
  /** An already recorded (queued or paused) run that now gets its job. */
  existing?: boolean;
  /** Set by writeRuns: the run was recorded now (or existed and got its job). */
  written?: boolean;
}

const key = (schedule: string, fireTime: Date, tenant: string) =>
  `${schedule}\u0000${fireTime.getTime()}\u0000${tenant}`;

/**
 * Decides the due slots of the locked schedules `rows` and writes the result in the caller's
 * transaction: runs first (the primary key drops any slot already decided), then one job per
 * new `enqueued` run, then the cursors. Returns what happened, for metrics.
 */
export async function decideSlots(
  engine: Engine,
  client: Client,
  rows: ScheduleRow[],
  options: DecideOptions,
): Promise<{ events: FireEvent[]; more: boolean }> {
  if (rows.length === 0) return { events: [], more: false };
  const state = await loadState(engine, client, rows);
  const writes: RunToWrite[] = [];
  const cursors: { name: string; next_fire_at: string }[] = [];
  let more = false;
  for (const row of rows) {
    const tenants = tenantsOf(row, state.registry);
    const busy = new Set(state.busy.get(row.name) ?? []);
    const plan = planSlots({
      cron: new CronSchedule(row.cron, row.timezone),
      nextFireAt: row.next_fire_at,
      now: options.now,
      graceMs: options.graceMs,
      missed: row.missed,
      backfillSeconds: row.backfill_seconds,
      overlap: row.overlap,
      blocked: state.off.has("scheduling")
        ? "switch"
        : state.off.has(`scheduling:${row.name}`)
          ? "paused"
          : null,
      enqueueDisabled: state.off.has(`enqueue:${row.queue}`),
      tenants,
      busy,
      queued: state.queued.get(row.name) ?? new Map(),
      maxSlots: Math.max(1, Math.floor(options.maxJobs / tenants.length)),
    });
    more ||= plan.more;
    cursors.push({ name: row.name, next_fire_at: plan.nextFireAt.toISOString() });
    for (const run of plan.runs) {
      writes.push({
        ...run,
        schedule: row.name,
        job: run.outcome === "enqueued" ? jobRow(engine, row, run.fireTime, run.tenant, "cron") : undefined,
      });
    }
    for (const r of plan.released) {
      writes.push({
        fireTime: r.fireTime,
        tenant: r.tenant,
        kind: r.kind,
        outcome: "enqueued",
        reason: null,
        lastFireTime: null,
        skippedCount: null,
        schedule: row.name,
        existing: true,
        job: jobRow(engine, row, r.fireTime, r.tenant, r.kind),
      });
    }
  }
  await writeRuns(engine, client, writes);
  await engine.runOn(client, "schedule_advance", [JSON.stringify(cursors)]);
  return { events: writes.filter((w) => w.written).map((w) => toEvent(w, options.now)), more };
}

interface State {
  off: Set<string>;
  busy: Map<string, string[]>;
  queued: Map<string, Map<string, { fireTime: Date; kind: RunKind }[]>>;
  registry: string[];
}

async function loadState(engine: Engine, client: Client, rows: ScheduleRow[]): Promise<State> {
  const names = rows.map((r) => r.name);
  const switches = [
    "scheduling",
    ...names.map((n) => `scheduling:${n}`),
    ...rows.map((r) => `enqueue:${r.queue}`),
  ];
  const off = new Set(
    (await engine.runOn<{ name: string }>(client, "disabled_switches", [switches])).map((r) => r.name),
  );
  const busy = new Map<string, string[]>();
  const overlapping = rows.filter((r) => r.overlap !== "allow").map((r) => r.name);
  if (overlapping.length > 0) {
    for (const b of await engine.runOn<{ schedule: string; tenant: string }>(client, "schedule_busy", [
      overlapping,
    ])) {
      busy.set(b.schedule, [...(busy.get(b.schedule) ?? []), b.tenant]);
    }
  }
  const queued = new Map<string, Map<string, { fireTime: Date; kind: RunKind }[]>>();
  const queueing = rows.filter((r) => r.overlap === "queue").map((r) => r.name);
  if (queueing.length > 0) {
    const waiting = await engine.runOn<{ schedule: string; tenant: string; fire_time: Date; kind: RunKind }>(
      client,
      "schedule_queued",
      [queueing],
    );
    for (const w of waiting) {
      const byTenant = queued.get(w.schedule) ?? new Map();
      byTenant.set(w.tenant, [...(byTenant.get(w.tenant) ?? []), { fireTime: w.fire_time, kind: w.kind }]);
      queued.set(w.schedule, byTenant);
    }
  }
  const registry = rows.some((r) => r.fan_out && "registry" in r.fan_out)
    ? (await engine.runOn<{ id: string }>(client, "tenant_list", [])).map((t) => t.id)
    : [];
  return { off, busy, queued, registry };
}

/** The tenants a schedule fans out over; [''] without fan-out. */
export function tenantsOf(row: Pick<ScheduleRow, "fan_out">, registry: string[]): string[] {
  if (!row.fan_out) return [""];
  return "registry" in row.fan_out ? registry : row.fan_out.tenants;
}

/** The validated enqueue row of one run's job. */
export function jobRow(
  engine: Engine,
  row: ScheduleRow,
  fireTime: Date,
  tenant: string,
  kind: RunKind,
): EnqueueRow {
  const input = jobInput(
    { queue: row.queue, target: row.target, payload: row.payload, jobOptions: row.job_options ?? {} },
    tenant === "" ? null : tenant,
  );
  const jitterMs = row.jitter_seconds > 0 ? Math.floor(Math.random() * row.jitter_seconds * 1000) : 0;
  const runAt = kind === "cron" ? new Date(fireTime.getTime() + jitterMs) : undefined;
  return validateEnqueue(
    {
      ...input,
      ...(runAt ? { runAt } : jitterMs > 0 ? { delayMs: jitterMs } : {}),
      origin: {
        schedule: row.name,
        fireTime: fireTime.toISOString(),
        trigger: kind,
        // Decided here, from the row: an API caller cannot mark its own jobs (decision 026).
        ...(row.managed_by === "config" ? { config: true as const } : {}),
      },
    },
    0,
    { payloadLimitBytes: engine.payloadLimitBytes },
  );
}

/**
 * Records runs and makes their jobs. New runs are inserted first; only those the insert
 * returns (never decided before) get a job. Existing runs (queued, backfilled) are updated.
 */
export async function writeRuns(engine: Engine, client: Client, writes: RunToWrite[]): Promise<void> {
  const fresh = writes.filter((w) => !w.existing);
  const inserted = new Set<string>();
  if (fresh.length > 0) {
    const rows = await engine.runOn<{ schedule: string; fire_time: Date; tenant: string }>(
      client,
      "schedule_runs_insert",
      [
        JSON.stringify(
          fresh.map((w) => ({
            schedule: w.schedule,
            fire_time: w.fireTime.toISOString(),
            tenant: w.tenant,
            kind: w.kind,
            outcome: w.outcome,
            reason: w.reason,
            last_fire_time: w.lastFireTime?.toISOString() ?? null,
            skipped_count: w.skippedCount,
          })),
        ),
      ],
    );
    for (const r of rows) inserted.add(key(r.schedule, r.fire_time, r.tenant));
  }
  for (const w of writes)
    w.written = w.existing === true || inserted.has(key(w.schedule, w.fireTime, w.tenant));
  const withJobs = writes.filter((w) => w.written && w.job);
  if (withJobs.length === 0) return;
  const jobs = withJobs.map((w, ord) => ({ ...(w.job as EnqueueRow), ord }));
  const made = await engine.runOn<{ ord: number; id: string; state: JobState }>(client, "enqueue", [
    JSON.stringify(jobs),
  ]);
  if (made.length !== jobs.length) {
    // A queue switch turned off between reading the switches and enqueueing: roll back, and
    // the next tick decides these slots again with the switch in view.
    throw new Error("schedule jobs were refused by the enqueue statement; retrying on the next tick");
  }
  const ids = new Map(made.map((m) => [m.ord, m.id]));
  await engine.runOn(client, "schedule_runs_update", [
    JSON.stringify(
      withJobs.map((w, ord) => ({
        schedule: w.schedule,
        fire_time: w.fireTime.toISOString(),
        tenant: w.tenant,
        outcome: "enqueued",
        reason: w.kind === "backfill" ? null : w.reason,
        job_id: ids.get(ord),
        kind: w.kind,
      })),
    ),
  ]);
}

function toEvent(w: RunToWrite, now: Date): FireEvent {
  return {
    schedule: w.schedule,
    kind: w.kind,
    outcome: w.outcome,
    reason: w.reason,
    slots: w.reason === "missed" ? (w.skippedCount ?? 1) : 1,
    latenessSeconds:
      w.outcome === "enqueued" && w.kind === "cron" && !w.existing
        ? Math.max(0, (now.getTime() - w.fireTime.getTime()) / 1000)
        : null,
  };
}
