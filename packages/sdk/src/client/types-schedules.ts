import type { Backoff, Target } from "./types.js";

// The shapes of /v1/schedules and /v1/tenants (checked against the contracts like types.ts).

/** One job per tenant per slot: a fixed list, or every tenant in the registry. */
export type FanOut = { tenants: string[] } | { registry: true };

/** `PUT /v1/schedules/:name`: the whole definition. */
export interface ScheduleInput {
  /** Five fields, or six with seconds first. */
  cron: string;
  /** IANA zone. Default UTC. */
  timezone?: string;
  /** `{{tenant}}` in the URL and headers is filled per fan-out job. */
  target: Target;
  /** Default `default`. */
  queue?: string;
  payload?: unknown;
  priority?: number;
  maxAttempts?: number;
  backoff?: Backoff;
  /** Slots missed during downtime: fire the latest (default), all (within backfillSeconds), or skip. */
  missed?: "latest" | "all" | "skip";
  /** Default 86400. */
  backfillSeconds?: number;
  /** While the previous run is unfinished: run anyway (default), skip the slot, or queue it. */
  overlap?: "allow" | "skip" | "queue";
  fanOut?: FanOut;
  jitterSeconds?: number;
}

export interface Schedule {
  name: string;
  cron: string;
  timezone: string;
  target: unknown;
  queue: string;
  payload: unknown;
  priority: number | null;
  maxAttempts: number | null;
  backoff: unknown;
  missed: "latest" | "all" | "skip";
  backfillSeconds: number;
  overlap: "allow" | "skip" | "queue";
  fanOut: unknown;
  jitterSeconds: number;
  /** `config` schedules are changed in the config file. */
  managedBy: "config" | "api";
  paused: boolean;
  nextFireAt: string;
  createdAt: string;
  updatedAt: string;
}

/** One decided slot of a schedule. */
export interface ScheduleRun {
  fireTime: string;
  tenant: string | null;
  kind: "cron" | "manual" | "backfill";
  outcome: "enqueued" | "queued" | "skipped";
  reason: "paused" | "switch" | "overlap" | "missed" | "enqueue_disabled" | null;
  /** A skipped range of missed slots ends here. */
  lastFireTime: string | null;
  skippedCount: number | null;
  jobId: string | null;
  jobState: string | null;
  decidedAt: string;
}

export interface ScheduleRunPage {
  runs: ScheduleRun[];
  nextCursor: string | null;
}

export interface ListScheduleRunsQuery {
  limit?: number;
  /** The previous page's `nextCursor`. */
  before?: string;
}

export interface ResumeScheduleInput {
  /** Run the latest slot skipped by the pause, or all of them (within backfillSeconds). */
  backfill?: "latest" | "all";
}

export interface ScheduleTriggered {
  fireTime: string;
  jobs: { tenant: string | null; jobId: string }[];
}

export interface Tenant {
  id: string;
  createdAt: string;
}
