import { DEFAULT_PAYLOAD_LIMIT_BYTES } from "@keel/protocol/names";
import type { GcraParams } from "@keel/protocol/ratelimit";
import { type AnyAuditChange, type AuditChange, auditChange, jobDestination } from "./audit/actions.js";
import { AuditLog } from "./audit/audit.js";
import { ConsoleSessions } from "./console/sessions.js";
import type { GroupCommitOptions } from "./db/group-commit.js";
import { type Client, engineActor, type MutationOptions } from "./db/mutation.js";
import { asDatabaseError, createPool, type Pool, transaction } from "./db/pool.js";
import { jobsChannel, loadStatements, quoteSchema, type Statement } from "./db/sql.js";
import { STATEMENTS, type StatementName } from "./db/statements.js";
import { KeelError } from "./errors.js";
import { Idempotency, Settings } from "./idempotency/idempotency.js";
import { Intake } from "./intake/intake.js";
import { assertSchemaCompatible, migrate } from "./migrate/migrator.js";
import { flowRateOf, flowWalkLength, type LockedQueue, queueFlow } from "./queue/flow.js";
import { JobWriter, planBatch, writeRows } from "./queue/insert.js";
import { inFinishOrder, listCursorAfter, parseListCursor } from "./queue/list-cursor.js";
import { detailColumns, leaseColumns, parseJobId } from "./queue/params.js";
import {
  type AttemptRow,
  type ClaimRow,
  type JobRow,
  toClaimedJobs,
  toJobRecord,
  toJobSummary,
  toQueueInfo,
} from "./queue/rows.js";
import type {
  AttemptDetail,
  ClaimedJob,
  DeadFilter,
  EnqueueInput,
  EnqueueOptions,
  EnqueueResult,
  FailureGroup,
  FlowBacklog,
  JobError,
  JobPage,
  JobRecord,
  JobState,
  JobSummary,
  ListJobsFilter,
  QueueInfo,
  QueueLimits,
  QueueOverview,
  QueueSettings,
  TenantBacklog,
} from "./queue/types.js";
import { type EnqueueRow, validateEnqueue, validateQueueSettings } from "./queue/validate.js";
import { Schedules } from "./schedules/schedules.js";
import { Switches } from "./switches/switches.js";
import { Tokens } from "./tokens/tokens.js";

/**
 * Migrates on `directConnectionString` when there is one: a migration is DDL in one long
 * transaction, which a pooler may cut short or route through a connection with limits of its own.
 */
async function migrateDirect(pool: Pool, schema: string, options: EngineOptions): Promise<void> {
  if (!options.directConnectionString) {
    await migrate(pool, schema);
    return;
  }
  const direct = createPool({
    connectionString: options.directConnectionString,
    max: 1,
    applicationName: `${options.applicationName ?? "keel"}:migrate`.slice(0, 63),
    connectTimeoutMs: options.connectTimeoutMs,
  });
  try {
    await migrate(direct, schema);
  } finally {
    await direct.end();
  }
}

/** Rows one statement of a bulk retry or purge handles. */
const BULK_BATCH = 1000;

/** A row of failure_groups.sql. */
interface FailureGroupRow {
  queue: string;
  fingerprint: string;
  shape: string;
  example: string | null;
  example_id: string;
  last_hour: number;
  last_day: number;
  last_week: number;
  last_seen: Date;
  capped: boolean;
}

/** A time filter as a query parameter: null when absent, refused when not a time. */
function timeParam(at: Date | string | undefined, name: string): Date | null {
  if (at === undefined) return null;
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) {
    throw new KeelError("invalid_argument", { detail: `${name}: a time (ISO 8601)` });
  }
  return date;
}

/** `filter` as the parameters $3–$6 of the dead_filter fragment, checked. */
function deadFilterParams(filter: DeadFilter): [string | null, string | null, number | null, string | null] {
  const { fingerprint, errorCode, olderThanSeconds, tenant } = filter;
  if (fingerprint !== undefined && !/^[0-9a-f]{12}$/.test(fingerprint)) {
    throw new KeelError("invalid_argument", {
      detail: "fingerprint: 12 hex digits, as the Failures view shows it",
    });
  }
  if (olderThanSeconds !== undefined && !(Number.isFinite(olderThanSeconds) && olderThanSeconds >= 0)) {
    throw new KeelError("invalid_argument", { detail: "olderThanSeconds: a number of seconds, 0 or more" });
  }
  return [fingerprint ?? null, errorCode ?? null, olderThanSeconds ?? null, tenant ?? null];
}

/** The filter as its audit row records it: only the fields given. */
function auditedFilter(filter: DeadFilter): { filter?: DeadFilter } {
  const given = Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined)) as DeadFilter;
  return Object.keys(given).length > 0 ? { filter: given } : {};
}

