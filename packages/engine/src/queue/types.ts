import type { FlowSettingsInput } from "@keel/protocol/contracts";
import type { JobState } from "@keel/protocol/names";
import type { MutationOptions } from "../db/mutation.js";
import type { KeyedWrite } from "../idempotency/idempotency.js";

/** A queue's flow control: a key expression and the limits per key value. */
export type FlowSettings = FlowSettingsInput;

/** Where a job goes: a named handler in a Node pull worker, or an HTTP endpoint. */
export type JobTarget = HandlerTarget | HttpTarget;

export interface HandlerTarget {
  handler: string;
}

export interface HttpTarget {
  url: string;
  /** Defaults to POST. */
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Sent with the request; `${VAR}` is read from the environment at delivery time. */
  headers?: Record<string, string>;
  /**
   * Most milliseconds one attempt may take (1 s – 1 h). Wins over the queue's
   * `deliveryTimeoutMs`, which wins over the deliverer's default of 30 s.
   */
  timeoutMs?: number;
  /** Default `standard` (Standard Webhooks); `qstash` adds an `Upstash-Signature` JWT. */
  signing?: "standard" | "qstash";
  /** Send the payload with this Content-Type: a string verbatim, anything else as JSON. */
  contentType?: string;
}

/** How long to wait before the next attempt after a failure. */
export type Backoff =
  /** base × 2^(attempt−1), capped at max, with equal jitter (half fixed, half random) unless `jitter: false`. */
  | { type: "exponential"; baseMs?: number; maxMs?: number; jitter?: boolean }
  | { type: "fixed"; delayMs: number }
  /** delaysMs[attempt−1]; the last entry repeats. */
  | { type: "list"; delaysMs: readonly number[] };

export interface EnqueueInput<P = unknown> {
  /** Queue name; created with default settings on first use. Defaults to `default`. */
  queue?: string;
  target: JobTarget;
  payload?: P;
  /** Run no earlier than this many milliseconds from now (database clock). */
  delayMs?: number;
  /** Run no earlier than this instant. Exclusive with delayMs. */
  runAt?: Date | string;
  /** Higher runs first; default 0. */
  priority?: number;
  /** Total tries before the job is dead; defaults to the queue's setting. */
  maxAttempts?: number;
  backoff?: Backoff;
  /** While a job with this key is unfinished in the queue, enqueueing again returns it. */
  dedupeKey?: string;
  /** Groups jobs for per-tenant concurrency limits. */
  tenant?: string;
  /** The job's flow key value; wins over the queue's `flow.key` expression (docs/flow-control.md). */
  flowKey?: string;
  /** Most running jobs with this job's flow key; wins over the queue's `flow.concurrency`. */
  flowConcurrency?: number;
  /** At most one job per key queued or running: `drop` (default) returns the existing one, `queue` keeps one to run next. */
  singleton?: { key: string; mode?: "drop" | "queue" };
  /** Replace the pending job with this key and run after `quietMs` without another (trailing), at most `maxWaitMs` after the first. */
  debounce?: { key: string; quietMs: number; maxWaitMs?: number };
  /** What created the job (set by the scheduler and webhook intake; not accepted by the HTTP API). */
  origin?: JobOrigin;
}

/**
 * Where a job came from. A schedule slot: `schedule` and `fireTime` (the slot's time, or the
 * trigger time of a manual run), sent to HTTP targets as `keel-schedule` and `keel-fire-time`.
 * An intake event: `source` and `event` (the stored event's id).
 */
export interface JobOrigin {
  schedule?: string;
  fireTime?: string;
  trigger?: "cron" | "manual" | "backfill";
  source?: string;
  event?: string;
  /**
   * Made from a schedule or source route declared in the config file (set by the scheduler and
   * webhook intake from the schedule's or source's `managedBy`; the HTTP API cannot set it). Such
   * jobs may read the `${VAR}`s the config file names (decision 026).
   */
  config?: true;
}

export type { JobState };
export type LiveState = Extract<JobState, "scheduled" | "available" | "running">;
export type FinalState = Exclude<JobState, LiveState>;

export interface EnqueueResult {
  id: string;
  state: JobState;
  /** True when an unfinished job with the same dedupe key was returned instead of a new one. */
  deduplicated: boolean;
}

/** `enqueue`'s options: a mutation's, and the Idempotency-Key record its job completes. */
export interface EnqueueOptions extends MutationOptions {
  /**
   * A key begun with `engine.idempotency.begin` (state `started`): its response is stored in
   * the transaction that writes the job, so a retry finds either both or neither.
   */
  idempotency?: KeyedWrite<EnqueueResult>;
}

/** A job leased to a worker. `leaseToken` proves ownership when completing it. */
export interface ClaimedJob {
  id: string;
  queue: string;
  handler: string;
  target: JobTarget;
  payload: unknown;
  priority: number;
  attempt: number;
  maxAttempts: number;
  backoff: Backoff | null;
  tenant: string | null;
  dedupeKey: string | null;
  leaseToken: string;
  leaseUntil: Date;
  runAt: Date;
  createdAt: Date;
  origin: JobOrigin | null;
  /**
   * `runAt` in microseconds since the epoch, exact; from claims of unlimited queues, where the
   * worker keeps its claim cursor (decision 054).
   */
  runAtUs?: string;
}

export interface JobError {
  code?: string;
  message: string;
  name?: string;
  stack?: string;
}

/** What an HTTP delivery attempt saw; recorded with the attempt. */
export interface AttemptDetail {
  responseStatus?: number | null;
  latencyMs?: number | null;
  /** The first 16 KiB of the response body. */
  responseBody?: string | null;
}

