/**
 * The HTTP API's shapes, as the client sends and receives them: derived from the protocol's
 * contracts (`z.input` of request bodies, `z.output` of queries and responses), so they cannot
 * drift from what the server validates. Type-only imports: the client bundle carries no zod.
 */
import type * as C from "@keel/protocol/contracts";
import type { Input, Output, Query, RequestBody, ResponseBody } from "@keel/protocol/contracts";

export type { JobState, Scope } from "@keel/protocol/names";

/** Run by a Node pull worker that registered this handler, or delivered by Keel as a signed HTTP request. */
export type Target = Input<typeof C.Target>;
/** Run by a Node pull worker that registered this handler. */
export type HandlerTarget = Extract<Target, { handler: string }>;
/**
 * Delivered by Keel as a signed HTTP request: an absolute http(s) `url`, `method` (default POST),
 * `headers` (`${VAR}` is read from Keel's environment), `timeoutMs` (1000–3600000).
 */
export type HttpTarget = Extract<Target, { url: string }>;

/** Wait before the next attempt after a failure; defaults to the queue's. */
export type Backoff = Input<typeof C.Backoff>;

/**
 * `POST /v1/jobs`: one job to enqueue. `delay` (ms) or `runAt` (ISO 8601 with offset), not both;
 * `dedupeKey`: while an unfinished job of the queue has it, that job is returned instead.
 * Flow control (docs/flow-control.md): `flowKey` and `flowConcurrency` (most running per key),
 * `singleton: { key, mode: "drop" | "queue" }`, `debounce: { key, quietMs, maxWaitMs? }`.
 */
export type JobInput = RequestBody<typeof C.createJob>;

/** `deduplicated`: true when an unfinished job with the dedupe key was returned. */
export type JobCreated = ResponseBody<typeof C.createJob, 201>;

/** A job in a list (`GET /v1/jobs`). Times are ISO 8601 strings. */
export type JobSummary = Output<typeof C.JobSummary>;
export type JobError = NonNullable<JobSummary["lastError"]>;
/** A target as the API shows it: credential-like header values read `[redacted]`. */
export type TargetView = JobSummary["target"];
/** Where a job came from: a schedule slot (`schedule`, `fireTime`, `trigger`) or an intake event. */
export type JobOrigin = NonNullable<JobSummary["origin"]>;

/** A job with its payload and attempts (`GET /v1/jobs/:id`). */
export type Job = ResponseBody<typeof C.getJob, 200>;
export type Attempt = Job["attempts"][number];

/** `limit`: 1–1000, default 50; `cursor`: a page's `nextCursor`. */
export type ListJobsQuery = Query<typeof C.listJobs>;
/** `nextCursor`: null on the last page. */
export type JobPage = ResponseBody<typeof C.listJobs, 200>;
export type CancelledJob = ResponseBody<typeof C.cancelJob, 200>;

export type Queue = Output<typeof C.Queue>;
export type QueuePaused = ResponseBody<typeof C.pauseQueue, 200>;
/** Which dead jobs a bulk retry or purge takes: `fingerprint` (a failure group's), `errorCode`, `olderThanSeconds`, `tenant`. */
export type DeadJobsFilter = NonNullable<RequestBody<typeof C.retryDead>>;
/** Dead jobs of the last 7 days sharing a queue and an error fingerprint. */
export type FailureGroup = ResponseBody<typeof C.listFailures, 200>["failures"][number];

export type Switch = Output<typeof C.Switch>;
export type SetSwitchInput = RequestBody<typeof C.setSwitch>;

/** A token as listed: `prefix` is its first characters, to recognise it; never the secret. */
export type Token = Output<typeof C.Token>;
export type CreateTokenInput = RequestBody<typeof C.createToken>;
/** A new token: `token` is shown this once; Keel keeps only its hash. */
export type CreatedToken = ResponseBody<typeof C.createToken, 201>;

export type AuditEntry = Output<typeof C.AuditEntry>;
/** `before`: a page's `nextCursor`. */
export type ListAuditQuery = Query<typeof C.listAudit>;
export type AuditPage = ResponseBody<typeof C.listAudit, 200>;

/** What `GET /v1/doctor` answers: each check with its status, what was seen and the fix. */
export type DoctorReport = ResponseBody<typeof C.getDoctor, 200>;
export type DoctorCheck = DoctorReport["checks"][number];

/** `POST /v1/ratelimit/check`: spend `cost` units (default 1) of `key`'s quota under a policy of Keel's config file. */
export type RateLimitCheckInput = RequestBody<typeof C.checkRateLimit>;
/** A refusal is a result too (`allowed: false`, `retryAfterSeconds`), not an error. */
export type RateLimitCheckResult = ResponseBody<typeof C.checkRateLimit, 200>;