export interface EngineOptions {
  /** Postgres connection string; or pass `pool`. */
  connectionString?: string;
  /** An existing pg pool to use; the engine will not close it. */
  pool?: Pool;
  /** Schema holding Keel's tables. Default `keel`. */
  schema?: string;
  /**
   * Apply pending migrations on connect. Default false: only check that this code may run on the
   * schema (at its version, or ahead by additive migrations), so application processes never
   * migrate during a rolling deploy; `keel migrate` and `keel start` migrate.
   */
  migrate?: boolean;
  /** Largest accepted payload in bytes of JSON. Default 1 MiB. */
  payloadLimitBytes?: number;
  /**
   * `transaction`: `connectionString` goes through a transaction-mode pooler (PgBouncer, Neon,
   * Supabase), so statements run unnamed instead of prepared per connection, and LISTEN and
   * migrations use `directConnectionString` (decision 036). Default `none`.
   */
  pooler?: "transaction" | "none";
  /**
   * A connection string that reaches Postgres itself, not through a pooler: LISTEN for new jobs
   * and migrations use it. Default `connectionString` (without a pooler); behind a
   * transaction-mode pooler with none, workers poll instead of listening.
   */
  directConnectionString?: string;
  /** Connections in the engine's own pool. Default 10. */
  poolSize?: number;
  /** Postgres application_name; also the default actor of audited changes (`engine:<name>`). Default `keel`. */
  applicationName?: string;
  /** Opening a connection, or waiting for a free one, fails after this. Default 5 s. */
  connectTimeoutMs?: number;
  /**
   * Watch Postgres from the engine's own pool: while it does not answer a probe within
   * `timeoutMs` (default 1 s), queries fail at once with `database_unavailable` instead of
   * waiting (see `createPool`). Default off; `keel start` turns it on.
   */
  watch?: { timeoutMs?: number; intervalMs?: number };
  /**
   * The group commit of single `enqueue` calls made without a caller's transaction: most calls
   * per group (default 500) and groups committing at once (default 4). See `GroupCommit`.
   */
  enqueueGroup?: GroupCommitOptions;
  /**
   * How long a verified API token is kept in memory, so requests with it do not ask Postgres
   * (milliseconds; 0: never kept). Kept only while this engine listens on the schema's tokens
   * channel, where every revocation is announced (decision 062). Default 60 s.
   */
  tokenCacheMs?: number;
}

/** A job whose attempt ends, with what an HTTP delivery saw. */
export type Finished = Pick<ClaimedJob, "id" | "leaseToken"> & { detail?: AttemptDetail | null };

/** A failure to record for one claimed job. */
export interface FailInput {
  job: Pick<ClaimedJob, "id" | "leaseToken">;
  error: JobError;
  /** Milliseconds until the retry; null moves the job to dead now. */
  retryInMs: number | null;
  detail?: AttemptDetail | null;
}

/** Counters a process keeps about itself (exported as metrics by the server). */
export interface EngineStats {
  /** Completions, failures, heartbeats or releases rejected because the lease token was stale. */
  staleLeaseRejections: number;
}

export interface ClaimOptions {
  queue: string;
  handlers: string[];
  limit: number;
  leaseMs: number;
  workerId: string;
  /** The queue's limits as last read; decides which claim statement applies. */
  limited: boolean;
  /**
   * Most running jobs per flow key in a queue with no key expression and no flow concurrency:
   * keys that jobs gave themselves or that HTTP jobs' hosts made (the deliverer's per-host default).
   */
  defaultKeyConcurrency?: number | null;
  /** Starts per flow key per period for those keys, in a queue that sets no rate of its own. */
  defaultKeyRate?: GcraParams | null;
  /**
   * Unlimited queues: start the scan after this job (the last one the caller claimed), skipping
   * the entries of jobs claimed before it (decision 054). A job that became due behind it waits
   * for a claim without a cursor.
   */
  after?: ClaimCursor | null;
}

/** Where a claim's scan of a queue starts: the index position of a job claimed before. */
export interface ClaimCursor {
  priority: number;
  /** run_at in microseconds since the epoch, exact (a Date would round many jobs of one batch together). */
  runAtUs: string;
  id: string;
}

/** How long the analysis of `jobs` waits for its lock (see refreshJobStatistics). */
const JOBS_ANALYZE_LOCK_TIMEOUT_MS = 200;

/** A lease token no job holds: the completion statement's warm-up finishes nothing with it. */
const NO_TOKEN = "00000000-0000-0000-0000-000000000000";

/**
 * Whether `jobs` should be analysed (decision 066): it holds at least 1,000 rows and twice the
 * count Postgres last recorded for the planner (`counted`, -1 before the first). `last` is this
 * process's previous analysis: while the recorded count is still the one it replaced (the
 * analysis changed nothing, e.g. the role may not analyse the table), only a further doubling
 * from then asks again.
 */
export function shouldAnalyzeJobs(
  live: number,
  counted: number,
  last: { live: number; counted: number } | undefined,
): boolean {
  if (live < 1_000 || live < 2 * Math.max(counted, 0)) return false;
  return !(last && last.counted === counted && live < 2 * last.live);
}

/**
 * The job engine: one Postgres schema, no HTTP. Create with `Engine.connect`.
 *
 * @example
 * const engine = await Engine.connect({ connectionString: process.env.DATABASE_URL });
 * const { id } = await engine.enqueue({ queue: "email", target: { handler: "sendWelcome" }, payload: { userId: 42 } });
 * await engine.close();
 */
export class Engine {
  readonly schema: string;
  readonly pool: Pool;
  readonly channel: string;
  readonly stats: EngineStats = { staleLeaseRejections: 0 };
  /** This process's last analysis of `jobs` (refreshJobStatistics): the rows then, and the count it replaced. */
  private jobsAnalysis: { live: number; counted: number } | undefined;
  readonly connectionString: string | undefined;
  /** Where LISTEN connects: Postgres itself, never a transaction-mode pooler; undefined when none is known. */
  readonly listenConnectionString: string | undefined;
  /** False behind a transaction-mode pooler: statements run unnamed (decision 036). */
  readonly namedStatements: boolean;
  /** Who changes are recorded as when a mutation names no `by`: `engine:<applicationName>`. */
  readonly actor: string;
  /** Kill switches (scheduling, enqueue:<queue>, process:<queue>). */
  readonly switches = new Switches(this);
  /** API tokens, stored hashed. */
  readonly tokens: Tokens;
  /** The append-only audit log. */
  readonly auditLog = new AuditLog(this);
  /** The Idempotency-Key store. */
  readonly idempotency = new Idempotency(this);
  /** Values generated once and shared by replicas. */
  readonly settings = new Settings(this);
  /** Webhook sources and the events they received. */
  readonly intake = new Intake(this);
  /** Cron schedules and the tenant registry (fired by `createScheduler`). */
  readonly schedules = new Schedules(this);
  /** Operator console sessions, stored hashed. */
  readonly consoleSessions = new ConsoleSessions(this);
  private readonly sql: Record<StatementName, Statement>;
  private readonly ownsPool: boolean;
  /** Largest accepted payload in bytes of JSON. */
  readonly payloadLimitBytes: number;
  private readonly knownQueues = new Set<string>();
  private closed = false;
  private jobWriter: JobWriter | undefined;
  private enqueueGroupOptions: GroupCommitOptions;