export interface Attempt extends AttemptDetail {
  attempt: number;
  workerId: string | null;
  outcome: "succeeded" | "failed" | "lease_expired" | "released" | "cancelled";
  error: JobError | null;
  startedAt: Date;
  finishedAt: Date;
}

/** A job in a list: the record without payload and attempts. */
export type JobSummary = Omit<JobRecord, "payload" | "attempts" | "backoff" | "leaseUntil" | "workerId">;

export interface JobRecord {
  id: string;
  queue: string;
  target: JobTarget;
  state: JobState;
  payload: unknown;
  priority: number;
  attempt: number;
  maxAttempts: number;
  backoff: Backoff | null;
  dedupeKey: string | null;
  tenant: string | null;
  lastError: JobError | null;
  runAt: Date;
  createdAt: Date;
  leaseUntil: Date | null;
  workerId: string | null;
  finishedAt: Date | null;
  origin: JobOrigin | null;
  attempts: Attempt[];
}

export interface QueueSettings {
  /** Most jobs of this queue running at once across all workers; null for no limit. */
  concurrency?: number | null;
  /** Most jobs of one tenant running at once in this queue; null for no limit. Short for `flow: { key: "tenant", concurrency }`. */
  tenantConcurrency?: number | null;
  /** Flow control per key value: concurrency and rate (docs/flow-control.md); null for none. */
  flow?: FlowSettings | null;
  maxAttempts?: number;
  backoff?: Backoff | null;
  /** How long succeeded jobs stay in history, seconds (default 7 days). */
  retentionSucceededSeconds?: number;
  /** How long dead and cancelled jobs stay in history, seconds (default 30 days). */
  retentionDeadSeconds?: number;
  /** HTTP attempt timeout for this queue's jobs whose target sets none, ms (1 s – 1 h); null: 30 s. */
  deliveryTimeoutMs?: number | null;
}

export interface QueueInfo extends Required<QueueSettings> {
  name: string;
  paused: boolean;
  counts: Record<JobState, number>;
  /** Seconds since the oldest ready job became ready; 0 when none waits. */
  oldestReadyAgeSeconds: number;
}

/**
 * A queue as the console's pages show it (`engine.queueOverview`): its totals, and its last
 * hour's counts capped, so a page costs the same on any history.
 */
export interface QueueOverview extends QueueInfo {
  /** Last-hour counts that reached the cap: the true count is at least that. */
  capped: ("succeeded" | "dead")[];
  /** Jobs finished in the last hour (each capped). */
  lastHour: { succeeded: number; dead: number };
}

/**
 * Which dead jobs of a queue a bulk retry, purge or dry-run count touches; every field given
 * must match (none: every dead job).
 */
export interface DeadFilter {
  /** Error fingerprint, as `engine.failureGroups` reports it (12 hex digits). */
  fingerprint?: string;
  /** The error's `code`. */
  errorCode?: string;
  /** Died at least this many seconds ago. */
  olderThanSeconds?: number;
  tenant?: string;
}

/** What `engine.listJobs` narrows to; every field given must match. */
export interface ListJobsFilter {
  queue?: string;
  state?: JobState;
  tenant?: string;
  /** A handler name; `@http` for HTTP targets. */
  handler?: string;
  /** The host of an HTTP target's URL (case-insensitive). */
  host?: string;
  dedupeKey?: string;
  /** Created at or after. */
  createdFrom?: Date | string;
  /** Created before. */
  createdTo?: Date | string;
  /** The page after this cursor: an earlier page's `nextCursor`, or a job id. */
  before?: string;
  /** 1–1000, default 50. */
  limit?: number;
}

/** A page of `engine.listJobsPage`: `nextCursor` resumes after it, null after a short page. */
export interface JobPage {
  jobs: JobSummary[];
  nextCursor: string | null;
}

/** One tenant's unfinished jobs in a queue (`engine.tenantBacklog`); tenant null: jobs without one. */
export interface TenantBacklog {
  tenant: string | null;
  available: number;
  scheduled: number;
  running: number;
  total: number;
}

/** Dead jobs of one queue sharing an error fingerprint (`engine.failureGroups`). */
export interface FailureGroup {
  queue: string;
  /** 12 hex digits: the MD5 of `shape`; `DeadFilter.fingerprint` selects the group. */
  fingerprint: string;
  /** The error's code and its message with strings, UUIDs, hex and numbers replaced by placeholders. */
  shape: string;
  /** The newest message of the group as it was, and its job. */
  example: string | null;
  exampleId: string;
  /** Jobs of the group that died in the last hour, day and week. */
  counts: { lastHour: number; lastDay: number; lastWeek: number };
  lastSeen: Date;
  /** The queue had more dead jobs in the week than were read: counts are at least these. */
  capped: boolean;
}

/** The handler column value of HTTP targets; handler names cannot start with '@'. */
export const HTTP_HANDLER = "@http";

/** What a worker reads of a queue for its claims and attempts (`engine.queueLimits`). */
export interface QueueLimits {
  /** The queue has a concurrency or per-tenant limit (claims then take the limited path). */
  limited: boolean;
  /** Paused, or its `process:<queue>` switch is off. */
  paused: boolean;
  /** HTTP attempt timeout; null: the deliverer's default. */
  deliveryTimeoutMs: number | null;
  /** Milliseconds between starts of one key value under the queue's flow rate; null: no rate. */
  flowRateIntervalMs: number | null;
  /** The queue sets a key expression (a worker's `keyConcurrency`/`keyRate` do not apply to it). */
  keyExpression: boolean;
}

/** A queue's flow keys by backlog (`engine.flowBacklog`). */
export interface FlowBacklog {
  /** Keys that hold unfinished jobs. */
  keys: number;
  /** The keys with the most unclaimed jobs, most first. */
  top: { key: string; waiting: number; running: number }[];
}
