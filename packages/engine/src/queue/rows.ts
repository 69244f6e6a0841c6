import { DEFAULT_BACKOFF } from "./backoff.js";
import type {
  Attempt,
  Backoff,
  ClaimedJob,
  JobError,
  JobOrigin,
  JobRecord,
  JobState,
  JobSummary,
  JobTarget,
  QueueInfo,
} from "./types.js";

// Row shapes as the driver returns them: bigint ids are strings, timestamps are Dates (a claim's
// are microseconds since the epoch, as bigint strings).

/**
 * A claimed job as the claim statements return it (claim.sql, claim_after.sql,
 * claim_limited.sql: the same columns in this order), read as an array: the driver then fills
 * an array per row instead of copying a 16-property object and storing each field by name
 * (decision 076).
 */
export type ClaimRow = [
  id: string,
  queue: string,
  handler: string,
  target: JobTarget,
  payload: unknown,
  priority: number,
  attempt: number,
  maxAttempts: number,
  backoff: Backoff | null,
  tenant: string | null,
  dedupeKey: string | null,
  leaseToken: string,
  origin: JobOrigin | null,
  leaseUntilUs: string,
  runAtUs: string,
  createdAtUs: string,
  /** Limited claims only: the id of the claim's `job_leases` row; a plain claim's is its token. */
  leaseId?: string,
];

/** A Date of microseconds since the epoch (Postgres' precision), truncated to milliseconds as the driver's are. */
function usDate(us: string): Date {
  return new Date(Number(us) / 1000);
}

/**
 * A claimed job as the worker sees it. Its three times are kept as the claim returned them and
 * made into Dates when first read: a handler seldom reads them, and three Dates a job were a
 * tenth of a cold worker's claim handling (decision 079). `toJSON` gives the same fields as a
 * plain object, Dates included.
 */
class Claimed implements ClaimedJob {
  readonly id: string;
  readonly queue: string;
  readonly handler: string;
  readonly target: JobTarget;
  readonly payload: unknown;
  readonly priority: number;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly backoff: Backoff | null;
  readonly tenant: string | null;
  readonly dedupeKey: string | null;
  readonly leaseToken: string;
  readonly origin: JobOrigin | null;
  readonly runAtUs: string | undefined;
  #leaseUntil: Date | string;
  #runAt: Date | string;
  #createdAt: Date | string;
  readonly #lease: string;

  constructor(r: ClaimRow, ordered: boolean) {
    this.id = r[0];
    this.queue = r[1];
    this.handler = r[2];
    this.target = r[3];
    this.payload = r[4];
    this.priority = r[5];
    this.attempt = r[6];
    this.maxAttempts = r[7];
    this.backoff = r[8];
    this.tenant = r[9];
    this.dedupeKey = r[10];
    this.leaseToken = r[11];
    this.origin = r[12];
    this.#leaseUntil = r[13];
    this.#runAt = r[14];
    this.#createdAt = r[15];
    // Always present (undefined from limited claims): one object shape for every claimed job.
    this.runAtUs = ordered ? r[14] : undefined;
    // A plain claim's row is keyed by its token; a limited claim's id is a column of its own.
    this.#lease = ordered ? r[11] : (r[16] as string);
  }

  /** The id of the `job_leases` row that names `job` (decision 087); undefined for a job not claimed here. */
  static leaseOf(job: ClaimedJob): string | undefined {
    return #lease in job ? job.#lease : undefined;
  }