  private constructor(pool: Pool, ownsPool: boolean, schema: string, options: EngineOptions) {
    this.pool = pool;
    this.ownsPool = ownsPool;
    this.schema = schema;
    this.channel = jobsChannel(schema);
    this.connectionString = options.connectionString;
    this.namedStatements = options.pooler !== "transaction";
    this.listenConnectionString =
      options.directConnectionString ?? (this.namedStatements ? options.connectionString : undefined);
    this.payloadLimitBytes = options.payloadLimitBytes ?? DEFAULT_PAYLOAD_LIMIT_BYTES;
    this.actor = engineActor(options.applicationName ?? "keel");
    this.sql = loadStatements(schema, STATEMENTS, { named: this.namedStatements });
    this.enqueueGroupOptions = options.enqueueGroup ?? {};
    this.tokens = new Tokens(this, { cacheMs: options.tokenCacheMs });
  }

  /** Group commits of single `enqueue` calls so far: transactions written and calls they held. */
  get enqueueGroups(): { flushes: number; items: number } {
    return this.jobWriter?.counts ?? { flushes: 0, items: 0 };
  }

  /**
   * Connects, then checks that this code may run on the schema (`schema_outdated`,
   * `schema_too_new` otherwise); with `migrate: true`, migrates it first.
   */
  static async connect(options: EngineOptions = {}): Promise<Engine> {
    const schema = options.schema ?? "keel";
    quoteSchema(schema);
    if (!options.pool && !options.connectionString) {
      throw new KeelError("invalid_argument", {
        detail: "Engine.connect needs a connectionString or a pool",
      });
    }
    const pool =
      options.pool ??
      createPool({
        connectionString: options.connectionString as string,
        max: options.poolSize ?? 10,
        applicationName: options.applicationName ?? "keel",
        connectTimeoutMs: options.connectTimeoutMs,
        watch: options.watch,
      });
    const engine = new Engine(pool, !options.pool, schema, options);
    try {
      if (options.migrate === true) await migrateDirect(pool, schema, options);
      else await assertSchemaCompatible(pool, schema);
    } catch (err) {
      await engine.close();
      throw asDatabaseError(err);
    }
    return engine;
  }

  /** Runs one named statement. */
  async run<R extends object = Record<string, unknown>>(
    name: StatementName,
    values: unknown[],
  ): Promise<R[]> {
    const stmt = this.sql[name];
    const res = await this.pool.query<R>({ name: stmt.name, text: stmt.text, values });
    return res.rows;
  }

  /** As `run`, each row read as an array of its columns in the statement's order (decision 076). */
  async runRows<R extends unknown[]>(name: StatementName, values: unknown[]): Promise<R[]> {
    const stmt = this.sql[name];
    const res = await this.pool.query<R>({ name: stmt.name, text: stmt.text, values, rowMode: "array" });
    return res.rows;
  }

  /** Runs one named statement on a client, inside the caller's transaction. */
  async runOn<R extends object = Record<string, unknown>>(
    client: Client,
    name: StatementName,
    values: unknown[],
  ): Promise<R[]> {
    const stmt = this.sql[name];
    const res = await client.query<R>({ name: stmt.name, text: stmt.text, values });
    return res.rows;
  }

  /**
   * Runs `fn` in one transaction and returns its result: the caller's, when `options.client` is
   * given (nothing is begun or committed here), else a new one on the engine's pool, committed
   * when `fn` resolves and rolled back when it throws. Engine mutations given this client join it.
   *
   * @example
   * await engine.transaction(async (client) => {
   *   await client.query("insert into orders (id) values ($1)", [orderId]);
   *   await engine.enqueue({ queue: "email", target: { handler: "orderConfirmation" }, payload: { orderId } }, { client });
   * });
   */
  async transaction<T>(fn: (client: Client) => Promise<T>, options: { client?: Client } = {}): Promise<T> {
    if (options.client) return fn(options.client);
    return transaction(this.pool, fn);
  }

  /** @internal Writes the audit row of a change on `client`, in the change's transaction. */
  async writeAudit(
    client: Client,
    options: MutationOptions,
    change: AuditChange | AnyAuditChange,
  ): Promise<void> {
    await this.auditLog.write(
      {
        actor: options.by ?? this.actor,
        source: options.source ?? null,
        action: change.action,
        target: change.target,
        details: change.details ?? null,
      },
      null,
      client,
    );
  }

  /**
   * Enqueues one job. See `enqueueMany` for batches in one round trip. With `client` it joins the
   * caller's transaction; with `by` an audit row `job.create` commits with it
   * (an application's enqueue is not an operator's change, so it is audited only when it says who).
   * Without `client`, concurrent calls are group-committed (one statement or transaction for
   * all that arrive while the previous group commits; decision 055): each still resolves only
   * after its job is committed, and fails alone when its own job is refused. With
   * `idempotency`, the key's response is stored in the transaction that writes the job.
   */
  async enqueue<P>(input: EnqueueInput<P>, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    const keyed = options.idempotency;
    if (!options.client) {
      const row = validateEnqueue(input, 0, { payloadLimitBytes: this.payloadLimitBytes });
      this.jobWriter ??= new JobWriter(this, this.enqueueGroupOptions);
      return this.jobWriter.submit({ row, by: options.by, source: options.source, keyed });
    }
    const [result] = (await this.insertJobs([input], options, "job.create")) as [EnqueueResult];
    if (keyed) {
      await this.idempotency.finish(
        { ...keyed, response: keyed.response(result) },
        { client: options.client },
      );
    }
    return result;
  }

