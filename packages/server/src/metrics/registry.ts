import type { Engine, FireEvent, QueueInfo, WorkerHooks } from "@keel/engine";
import { NonRetryableError } from "@keel/engine";
import { DOCTOR_STATUSES, type DoctorStatus } from "@keel/protocol/contracts";
import type { IdempotencyOutcome } from "@keel/protocol/names";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { withTimeout } from "../timeout.js";
import { type BackupFacts, BackupGauges } from "./backups.js";

/** How one job attempt ended, as `keel_jobs_total{outcome}` counts it. */
export const JOB_OUTCOMES = ["succeeded", "failed", "dead", "lease_lost", "released", "stale"] as const;
export type JobMetricOutcome = (typeof JOB_OUTCOMES)[number];

/** The states `keel_queue_depth{state}` reports: unfinished jobs, and dead ones kept in history. */
export const QUEUE_STATES = ["scheduled", "available", "running", "dead"] as const;

/** What an HTTP delivery attempt got back, as `keel_deliveries_total{status_class}` counts it. */
export const DELIVERY_STATUS_CLASSES = ["2xx", "3xx", "4xx", "5xx", "network", "timeout"] as const;
export type DeliveryStatusClass = (typeof DELIVERY_STATUS_CLASSES)[number];

/** What the API's Idempotency-Key handling reports (the SDK middleware's outcomes, less `invalid_key`). */
export const IDEMPOTENCY_OUTCOMES = [
  "started",
  "replayed",
  "in_flight",
  "mismatch",
  "unavailable",
] as const satisfies readonly IdempotencyOutcome[];

/** Job durations run from milliseconds (a cache write) to many minutes (a report or an export). */
export const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800,
];

const UNLINTED_DEFAULTS = [
  "keel_nodejs_active_handles_total",
  "keel_nodejs_active_requests_total",
  "keel_nodejs_active_resources_total",
];

/** What a scrape reads from Postgres. */
export type ScrapeSource = "queues" | "switches" | "backups";

export interface KeelMetricsOptions {
  /**
   * Where queue depths, flow key counts and lease rejections come from (`flowKeyCounts` optional,
   * so that stand-in engines of tests need not have it).
   */
  engine: Pick<Engine, "listQueues" | "stats"> & Partial<Pick<Engine, "flowKeyCounts">>;
  /** The backup and drill record for the `keel_backup_*` gauges; without it they are not exported. */
  backups?: () => Promise<BackupFacts[]>;
  /** Current kill switches for `keel_switch_state`. Default: none. */
  switches?: () => Promise<{ name: string; enabled: boolean }[]>;
  /** How long one database read serves scrapes, in ms. Default 1000. */
  cacheMs?: number;
  /** A scrape-time read slower than this counts as failed and keeps the last values. Default 2000 ms. */
  readTimeoutMs?: number;
  /** Told about each failed scrape-time read (for the log); the scrape itself still answers. */
  onScrapeError?: (err: unknown, source: ScrapeSource) => void;
  /** Milliseconds on a monotonic clock; injectable so tests can step past the cache. */
  now?: () => number;
}

/**
 * Keel's Prometheus metrics, in a registry of their own (not prom-client's global one, so two
 * apps in one process, as in tests, never share counters). Queue depths and switch states are
 * read from Postgres when scraped, at most once per `cacheMs` however often scrapers come.
 *
 * @example
 * const metrics = new KeelMetrics({ engine, switches: () => engine.switches.list() });
 * const worker = createWorker({ engine, handlers, hooks: metrics.workerHooks() });
 * metrics.recordDelivery("5xx");
 * const text = await metrics.registry.metrics();
 */
export class KeelMetrics {
  readonly registry = new Registry();

