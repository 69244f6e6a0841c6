import type { Backoff, JobTarget } from "../queue/types.js";

/** What to do with slots that passed while no scheduler ran (after the grace period). */
export type MissedPolicy = "latest" | "all" | "skip";
/** What to do when a slot comes while the previous run of the schedule is unfinished. */
export type OverlapPolicy = "allow" | "skip" | "queue";

/** One job per tenant per slot: a fixed list, or every tenant in the registry. */
export type FanOut = { tenants: string[] } | { registry: true };

/**
 * A schedule as written in the config file or sent to `PUT /v1/schedules/:name`.
 *
 * @example
 * { cron: "0 9 * * 1-5", timezone: "Europe/London", fanOut: { tenants: ["acme", "globex"] },
 *   target: { url: "https://crm.example.com/cron/chase", headers: { "X-Company-Id": "{{tenant}}" } } }
 */
export interface ScheduleDefinition {
  /** Five fields (minute hour day month weekday), or six with seconds first. */
  cron: string;
  /** IANA time zone the expression is read in. Default `UTC`. */
  timezone?: string;
  /** `{handler}` or `{url, method?, headers?}`; `{{tenant}}` in the URL and headers is filled per fan-out job. */
  target: JobTarget;
  /** Queue of the jobs. Default `default`. */
  queue?: string;
  /** JSON payload of every job (the request body for URL targets). Default null. */
  payload?: unknown;
  priority?: number;
  maxAttempts?: number;
  backoff?: Backoff;
  /** Every job's flow key (docs/flow-control.md); `{{tenant}}` is filled per fan-out job. */
  flowKey?: string;
  /** Most running jobs with that key. */
  flowConcurrency?: number;
  /** Default `latest`: fire the most recent missed slot once. */
  missed?: MissedPolicy;
  /** With `missed: all`, how far back missed slots are still fired, seconds. Default 86400 (a day). */
  backfillSeconds?: number;
  /** Default `allow`. */
  overlap?: OverlapPolicy;
  fanOut?: FanOut;
  /** Delay each job by a random 0..jitterSeconds to spread load. Default 0. */
  jitterSeconds?: number;
}

/** A stored schedule. */
export interface ScheduleInfo
  extends Required<
    Omit<
      ScheduleDefinition,
      "fanOut" | "backoff" | "priority" | "maxAttempts" | "flowKey" | "flowConcurrency"
    >
  > {
  name: string;
  fanOut: FanOut | null;
  priority: number | null;
  maxAttempts: number | null;
  backoff: Backoff | null;
  flowKey: string | null;
  flowConcurrency: number | null;
  /** `config`: declared in the config file (changed there); `api`: made through the API or CLI. */
  managedBy: "config" | "api";
  /** Off through `pause` (the `scheduling:<name>` switch). */
  paused: boolean;
  /** The next slot the scheduler will decide. */
  nextFireAt: Date;
  createdAt: Date;
  updatedAt: Date;
}

export type RunKind = "cron" | "manual" | "backfill";
export type RunOutcome = "enqueued" | "queued" | "skipped";
export type SkipReason = "paused" | "switch" | "overlap" | "missed" | "enqueue_disabled";

/** One decided slot of a schedule (one per tenant with fan-out). */
export interface ScheduleRun {
  schedule: string;
  fireTime: Date;
  /** Null when the schedule does not fan out. */
  tenant: string | null;
  kind: RunKind;
  outcome: RunOutcome;
  reason: SkipReason | null;
  /** A range of missed slots skipped together ends here (`reason: missed`). */
  lastFireTime: Date | null;
  /** How many slots a skipped range holds, when counted (up to 10,000). */
  skippedCount: number | null;
  jobId: string | null;
  /** The job's state now, when it still exists. */
  jobState: string | null;
  decidedAt: Date;
}

/** The outcome of syncing the config file's schedules. */
export interface SyncResult {
  created: string[];
  updated: string[];
  removed: string[];
  unchanged: string[];
}