  /**
   * Enqueues many jobs in one statement: all are stored or none (on any invalid input nothing
   * is written). Results come back in input order. Options as for `enqueue` (`job.create_batch`).
   */
  async enqueueMany(inputs: EnqueueInput[], options: MutationOptions = {}): Promise<EnqueueResult[]> {
    if (!Array.isArray(inputs))
      throw new KeelError("invalid_argument", { detail: "enqueueMany takes an array of jobs" });
    return this.insertJobs(inputs, options, "job.create_batch");
  }

  private async insertJobs(
    inputs: EnqueueInput[],
    options: MutationOptions,
    action: "job.create" | "job.create_batch",
  ): Promise<EnqueueResult[]> {
    if (inputs.length === 0) return [];
    const rows = inputs.map((input, i) =>
      validateEnqueue(input, i, { payloadLimitBytes: this.payloadLimitBytes }),
    );
    const { unique, results } = planBatch(rows);
    const queues = [...new Set(unique.map((r) => r.queue))];
    if (!options.client && options.by === undefined) {
      // The hot path: one autocommitted statement. An application's enqueue is not an operator's
      // change, so it is audited only when it names who made it.
      await this.ensureQueues(queues);
      const out = await writeRows(this, unique);
      if (out.length < unique.length) await this.explainRefusedBatch(unique);
      return results(out);
    }
    // Creating a missing queue is harmless, so it commits on its own, except in the caller's
    // transaction, which must not see the engine's pool used.
    if (!options.client) await this.ensureQueues(queues);
    return this.transaction(async (client) => {
      if (options.client) await this.ensureQueues(queues, client);
      const out = await writeRows(this, unique, client);
      if (out.length < unique.length) await this.explainRefusedBatch(unique, client);
      const done = results(out);
      if (options.by === undefined) return done;
      const created = done.filter((r) => !r.deduplicated);
      if (action === "job.create" && created.length === 1) {
        const row = rows[0] as EnqueueRow;
        const job = created[0] as EnqueueResult;
        await this.writeAudit(
          client,
          options,
          auditChange("job.create", `job:${job.id}`, jobDestination(row.queue, row.target)),
        );
      } else if (action === "job.create_batch" && created.length > 0) {
        await this.writeAudit(
          client,
          options,
          auditChange("job.create_batch", queues.length === 1 ? `queue:${queues[0]}` : null, {
            count: done.length,
            created: created.length,
            queues: [...new Set(rows.map((r) => r.queue))],
          }),
        );
      }
      return done;
    }, options);
  }

  /** The enqueue statement wrote nothing: find the switch that refused the batch. */
  private async explainRefusedBatch(rows: EnqueueRow[], client?: Client): Promise<never> {
    const queues = [...new Set(rows.map((r) => r.queue))];
    const names = queues.map((q) => `enqueue:${q}`);
    const off = client
      ? new Set((await this.runOn<{ name: string }>(client, "disabled_switches", [names])).map((r) => r.name))
      : await this.switches.disabled(names);
    const queue = queues.find((q) => off.has(`enqueue:${q}`));
    if (queue !== undefined) throw new KeelError("enqueue_disabled", { queue });
    throw new Error("enqueue stored fewer jobs than it was given and no switch explains it");
  }

  /**
   * Creates the named queues that do not exist yet, with default settings. With `client`, inside
   * that client's transaction, and not remembered as existing (the transaction may roll back).
   */
  async ensureQueues(names: string[], client?: Client): Promise<void> {
    const missing = [...new Set(names)].filter((n) => !this.knownQueues.has(n));
    if (missing.length === 0) return;
    if (client) {
      await this.runOn(client, "ensure_queues", [missing]);
      return;
    }
    await this.run("ensure_queues", [missing]);
    for (const n of missing) this.knownQueues.add(n);
  }

  /** Leases up to `limit` ready jobs of one queue to a worker. */
  async claim(options: ClaimOptions): Promise<ClaimedJob[]> {
    const { queue, handlers, limit, leaseMs, workerId } = options;
    if (limit <= 0) return [];
    if (!options.limited) {
      const after = options.after ?? null;
      const rows = after
        ? await this.runRows<ClaimRow>("claim_after", [
            queue,
            handlers,
            limit,
            leaseMs,
            workerId,
            after.priority,
            after.runAtUs,
            after.id,
          ])
        : await this.runRows<ClaimRow>("claim", [queue, handlers, limit, leaseMs, workerId]);
      return toClaimedJobs(rows, true);
    }
    const rows = await this.runRows<ClaimRow>("claim_limited", [
      queue,
      handlers,
      limit,
      leaseMs,
      workerId,
      // The worker's default (the deliverer's per-host limit) for keys no expression made.
      options.defaultKeyConcurrency ?? null,
      options.defaultKeyRate?.intervalUs ?? null,
      options.defaultKeyRate?.burst ?? null,
      flowWalkLength(limit),
    ]);
    return toClaimedJobs(rows, false);
  }

