import { type Call, pages } from "./call.js";
import type { CallOptions, CreateOptions } from "./transport.js";
import type {
  AuditEntry,
  AuditPage,
  CancelledJob,
  CreatedToken,
  CreateTokenInput,
  DeadJobsFilter,
  FailureGroup,
  Job,
  JobCreated,
  JobInput,
  JobPage,
  JobSummary,
  ListAuditQuery,
  ListJobsQuery,
  Queue,
  QueuePaused,
  RateLimitCheckInput,
  RateLimitCheckResult,
  SetSwitchInput,
  Switch,
  Token,
} from "./types.js";

/** `/v1/jobs`: enqueue, read, list, retry, cancel. */
export class JobsApi {
  constructor(private readonly call: Call) {}

  /**
   * Enqueues a job. Sent with an Idempotency-Key, so retries after a dropped connection never
   * enqueue twice.
   *
   * @example
   * const { id } = await keel.jobs.create({ queue: "email", target: { handler: "sendWelcome" }, payload: { userId: 42 } });
   */
  create(job: JobInput, options: CreateOptions = {}): Promise<JobCreated> {
    return this.call("createJob", { body: job, ...options });
  }

  /** Enqueues up to 1,000 jobs, all or none; results in input order. */
  async createMany(jobs: JobInput[], options: CreateOptions = {}): Promise<JobCreated[]> {
    const out = await this.call<{ jobs: JobCreated[] }>("createJobs", { body: { jobs }, ...options });
    return out.jobs;
  }

  /** A job with its payload and attempts. */
  get(id: string, options: CallOptions = {}): Promise<Job> {
    return this.call("getJob", { params: { id }, ...options });
  }

  /** One page, newest first; pass `nextCursor` as `cursor` for the next. */
  list(query: ListJobsQuery = {}, options: CallOptions = {}): Promise<JobPage> {
    return this.call("listJobs", { query: { ...query }, ...options });
  }

  /**
   * Every matching job, page after page.
   *
   * @example
   * for await (const job of keel.jobs.iterate({ queue: "email", state: "dead" })) console.log(job.id);
   */
  iterate(query: Omit<ListJobsQuery, "cursor"> = {}, options: CallOptions = {}): AsyncGenerator<JobSummary> {
    return pages(
      (cursor) => this.list({ ...query, cursor }, options),
      (page) => page.jobs,
    );
  }

  /** Puts a dead or cancelled job back with fresh attempts. */
  retry(id: string, options: CallOptions = {}): Promise<{ id: string }> {
    return this.call("retryJob", { params: { id }, ...options });
  }

  /** Cancels an unfinished job; a running job's worker loses its lease. */
  cancel(id: string, options: CallOptions = {}): Promise<CancelledJob> {
    return this.call("cancelJob", { params: { id }, ...options });
  }
}

/** `/v1/queues`: counts, pause, resume, dead-job operations. */
export class QueuesApi {
  constructor(private readonly call: Call) {}

  /** Every queue with settings, counts per state and the oldest ready job's age. */
  async list(options: CallOptions = {}): Promise<Queue[]> {
    return (await this.call<{ queues: Queue[] }>("listQueues", options)).queues;
  }

  pause(name: string, options: CallOptions = {}): Promise<QueuePaused> {
    return this.call("pauseQueue", { params: { name }, ...options });
  }

  resume(name: string, options: CallOptions = {}): Promise<QueuePaused> {
    return this.call("resumeQueue", { params: { name }, ...options });
  }

  /** Retries every dead job of the queue (or those matching `filter`); returns how many went back. */
  retryDead(
    name: string,
    options: CallOptions & { filter?: DeadJobsFilter } = {},
  ): Promise<{ queue: string; retried: number }> {
    const { filter, ...call } = options;
    return this.call("retryDeadJobs", { params: { name }, ...(filter ? { body: filter } : {}), ...call });
  }

  /** Deletes every dead job of the queue (or those matching `filter`) with its attempts. */
  purgeDead(
    name: string,
    options: CallOptions & { filter?: DeadJobsFilter } = {},
  ): Promise<{ queue: string; purged: number }> {
    const { filter, ...call } = options;
    return this.call("purgeDeadJobs", { params: { name }, ...(filter ? { body: filter } : {}), ...call });
  }

  /** Jobs that died in the last 7 days, grouped by queue and error fingerprint, newest group first. */
  async failures(query: { queue?: string } = {}, options: CallOptions = {}): Promise<FailureGroup[]> {
    return (await this.call<{ failures: FailureGroup[] }>("listFailures", { query, ...options })).failures;
  }
}

/** `/v1/switches`: kill switches. */
export class SwitchesApi {
  constructor(private readonly call: Call) {}

  /** Switches that have been set (one never set is on). */
  async list(options: CallOptions = {}): Promise<Switch[]> {
    return (await this.call<{ switches: Switch[] }>("listSwitches", options)).switches;
  }

  /**
   * @example
   * await keel.switches.set("enqueue:email", { enabled: false, reason: "incident 42" });
   */
  set(name: string, input: SetSwitchInput, options: CallOptions = {}): Promise<Switch> {
    return this.call("setSwitch", { params: { name }, body: input, ...options });
  }
}

/** `/v1/tokens`: API credentials (admin). */
export class TokensApi {
  constructor(private readonly call: Call) {}

  /**
   * Creates a token; its secret (`token`) is in this answer only. Not retried once sent: Keel
   * does not replay token creation (the replay would have to keep the secret).
   */
  create(input: CreateTokenInput, options: CallOptions = {}): Promise<CreatedToken> {
    return this.call("createToken", { body: input, ...options });
  }

  async list(options: CallOptions = {}): Promise<Token[]> {
    return (await this.call<{ tokens: Token[] }>("listTokens", options)).tokens;
  }

  revoke(id: string, options: CallOptions = {}): Promise<Token> {
    return this.call("revokeToken", { params: { id }, ...options });
  }
}

/** `/v1/audit`: who changed what, newest first (admin). */
export class AuditApi {
  constructor(private readonly call: Call) {}

  list(query: ListAuditQuery = {}, options: CallOptions = {}): Promise<AuditPage> {
    return this.call("listAudit", { query: { ...query }, ...options });
  }

  iterate(query: Omit<ListAuditQuery, "before"> = {}, options: CallOptions = {}): AsyncGenerator<AuditEntry> {
    return pages(
      (before) => this.list({ ...query, before }, options),
      (page) => page.entries,
    );
  }
}

/** `/v1/ratelimit`: the server's limiter, over the policies of its config file. */
export class RateLimitsApi {
  constructor(private readonly call: Call) {}

  /**
   * Spends `cost` (default 1) of `key`'s quota. Not retried once sent (a repeat would spend
   * twice); in Node, the SDK's own limiter (`createRateLimiter`) saves the round trip.
   *
   * @example
   * const r = await keel.rateLimits.check({ policy: "api", key: `user:${userId}` });
   * if (!r.allowed) return tooManyRequests(r.retryAfterSeconds);
   */
  check(input: RateLimitCheckInput, options: CallOptions = {}): Promise<RateLimitCheckResult> {
    return this.call("checkRateLimit", { body: input, ...options });
  }
}