  get leaseUntil(): Date {
    if (typeof this.#leaseUntil === "string") this.#leaseUntil = usDate(this.#leaseUntil);
    return this.#leaseUntil;
  }

  get runAt(): Date {
    if (typeof this.#runAt === "string") this.#runAt = usDate(this.#runAt);
    return this.#runAt;
  }

  get createdAt(): Date {
    if (typeof this.#createdAt === "string") this.#createdAt = usDate(this.#createdAt);
    return this.#createdAt;
  }

  toJSON(): ClaimedJob {
    return { ...this, leaseUntil: this.leaseUntil, runAt: this.runAt, createdAt: this.createdAt };
  }
}

/**
 * A claim's rows as the worker sees them. `ordered`: the claim took jobs in the queue index's
 * order (`claim`), so `runAtUs` may serve as the next claim's cursor; a limited claim's order is
 * not that, and leaves it undefined. The driver makes a new string for every field of every row; a
 * claim's jobs mostly share their queue, handler, lease token and lease end, and each job keeps
 * its strings until its outcome commits, thousands at a time: the repeats are dropped for the
 * first row's strings, so that what survives the young generation's collections is one copy.
 */
export function toClaimedJobs(rows: ClaimRow[], ordered: boolean): ClaimedJob[] {
  const jobs: ClaimedJob[] = new Array(rows.length);
  let first: ClaimRow | undefined;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as ClaimRow;
    if (first === undefined) first = r;
    else {
      if (r[1] === first[1]) r[1] = first[1];
      if (r[2] === first[2]) r[2] = first[2];
      if (r[11] === first[11]) r[11] = first[11];
      if (r[13] === first[13]) r[13] = first[13];
    }
    jobs[i] = new Claimed(r, ordered);
  }
  return jobs;
}

/**
 * The id of the claim's `job_leases` row that names `job` (decision 087): the worker deletes it
 * once every job of the claim has ended. Undefined for a job object not made by a claim.
 */
export const leaseOf: (job: ClaimedJob) => string | undefined = Claimed.leaseOf;

export interface JobRow {
  id: string;
  queue: string;
  handler: string;
  state: JobState;
  target: JobTarget;
  payload: unknown;
  priority: number;
  attempt: number;
  max_attempts: number;
  backoff: Backoff | null;
  dedupe_key: string | null;
  tenant: string | null;
  last_error: JobError | null;
  run_at: Date;
  created_at: Date;
  lease_until: Date | null;
  worker_id: string | null;
  finished_at: Date | null;
  origin: JobOrigin | null;
}

export interface AttemptRow {
  response_status: number | null;
  latency_ms: number | null;
  response_body: string | null;
  attempt: number;
  worker_id: string | null;
  outcome: Attempt["outcome"];
  error: JobError | null;
  started_at: Date;
  finished_at: Date;
}

export function toJobRecord(r: JobRow, attempts: AttemptRow[]): JobRecord {
  return {
    id: r.id,
    queue: r.queue,
    target: r.target,
    state: r.state,
    payload: r.payload,
    priority: r.priority,
    attempt: r.attempt,
    maxAttempts: r.max_attempts,
    backoff: r.backoff,
    dedupeKey: r.dedupe_key,
    tenant: r.tenant,
    lastError: r.last_error,
    runAt: r.run_at,
    createdAt: r.created_at,
    leaseUntil: r.lease_until,
    workerId: r.worker_id,
    finishedAt: r.finished_at,
    origin: r.origin,
    attempts: attempts.map((a) => ({
      attempt: a.attempt,
      workerId: a.worker_id,
      outcome: a.outcome,
      error: a.error,
      startedAt: a.started_at,
      finishedAt: a.finished_at,
      responseStatus: a.response_status,
      latencyMs: a.latency_ms,
      responseBody: a.response_body,
    })),
  };
}

/** A row of a list of jobs as JobSummary: the record without payload, attempts and lease. */
export function toJobSummary(r: JobRow): JobSummary {
  const {
    payload: _p,
    attempts: _a,
    backoff: _b,
    leaseUntil: _l,
    workerId: _w,
    ...summary
  } = toJobRecord(r, []);
  return summary;
}

/** A row of list_queues.sql as QueueInfo. */
export function toQueueInfo(r: Record<string, unknown>): QueueInfo {
  return {
    name: r.name as string,
    paused: r.paused as boolean,
    concurrency: r.concurrency as number | null,
    tenantConcurrency: r.tenant_concurrency as number | null,
    maxAttempts: r.max_attempts as number,
    backoff: (r.backoff as QueueInfo["backoff"]) ?? DEFAULT_BACKOFF,
    retentionSucceededSeconds: r.retention_succeeded_seconds as number,
    retentionDeadSeconds: r.retention_dead_seconds as number,
    deliveryTimeoutMs: (r.delivery_timeout_ms as number | null) ?? null,
    flow: flowOf(r),
    counts: {
      scheduled: r.scheduled as number,
      available: r.available as number,
      running: r.running as number,
      succeeded: r.succeeded as number,
      dead: r.dead as number,
      cancelled: r.cancelled as number,
    },
    oldestReadyAgeSeconds: r.oldest_ready_age as number,
  };
}

/** A queue row's flow settings, as `upsertQueue` takes them; null without a key expression. */
function flowOf(r: Record<string, unknown>): QueueInfo["flow"] {
  if (typeof r.flow_key !== "string") return null;
  const rate =
    r.flow_rate_limit == null
      ? undefined
      : {
          limit: r.flow_rate_limit as number,
          windowSeconds: r.flow_rate_window_seconds as number,
          ...(r.flow_rate_burst == null ? {} : { burst: r.flow_rate_burst as number }),
        };
  return {
    key: r.flow_key,
    ...(r.flow_concurrency == null ? {} : { concurrency: r.flow_concurrency as number }),
    ...(rate ? { rate } : {}),
  };
}