  /**
   * Limits, pause state and HTTP attempt timeout (null: the deliverer's default) of the given
   * queues (null: every queue).
   */
  async queueLimits(queues: string[] | null): Promise<Map<string, QueueLimits>> {
    const rows = await this.run<
      LockedQueue & {
        name: string;
        tenant_concurrency: number | null;
        delivery_timeout_ms: number | null;
        flow: boolean;
      }
    >("queue_settings", [queues]);
    return new Map(
      rows.map((r) => [
        r.name,
        {
          limited: r.concurrency !== null || r.tenant_concurrency !== null || r.flow,
          paused: r.paused,
          deliveryTimeoutMs: r.delivery_timeout_ms,
          flowRateIntervalMs: flowRateOf(r) === null ? null : (flowRateOf(r)?.intervalUs ?? 0) / 1000,
          keyExpression: (r.flow_key ?? null) !== null,
        },
      ]),
    );
  }

  /** The queues that hold unclaimed jobs (due or not); cheap however deep the backlog. */
  async waitingQueues(): Promise<Set<string>> {
    return new Set((await this.run<{ queue: string }>("waiting_queues", [])).map((r) => r.queue));
  }

  /** Extends leases; returns the ids whose lease is lost (they must stop). */
  async heartbeat(jobs: Pick<ClaimedJob, "id" | "leaseToken">[], leaseMs: number): Promise<Set<string>> {
    if (jobs.length === 0) return new Set();
    const held = await this.run<{ id: string }>("heartbeat", [...leaseColumns(jobs), leaseMs]);
    const ok = new Set(held.map((r) => r.id));
    const lost = new Set(jobs.filter((j) => !ok.has(j.id)).map((j) => j.id));
    this.stats.staleLeaseRejections += lost.size;
    return lost;
  }

  /** Marks jobs succeeded; returns the ids rejected for a stale lease token. */
  async complete(jobs: Finished[]): Promise<Set<string>> {
    if (jobs.length === 0) return new Set();
    // The statement answers the stale ones only (decision 072).
    const stale = await this.run<{ id: string }>("complete", [
      ...leaseColumns(jobs),
      ...detailColumns(jobs.map((j) => j.detail)),
    ]);
    const ids = new Set(stale.map((r) => r.id));
    this.stats.staleLeaseRejections += ids.size;
    return ids;
  }

  /**
   * Opens a second connection and runs the completion statement there once, finishing nothing
   * (one id that no job has), when the pool can open one without making a waiting query wait.
   * A worker calls it beside its first claim: a connection's first completion costs a connection
   * set-up and the statement's first planning, about 30 ms here, which would otherwise fall
   * between the first jobs ending and the next claim (decision 086). Errors are ignored: the
   * first real completion reports its own.
   */
  async warmCompletion(): Promise<void> {
    const pool = this.pool;
    if (pool.totalCount + pool.waitingCount >= (pool.options.max ?? 10)) return;
    await this.run("complete", [["0"], [NO_TOKEN], null, null, null]).catch(() => {});
  }

  /** Records failed attempts: retry after `retryInMs`, or dead. Returns the ids rejected as stale. */
  async fail(failures: FailInput[]): Promise<Set<string>> {
    if (failures.length === 0) return new Set();
    const done = await this.run<{ id: string }>("fail", [
      ...leaseColumns(failures.map((f) => f.job)),
      failures.map((f) => (f.retryInMs === null ? null : Math.max(0, Math.round(f.retryInMs)))),
      failures.map((f) => JSON.stringify(f.error)),
      ...detailColumns(failures.map((f) => f.detail)),
    ]);
    return this.rejected(
      failures.map((f) => f.job),
      done,
    );
  }

  /** Hands unfinished jobs back without spending an attempt (graceful shutdown). */
  async release(jobs: Pick<ClaimedJob, "id" | "leaseToken">[]): Promise<Set<string>> {
    if (jobs.length === 0) return new Set();
    const done = await this.run<{ id: string }>("release", leaseColumns(jobs));
    return this.rejected(jobs, done);
  }

  private rejected(jobs: Pick<ClaimedJob, "id">[], done: { id: string }[]): Set<string> {
    const ok = new Set(done.map((r) => r.id));
    const stale = new Set(jobs.filter((j) => !ok.has(j.id)).map((j) => j.id));
    this.stats.staleLeaseRejections += stale.size;
    return stale;
  }

  /**
   * Takes back jobs whose lease expired, through the `job_leases` rows whose time is up: up to
   * `batch` jobs from up to `leases` rows (decision 087). Safe to call from every process at once.
   */
  async sweepExpiredLeases(batch = 500, leases = 100): Promise<{ requeued: number; dead: number }> {
    const [row] = await this.run<{ requeued: number; dead: number }>("sweep_leases", [batch, leases]);
    return { requeued: row?.requeued ?? 0, dead: row?.dead ?? 0 };
  }

  /**
   * Takes back running jobs whose lease expired, read from `jobs` itself (a sequential scan), in
   * batches until none is left: what no `job_leases` row names, such as jobs claimed by an older
   * Keel during a rolling deploy. The lease sweep's safety net (decision 087).
   */
  async scanExpiredLeases(batch = 500): Promise<{ requeued: number; dead: number }> {
    const total = { requeued: 0, dead: 0 };
    for (;;) {
      const [row] = await this.run<{ requeued: number; dead: number }>("sweep_leases_scan", [batch]);
      total.requeued += row?.requeued ?? 0;
      total.dead += row?.dead ?? 0;
      if ((row?.requeued ?? 0) + (row?.dead ?? 0) < batch) return total;
    }
  }

  /** Deletes `job_leases` rows whose jobs have all ended in the worker that claimed them (decision 087). */
  async forgetLeases(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.run("forget_leases", [ids]);
  }