  readonly jobs = new Counter({
    name: "keel_jobs_total",
    help: "Job attempts finished in this process, by queue and outcome.",
    labelNames: ["queue", "outcome"] as const,
    registers: [this.registry],
    // Waits for the queue read, which starts each known queue's series at 0.
    collect: () => this.refresh(),
  });
  readonly jobDuration = new Histogram({
    name: "keel_job_duration_seconds",
    help: "Time from a job's claim to its recorded outcome in this process, in seconds.",
    labelNames: ["queue"] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "keel_queue_depth",
    help: "Jobs per queue and state (scheduled, available, running, dead) as last read from Postgres.",
    labelNames: ["queue", "state"] as const,
    registers: [this.registry],
    collect: () => this.refresh(),
  });
  readonly queueLatency = new Gauge({
    name: "keel_queue_latency_seconds",
    help: "Age of the oldest job ready to run in each queue, in seconds; 0 when none waits.",
    labelNames: ["queue"] as const,
    registers: [this.registry],
    collect: () => this.refresh(),
  });
  readonly flowKeys = new Gauge({
    name: "keel_flow_keys",
    help: "Distinct flow keys per queue holding unclaimed (state waiting) or running jobs; key values are never labels.",
    labelNames: ["queue", "state"] as const,
    registers: [this.registry],
    collect: () => this.refresh(),
  });
  readonly deliveries = new Counter({
    name: "keel_deliveries_total",
    help: "HTTP delivery attempts by response status class, network error or timeout.",
    labelNames: ["status_class"] as const,
    registers: [this.registry],
  });
  readonly scheduleFires = new Counter({
    name: "keel_schedule_fires_total",
    help: "Schedule firings by schedule and outcome.",
    labelNames: ["schedule", "outcome"] as const,
    registers: [this.registry],
  });
  readonly scheduleLateness = new Histogram({
    name: "keel_schedule_lateness_seconds",
    help: "Seconds from a cron slot's time to the job being enqueued (fire lateness).",
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly intakeEvents = new Counter({
    name: "keel_intake_events_total",
    help: "Webhook intake events by source and result.",
    labelNames: ["source", "result"] as const,
    registers: [this.registry],
  });
  readonly rateLimitDecisions = new Counter({
    name: "keel_ratelimit_decisions_total",
    help: "Rate limit decisions by policy and outcome.",
    labelNames: ["policy", "outcome"] as const,
    registers: [this.registry],
  });
  readonly idempotencyRequests = new Counter({
    name: "keel_idempotency_requests_total",
    help: "Requests carrying an idempotency key, by outcome.",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly switchState = new Gauge({
    name: "keel_switch_state",
    help: "Kill switches that have been set: 1 on, 0 off. Switches never set are on and not listed.",
    labelNames: ["switch"] as const,
    registers: [this.registry],
    collect: () => this.refresh(),
  });
  readonly leaseRejections = new Counter({
    name: "keel_lease_rejections_total",
    help: "Completions, failures, heartbeats or releases refused in this process for a stale lease token.",
    registers: [this.registry],
    collect: () => {
      // The engine keeps the count; a counter cannot be set, so it is rebuilt at each scrape.
      this.leaseRejections.reset();
      this.leaseRejections.inc(this.engine.stats.staleLeaseRejections);
    },
  });
  readonly scrapeErrors = new Counter({
    name: "keel_metrics_scrape_errors_total",
    help: "Scrape-time reads of queues, switches or backups that failed or timed out; the last values were kept.",
    registers: [this.registry],
    // Waits for this scrape's read so a failure shows in the same scrape.
    collect: () => this.refresh(),
  });

  readonly doctorChecks = new Gauge({
    name: "keel_doctor_check",
    help: "The last doctor run in this process (GET /v1/doctor, or the periodic run): 1 for each check's status, 0 for the others.",
    labelNames: ["check", "status"] as const,
    registers: [this.registry],
  });

  private readonly engine: KeelMetricsOptions["engine"];
  private readonly switches: NonNullable<KeelMetricsOptions["switches"]>;
  private readonly backups: KeelMetricsOptions["backups"];
  private readonly backupGauges: BackupGauges | undefined;
  private readonly cacheMs: number;
  private readonly readTimeoutMs: number;
  private readonly onScrapeError: KeelMetricsOptions["onScrapeError"];
  private readonly now: () => number;
  private readAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<void> | undefined;

  constructor(options: KeelMetricsOptions) {
    this.engine = options.engine;
    this.switches = options.switches ?? (async () => []);
    this.backups = options.backups;
    if (this.backups) this.backupGauges = new BackupGauges(this.registry, () => this.refresh());
    this.cacheMs = options.cacheMs ?? 1_000;
    this.readTimeoutMs = options.readTimeoutMs ?? 2_000;
    this.onScrapeError = options.onScrapeError;
    this.now = options.now ?? (() => performance.now());
    collectDefaultMetrics({ register: this.registry, prefix: "keel_" });
    // Gauges named *_total break the Prometheus naming rules (promtool rejects them); the
    // per-type series keel_nodejs_active_{handles,requests,resources} carry the same numbers.
    for (const name of UNLINTED_DEFAULTS) this.registry.removeSingleMetric(name);
    for (const statusClass of DELIVERY_STATUS_CLASSES) this.deliveries.inc({ status_class: statusClass }, 0);
    for (const outcome of IDEMPOTENCY_OUTCOMES) this.idempotencyRequests.inc({ outcome }, 0);
  }

  /** The content type of `metrics()`: Prometheus text format 0.0.4. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Everything in Prometheus text format; reads Postgres unless a read is under `cacheMs` old. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * Worker hooks that count finished jobs and observe their durations. A failure on the job's
   * last attempt, or with NonRetryableError, counts as `dead`; other failures as `failed` (retried).
   */
  workerHooks(): WorkerHooks {
    return {
      onJobEnd: (job, { outcome, durationMs, error }) => {
        let counted: JobMetricOutcome = outcome;
        if (outcome === "failed" && (job.attempt >= job.maxAttempts || isNonRetryable(error))) {
          counted = "dead";
        }
        this.jobs.inc({ queue: job.queue, outcome: counted });
        this.jobDuration.observe({ queue: job.queue }, durationMs / 1000);
      },
    };
  }

  /**
   * Counts a decided schedule slot. Outcomes: `enqueued`, `triggered`, `backfilled`, `queued`,
   * and `skipped_<reason>` (paused, switch, overlap, missed, enqueue_disabled).
   */
  recordScheduleFire(event: FireEvent): void {
    const outcome =
      event.outcome === "skipped"
        ? `skipped_${event.reason ?? "unknown"}`
        : event.kind === "manual"
          ? "triggered"
          : event.kind === "backfill"
            ? "backfilled"
            : event.outcome;
    this.scheduleFires.inc({ schedule: event.schedule, outcome }, event.slots);
    if (event.latenessSeconds !== null) this.scheduleLateness.observe(event.latenessSeconds);
  }

  /**
   * Sets `keel_doctor_check` from a doctor report: each check's status 1, its other statuses 0,
   * and the checks of an earlier run that this one no longer has removed.
   */
  recordDoctor(report: { checks: readonly { id: string; status: DoctorStatus }[] }): void {
    this.doctorChecks.reset();
    for (const check of report.checks) {
      for (const status of DOCTOR_STATUSES) {
        this.doctorChecks.set({ check: check.id, status }, check.status === status ? 1 : 0);
      }
    }
  }

  /** Counts one HTTP delivery attempt. */
  recordDelivery(statusClass: DeliveryStatusClass): void {
    this.deliveries.inc({ status_class: statusClass });
  }

  /** Every scrape calls this (from several collectors at once): one read in flight, cached. */
  private refresh(): Promise<void> {
    if (this.reading) return this.reading;
    if (this.now() - this.readAt < this.cacheMs) return Promise.resolve();
    this.readAt = this.now();
    this.reading = this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async read(): Promise<void> {
    // Flow key counts are part of the queues read: one failure, one error counted.
    const [queues, switches, backups] = await Promise.allSettled([
      withTimeout(
        Promise.all([this.engine.listQueues(), this.engine.flowKeyCounts?.() ?? Promise.resolve([])]),
        this.readTimeoutMs,
      ),
      withTimeout(this.switches(), this.readTimeoutMs),
      this.backups ? withTimeout(this.backups(), this.readTimeoutMs) : Promise.resolve([]),
    ]);
    if (backups.status === "fulfilled") this.backupGauges?.set(backups.value);
    else this.failed(backups.reason, "backups");
    if (queues.status === "fulfilled") {
      this.setQueues(queues.value[0]);
      this.flowKeys.reset();
      for (const f of queues.value[1]) {
        this.flowKeys.set({ queue: f.queue, state: "waiting" }, f.waiting);
        this.flowKeys.set({ queue: f.queue, state: "running" }, f.running);
      }
    } else this.failed(queues.reason, "queues");
    if (switches.status === "fulfilled") {
      this.switchState.reset();
      for (const s of switches.value) this.switchState.set({ switch: s.name }, s.enabled ? 1 : 0);
    } else this.failed(switches.reason, "switches");
  }

  private setQueues(queues: QueueInfo[]): void {
    // Reset first so a removed queue's series disappears instead of freezing at its last value.
    this.queueDepth.reset();
    this.queueLatency.reset();
    for (const q of queues) {
      for (const state of QUEUE_STATES) this.queueDepth.set({ queue: q.name, state }, q.counts[state]);
      this.queueLatency.set({ queue: q.name }, q.oldestReadyAgeSeconds);
      // Known series start at 0 so rate() sees the first job of each outcome.
      for (const outcome of JOB_OUTCOMES) this.jobs.inc({ queue: q.name, outcome }, 0);
    }
  }

  private failed(err: unknown, source: ScrapeSource): void {
    this.scrapeErrors.inc();
    this.onScrapeError?.(err, source);
  }
}

// By name as well: a handler may throw the class from another copy of @keel/engine.
function isNonRetryable(err: unknown): boolean {
  return err instanceof NonRetryableError || (err instanceof Error && err.name === "NonRetryableError");
}
