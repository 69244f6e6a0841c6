/**
 * The HTTP API's shapes, as the client sends and receives them. Declared here so the SDK does not
 * depend on @keel/server; `test/types-contracts.test.ts` proves each one equal to the server's
 * zod contracts (`z.input` of request bodies, `z.output` of queries and responses), so a change
 * on either side without the other fails `npm test`.
 */

export type JobState = "scheduled" | "available" | "running" | "succeeded" | "dead" | "cancelled";
export type Scope = "admin" | "publish" | "read";

/** Run by a Node pull worker that registered this handler. */
export interface HandlerTarget {
  handler: string;
}

/** Delivered by Keel as a signed HTTP request. */
export interface HttpTarget {
  /** Absolute http(s) URL. */
  url: string;
  /** Default POST. */
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Sent with each delivery; `${VAR}` is read from Keel's environment then. */
  headers?: Record<string, string>;
  /** Most milliseconds one attempt may take (1000–3600000). Default: the queue's, else 30000. */
  timeoutMs?: number;
}

export type Target = HandlerTarget | HttpTarget;

/** Wait before the next attempt after a failure; defaults to the queue's. */
export type Backoff =
  | { type: "exponential"; baseMs?: number; maxMs?: number; jitter?: boolean }
  | { type: "fixed"; delayMs: number }
  | { type: "list"; delaysMs: number[] };

/** `POST /v1/jobs`: one job to enqueue. */
export interface JobInput {
  /** Created on first use. Default `default`. */
  queue?: string;
  target: Target;
  /** Any JSON value. */
  payload?: unknown;
  /** Run no earlier than this many milliseconds from now. Not with `runAt`. */
  delay?: number;
  /** Run no earlier than this instant (ISO 8601 with offset). Not with `delay`. */
  runAt?: string;
  /** Higher runs first. */
  priority?: number;
  maxAttempts?: number;
  backoff?: Backoff;
  /** While an unfinished job of the queue has this key, it is returned instead. */
  dedupeKey?: string;
  /** Groups jobs for per-tenant concurrency limits. */
  tenant?: string;
}

export interface JobCreated {
  id: string;
  state: JobState;
  /** True when an unfinished job with the dedupe key was returned. */
  deduplicated: boolean;
}

export interface JobError {
  code?: string;
  message: string;
  name?: string;
  stack?: string;
}

/** A target as the API shows it: credential-like header values read `[redacted]`. */
export type TargetView =
  | { handler: string }
  | { url: string; method?: string; headers?: Record<string, string>; timeoutMs?: number };

export interface Attempt {
  attempt: number;
  workerId: string | null;
  outcome: "succeeded" | "failed" | "lease_expired" | "released" | "cancelled";
  error: JobError | null;
  startedAt: string;
  finishedAt: string;
  responseStatus: number | null;
  latencyMs: number | null;
  /** The first 16 KiB of the response body. */
  responseBody: string | null;
}

/** A job in a list (`GET /v1/jobs`). Times are ISO 8601 strings. */
export interface JobSummary {
  id: string;
  queue: string;
  target: TargetView;
  state: JobState;
  priority: number;
  attempt: number;
  maxAttempts: number;
  dedupeKey: string | null;
  tenant: string | null;
  lastError: JobError | null;
  runAt: string;
  createdAt: string;
  finishedAt: string | null;
  /** What created the job: a schedule slot or an intake event; null when enqueued directly. */
  origin: JobOrigin | null;
}

/** Where a job came from: a schedule slot (`schedule`, `fireTime`, `trigger`) or an intake event. */
export interface JobOrigin {
  schedule?: string;
  /** ISO 8601: the slot's time, or the trigger time of a manual run. */
  fireTime?: string;
  trigger?: "cron" | "manual" | "backfill";
  source?: string;
  /** The stored intake event's id. */
  event?: string;
  /** Made from a schedule or source route declared in Keel's config file (which may read its `${VAR}`s). */
  config?: true;
}

/** A job with its payload and attempts (`GET /v1/jobs/:id`). */
export interface Job extends JobSummary {
  payload: unknown;
  backoff: unknown;
  leaseUntil: string | null;
  workerId: string | null;
  attempts: Attempt[];
}

export interface ListJobsQuery {
  queue?: string;
  state?: JobState;
  /** 1–1000; default 50. */
  limit?: number;
  /** A page's `nextCursor`. */
  cursor?: string;
}

export interface JobPage {
  jobs: JobSummary[];
  /** Null on the last page. */
  nextCursor: string | null;
}

export interface CancelledJob {
  id: string;
  state: "cancelled";
  previousState: JobState;
}

export interface Queue {
  name: string;
  paused: boolean;
  concurrency: number | null;
  tenantConcurrency: number | null;
  maxAttempts: number;
  backoff: unknown;
  retentionSucceededSeconds: number;
  retentionDeadSeconds: number;
  /** HTTP attempt timeout for targets that set none; null: 30000. */
  deliveryTimeoutMs: number | null;
  counts: Record<JobState, number>;
  /** Seconds the oldest ready job has waited; 0 if none. */
  oldestReadyAgeSeconds: number;
}

export interface QueuePaused {
  name: string;
  paused: boolean;
}

export interface Switch {
  name: string;
  enabled: boolean;
  reason: string | null;
  updatedBy: string;
  updatedAt: string;
}

export interface SetSwitchInput {
  enabled: boolean;
  reason?: string | null;
}

export interface Token {
  id: string;
  name: string;
  /** The first characters of the token, to recognise it. */
  prefix: string;
  scopes: Scope[];
  createdBy: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedBy: string | null;
  revokedAt: string | null;
}

export interface CreateTokenInput {
  name: string;
  scopes: Scope[];
}

/** A new token: `token` is shown this once; Keel keeps only its hash. */
export interface CreatedToken extends Token {
  token: string;
}

export interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  source: string | null;
  details: Record<string, unknown> | null;
}

export interface ListAuditQuery {
  /** A page's `nextCursor`. */
  before?: string;
  limit?: number;
}

export interface AuditPage {
  entries: AuditEntry[];
  nextCursor: string | null;
}

/** `POST /v1/ratelimit/check`: spend `cost` units of `key`'s quota under a policy of Keel's config file. */
export interface RateLimitCheckInput {
  policy: string;
  /** Whose quota: a user id, a hashed token, an address (group IPv6 by /64). */
  key: string;
  /** Units this request spends; default 1. 0 reads the state without spending. */
  cost?: number;
}

/** A refusal is a result too (`allowed: false`), not an error. */
export interface RateLimitCheckResult {
  allowed: boolean;
  policy: string;
  /** The quota per window in force. */
  limit: number;
  /** Units left (after this request when allowed). */
  remaining: number;
  /** Seconds until the key is back at its full quota. */
  resetSeconds: number;
  /** When refused: seconds before a retry can pass. */
  retryAfterSeconds?: number;
  /** Present when the store failed and the policy's fail mode decided. */
  failMode?: "open" | "closed" | "fallback";
}