  /**
   * Cancels an unfinished job; a running job's worker loses its lease. Audited (`job.cancel`)
   * in the same transaction; a string is taken as `by`.
   */
  async cancel(
    id: string,
    options: MutationOptions | string = {},
  ): Promise<{ id: string; previousState: JobState }> {
    const opts = typeof options === "string" ? { by: options } : options;
    const jobId = parseJobId(id);
    return this.transaction(async (client) => {
      const [row] = await this.runOn<{ id: string; previous_state: JobState }>(client, "cancel", [
        jobId,
        opts.by ?? this.actor,
      ]);
      if (!row) {
        const job = await this.readJob(jobId, client);
        throw new KeelError("job_already_finished", { id: jobId, state: job.state });
      }
      await this.writeAudit(
        client,
        opts,
        auditChange("job.cancel", `job:${row.id}`, { previousState: row.previous_state }),
      );
      return { id: row.id, previousState: row.previous_state };
    }, opts);
  }

  /** Puts a dead or cancelled job back with a fresh set of attempts, keeping its id. Audited (`job.retry`). */
  async retry(id: string, options: MutationOptions = {}): Promise<{ id: string }> {
    const jobId = parseJobId(id);
    return this.transaction(async (client) => {
      // A savepoint keeps the transaction usable after a refused retry, to say why (and the
      // caller's transaction alive).
      await client.query("savepoint keel_retry");
      let row: { id: string; queue: string } | undefined;
      try {
        [row] = await this.runOn<{ id: string; queue: string }>(client, "retry_job", [jobId]);
      } catch (err) {
        // The unique index on (queue, dedupe_key) of unfinished jobs.
        if ((err as { code?: string }).code !== "23505") throw err;
        await client.query("rollback to savepoint keel_retry");
        const job = await this.readJob(jobId, client);
        throw new KeelError("dedupe_key_taken", { id: jobId, queue: job.queue, dedupeKey: job.dedupeKey });
      }
      await client.query("release savepoint keel_retry");
      if (!row) {
        const job = await this.readJob(jobId, client);
        throw new KeelError("job_not_retryable", { id: jobId, state: job.state });
      }
      await this.writeAudit(client, options, auditChange("job.retry", `job:${row.id}`, { queue: row.queue }));
      return { id: row.id };
    }, options);
  }

  /**
   * Retries every dead job of a queue (matching `filter`), in batches, all in one transaction with
   * its `queue.retry_dead` audit row; returns how many went back.
   */
  async retryDead(
    queue: string,
    onProgress?: (retried: number) => void,
    options: MutationOptions = {},
    filter: DeadFilter = {},
  ): Promise<number> {
    const params = deadFilterParams(filter);
    return this.transaction(async (client) => {
      await this.runOn(client, "bulk_count_shard", []);
      const retried = await this.inBatches(onProgress, async () => {
        const [row] = await this.runOn<{ retried: number }>(client, "retry_dead", [
          queue,
          BULK_BATCH,
          ...params,
        ]);
        return row?.retried ?? 0;
      });
      await this.writeAudit(
        client,
        options,
        auditChange("queue.retry_dead", `queue:${queue}`, { retried, ...auditedFilter(filter) }),
      );
      return retried;
    }, options);
  }

  /**
   * Deletes every dead job of a queue (matching `filter`) with its attempts, in batches, all in one
   * transaction with its audit row; returns how many went.
   */
  async purgeDead(
    queue: string,
    onProgress?: (purged: number) => void,
    options: MutationOptions = {},
    filter: DeadFilter = {},
  ): Promise<number> {
    const params = deadFilterParams(filter);
    return this.transaction(async (client) => {
      await this.runOn(client, "bulk_count_shard", []);
      const purged = await this.inBatches(onProgress, async () => {
        const [row] = await this.runOn<{ deleted: number }>(client, "purge_dead", [
          queue,
          BULK_BATCH,
          ...params,
        ]);
        return row?.deleted ?? 0;
      });
      await this.writeAudit(
        client,
        options,
        auditChange("queue.purge_dead", `queue:${queue}`, { purged, ...auditedFilter(filter) }),
      );
      return purged;
    }, options);
  }

  /** The dry run of a bulk retry or purge: how many dead jobs of `queue` match `filter`, stopping at `cap`. */
  async countDead(queue: string, filter: DeadFilter = {}, cap = 1_000_000): Promise<number> {
    const [row] = await this.run<{ dead: number }>("count_dead", [queue, cap, ...deadFilterParams(filter)]);
    return row?.dead ?? 0;
  }

  /** The `limit` tenants of `queue` with the most unfinished jobs (null: jobs without a tenant). */
  async tenantBacklog(queue: string, limit = 10): Promise<TenantBacklog[]> {
    return this.run<TenantBacklog>("queue_tenant_backlog", [queue, limit]);
  }

  /**
   * Jobs that died in the last 7 days grouped by queue and error fingerprint, newest group first
   * (at most 200), reading at most `cap` dead jobs per queue.
   */
  async failureGroups(options: { queue?: string; cap?: number } = {}): Promise<FailureGroup[]> {
    const cap = options.cap ?? 10_000;
    if (!Number.isInteger(cap) || cap < 1) {
      throw new KeelError("invalid_argument", { detail: "cap: a whole number of at least 1" });
    }
    const queues = options.queue
      ? [options.queue]
      : (await this.run<{ name: string }>("queue_names", [])).map((q) => q.name);
    const rows: FailureGroupRow[] = [];
    // One queue at a time, like queueOverview: a page takes one pooled connection.
    for (const queue of queues)
      rows.push(...(await this.run<FailureGroupRow>("failure_groups", [queue, cap])));
    rows.sort((a, b) => b.last_seen.getTime() - a.last_seen.getTime());
    return rows.slice(0, 200).map((r) => ({
      queue: r.queue,
      fingerprint: r.fingerprint,
      shape: r.shape,
      example: r.example,
      exampleId: r.example_id,
      counts: { lastHour: r.last_hour, lastDay: r.last_day, lastWeek: r.last_week },
      lastSeen: r.last_seen,
      capped: r.capped,
    }));
  }

  /** Runs `batch` until it handles fewer than BULK_BATCH rows; reports the running total. */
  private async inBatches(
    onProgress: ((total: number) => void) | undefined,
    batch: () => Promise<number>,
  ): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await batch();
      total += n;
      if (n > 0) onProgress?.(total);
      if (n < BULK_BATCH) return total;
    }
  }

  /** Stops claims of a queue in every process; running jobs finish. Audited (`queue.pause`). */
  async pauseQueue(name: string, options: MutationOptions = {}): Promise<{ wasPaused: boolean }> {
    return this.setPaused(name, true, options);
  }

  /** Lets workers claim from a queue again and wakes them (at commit). Audited (`queue.resume`). */
  async resumeQueue(name: string, options: MutationOptions = {}): Promise<{ wasPaused: boolean }> {
    return this.setPaused(name, false, options);
  }

  private async setPaused(
    name: string,
    paused: boolean,
    options: MutationOptions,
  ): Promise<{ wasPaused: boolean }> {
    return this.transaction(async (client) => {
      const [row] = await this.runOn<{ was_paused: boolean }>(client, "set_queue_paused", [name, paused]);
      if (!row) throw new KeelError("queue_not_found", { queue: name });
      const wasPaused = row.was_paused;
      await this.writeAudit(
        client,
        options,
        auditChange(paused ? "queue.pause" : "queue.resume", `queue:${name}`, { wasPaused }),
      );
      return { wasPaused };
    }, options);
  }

  /**
   * Creates a queue or replaces its settings; unspecified settings take their defaults. A
   * creation or a change is audited (`queue.configure`) in its transaction; settings already as
   * given change nothing and write no row.
   */
  async upsertQueue(
    name: string,
    settings: QueueSettings = {},
    options: MutationOptions = {},
  ): Promise<void> {
    const s = validateQueueSettings(settings);
    const flow = queueFlow(s);
    const values = {
      concurrency: s.concurrency ?? null,
      tenantConcurrency: flow?.key === "tenant" ? (flow.concurrency ?? null) : null,
      maxAttempts: s.maxAttempts ?? 10,
      backoff: s.backoff ?? null,
      retentionSucceededSeconds: s.retentionSucceededSeconds ?? 7 * 86_400,
      retentionDeadSeconds: s.retentionDeadSeconds ?? 30 * 86_400,
      deliveryTimeoutMs: s.deliveryTimeoutMs ?? null,
      // In the audit row only when there is one: queues without flow control audit as before.
      ...(flow ? { flow } : {}),
    };
    await this.transaction(async (client) => {
      const [row] = await this.runOn<{ created: boolean }>(client, "upsert_queue", [
        name,
        values.concurrency,
        values.tenantConcurrency,
        values.maxAttempts,
        values.backoff ? JSON.stringify(values.backoff) : null,
        values.retentionSucceededSeconds,
        values.retentionDeadSeconds,
        values.deliveryTimeoutMs,
        flow?.key ?? null,
        flow?.concurrency ?? null,
        flow?.rate?.limit ?? null,
        flow?.rate?.windowSeconds ?? null,
        flow?.rate?.burst ?? null,
      ]);
      if (row) {
        await this.writeAudit(
          client,
          options,
          auditChange("queue.configure", `queue:${name}`, { created: row.created, settings: values }),
        );
      }
    }, options);
    // A queue made in the caller's transaction may still roll back: only cache our own commits.
    if (!options.client) this.knownQueues.add(name);
  }

  /** A job with all its recorded attempts. */
  async getJob(id: string): Promise<JobRecord> {
    return this.readJob(parseJobId(id));
  }

  /**
   * A job and its tries as of one moment: the two reads share a snapshot, so a try that ends
   * between them cannot show the job still running with that try already listed.
   */
  private async readJob(jobId: string, client?: Client): Promise<JobRecord> {
    if (!client)
      return transaction(
        this.pool,
        (c) => this.readJob(jobId, c),
        "begin isolation level repeatable read read only",
      );
    const [row] = await this.runOn<JobRow>(client, "get_job", [jobId]);
    if (!row) throw new KeelError("job_not_found", { id: jobId });
    return toJobRecord(row, await this.runOn<AttemptRow>(client, "job_attempts", [jobId]));
  }

  /** The jobs of `listJobsPage`'s page, without its cursor. */
  async listJobs(filter: ListJobsFilter = {}): Promise<JobSummary[]> {
    return (await this.listJobsPage(filter)).jobs;
  }

  /**
   * A page of jobs, `limit` at a time (default 50): newest first, or, for a queue's jobs in one
   * finished state, the latest finished first (decision 083). Pass `nextCursor` as `before` for
   * the next page; it is null after a short page.
   */
  async listJobsPage(filter: ListJobsFilter = {}): Promise<JobPage> {
    const limit = filter.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new KeelError("invalid_argument", { detail: "limit: a whole number from 1 to 1000" });
    }
    const cursor = filter.before === undefined ? null : parseListCursor(filter.before);
    const finishOrder = inFinishOrder(filter);
    let finishedUs = cursor?.finishedUs ?? null;
    if (finishOrder && cursor && finishedUs === null) {
      // A bare id: the list resumes after that job's finish time, while history holds it.
      const [row] = await this.run<{ finished_us: string }>("job_finished_us", [cursor.id]);
      if (!row) {
        throw new KeelError("invalid_argument", {
          detail: `cursor: job ${cursor.id} is not in history; pass a page's nextCursor, or start from the first page`,
        });
      }
      finishedUs = row.finished_us;
    }
    // Succeeded jobs are found through their job_finishes rows, the others through an index of
    // history (decision 088).
    const statement = !finishOrder
      ? "list_jobs"
      : filter.state === "succeeded"
        ? "list_succeeded_jobs"
        : "list_finished_jobs";
    const rows = await this.run<JobRow & { finished_us?: string }>(statement, [
      filter.queue ?? null,
      filter.state ?? null,
      cursor?.id ?? null,
      limit,
      filter.tenant ?? null,
      filter.handler ?? null,
      filter.host ?? null,
      filter.dedupeKey ?? null,
      timeParam(filter.createdFrom, "createdFrom"),
      timeParam(filter.createdTo, "createdTo"),
      ...(finishOrder ? [finishedUs] : []),
    ]);
    const last = rows.length === limit ? rows[rows.length - 1] : undefined;
    return {
      jobs: rows.map(toJobSummary),
      nextCursor: last ? listCursorAfter(last.id, finishOrder ? (last.finished_us ?? null) : null) : null,
    };
  }

  /** Every queue with settings, counts per state and oldest-ready age. */
  async listQueues(): Promise<QueueInfo[]> {
    const rows = await this.run<Record<string, never>>("list_queues", []);
    return rows.map(toQueueInfo);
  }

  /**
   * Every queue as `listQueues` gives it, except that finished counts (and those of the last
   * hour) stop at `cap`: an index walk of at most `cap` rows per queue and state, where
   * `listQueues` counts all history. States that reached the cap are listed in `capped`.
   */
  async queueOverview(cap = 10_000): Promise<QueueOverview[]> {
    if (!Number.isInteger(cap) || cap < 1) {
      throw new KeelError("invalid_argument", { detail: "cap: a whole number of at least 1" });
    }
    const queues = await this.listQueues();
    const out: QueueOverview[] = [];
    // One queue at a time: a console page takes one pooled connection, not one per queue.
    for (const info of queues) {
      const [h] = await this.run<Record<string, number>>("queue_history_counts", [info.name, cap]);
      const lastHour = { succeeded: h?.succeeded_last_hour ?? 0, dead: h?.dead_last_hour ?? 0 };
      out.push({
        ...info,
        capped: (["succeeded", "dead"] as const).filter((s) => lastHour[s] >= cap),
        lastHour,
      });
    }
    return out;
  }

  /**
   * A queue's flow keys with the most unclaimed jobs (`top` of them, waiting and running counts
   * each) and how many keys hold jobs in all. Reads every keyed job of the queue.
   */
  async flowBacklog(queue: string, top = 10): Promise<FlowBacklog> {
    if (!Number.isInteger(top) || top < 1 || top > 1000) {
      throw new KeelError("invalid_argument", { detail: "top: a whole number from 1 to 1000" });
    }
    const rows = await this.run<{ key: string; waiting: number; running: number; keys: number }>(
      "flow_backlog",
      [queue, top],
    );
    return {
      keys: rows[0]?.keys ?? 0,
      top: rows.map(({ key, waiting, running }) => ({ key, waiting, running })),
    };
  }

  /** Per queue whose jobs carry flow keys: distinct keys with unclaimed jobs and with running ones. */
  async flowKeyCounts(): Promise<{ queue: string; waiting: number; running: number }[]> {
    return this.run("flow_key_counts", []);
  }

  /**
   * Analyses `jobs` when it holds at least 1,000 rows and twice what Postgres last counted for
   * the planner. Prepared statements keep a generic plan made for the table's size at the time;
   * one made while the table was nearly empty reads all of it, and a burst of enqueues would
   * leave every claim and completion doing so until autovacuum analyses it (a minute or more, or
   * never where autovacuum is off). Analysing makes Postgres plan them again (decision 066). A
   * role that may not analyse the table (not its owner) gets a warning from Postgres and nothing
   * else: while the recorded count stays what it was, this process tries again only once the
   * table has doubled since its last try. Returns whether it analysed. Run every second by the
   * worker's maintenance.
   */
  async refreshJobStatistics(): Promise<boolean> {
    const [row] = await this.run<{ live: string; counted: string }>("jobs_grown", []);
    const live = Number(row?.live ?? 0);
    const counted = Number(row?.counted ?? -1);
    if (!shouldAnalyzeJobs(live, counted, this.jobsAnalysis)) return false;
    try {
      await this.transaction(async (client) => {
        // Autovacuum may be working on the table. Waiting for it past deadlock_timeout (1 s by
        // default) would cancel its work; giving up sooner leaves it to finish, and a VACUUM
        // recounts the table too. The next run tries again.
        await this.runOn(client, "lock_timeout", [JOBS_ANALYZE_LOCK_TIMEOUT_MS]);
        await this.runOn(client, "jobs_analyze", []);
      });
    } catch (err) {
      if ((err as { code?: unknown }).code === "55P03") return false;
      throw err;
    }
    this.jobsAnalysis = { live, counted };
    return true;
  }

  /** Claims periodic task `task` for this process if it has not run for `intervalMs`. */
  async claimMaintenance(task: string, intervalMs: number): Promise<boolean> {
    const rows = await this.run("claim_maintenance", [task, intervalMs]);
    return rows.length > 0;
  }

  /** Closes the engine's own pool (a pool passed in is left open). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Calls already grouped are answered before the pool they need ends.
    await Promise.all([
      this.jobWriter?.drain(),
      this.idempotency.drain(),
      this.intake.events.drain(),
      this.tokens.close(),
    ]);
    if (this.ownsPool) await this.pool.end();
  }
}
