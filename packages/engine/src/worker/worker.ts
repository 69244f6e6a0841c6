import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { GcraParams } from "@keel/protocol/ratelimit";
import { type ClaimCursor, Engine, type Finished } from "../engine.js";
import { KeelError } from "../errors.js";
import { compareDecimal } from "../internal/decimal.js";
import { track } from "../internal/resources.js";
import { type Maintenance, startMaintenance } from "../maintenance/tasks.js";
import { Listener } from "../notify/listener.js";
import { backoffDelay } from "../queue/backoff.js";
import { gcraOfRate } from "../queue/flow.js";
import { leaseOf } from "../queue/rows.js";
import type { AttemptDetail, ClaimedJob, JobError, QueueLimits } from "../queue/types.js";
import { Completer } from "./completer.js";
import { LeaseLostError, NonRetryableError, RetryAfterError, WorkerShutdownError } from "./errors.js";
import { Slots, type Slotted } from "./slots.js";
import type { Handlers, JobContext, JobOutcome, WorkerOptions } from "./types.js";

interface Running extends Slotted {
  job: ClaimedJob;
  /** Made when the handler first reads its signal: a no-op handler never does. */
  controller?: AbortController;
  /** Why the job was aborted before its handler read the signal. */
  abortReason?: Error;
  /** Set when the job is no longer ours: its outcome must not be written. */
  gone?: "lease_lost" | "released";
  /** The handler has returned; only the outcome is still being written. */
  handled?: boolean;
  detail?: AttemptDetail;
  /** When the claim that leased the job began (performance.now()): its lease ran from no earlier. */
  claimedAt: number;
  /** When the handler was called (performance.now()). */
  startedAt: number;
  /** When the handler returned: the outcome's writes are retried until a lease later. */
  handledAt: number;
  /** Failed attempts to write the completion so far. */
  writeTries: number;
  /** The claim's `job_leases` row, while this job still counts in it (decision 087). */
  lease?: string;
}

/** A claim's `job_leases` row as the worker tracks it (decision 087). */
interface HeldLease {
  /** Its jobs not yet settled here. */
  jobs: number;
  /** A job of it left the worker while perhaps still leased in Postgres: the sweep deletes the row. */
  kept: boolean;
}

/**
 * A Node pull worker: claims jobs of its queues whose handler it has, runs them with bounded
 * concurrency, extends leases while they run, and records every outcome.
 *
 * @example
 * const worker = createWorker({
 *   connectionString: process.env.DATABASE_URL,
 *   queues: ["email"],
 *   handlers: { sendWelcome: async ({ payload, signal }) => mailer.send(payload, { signal }) },
 * });
 * await worker.start();
 * process.on("SIGTERM", () => worker.stop());
 */
export function createWorker<H extends Handlers>(options: WorkerOptions<H>): Worker {
  return new Worker(options as WorkerOptions);
}

export class Worker {
  readonly id: string;
  private engine: Engine | undefined;
  private ownsEngine = false;
  /** The queues named in the options; null for every queue. */
  private readonly named: string[] | null;
  private readonly handlerNames: string[];
  private readonly concurrency: number;
  private readonly leaseMs: number;
  /** Claimed jobs not yet recorded: handlers running, jobs claimed ahead, outcomes being written. */
  private readonly running = new Slots<Running>();
  /** Handlers running now: what `concurrency` bounds. */
  private busy = 0;
  /** Jobs claimed ahead of a free slot, in claim order, from `aheadAt` on (also in `running`). */
  private ahead: Running[] = [];
  private aheadAt = 0;
  /** Most jobs claimed ahead of free slots (`claimAhead`). */
  private readonly claimAhead: number;
  /** Inside `startAhead`: a handler that returns at once does not start the next job itself. */
  private startingAhead = false;
  /** When the last heartbeat that succeeded began: every lease held then runs from no earlier. */
  private extendedAt = 0;
  /** Handlers running now, per queue: what `queueShare` bounds (kept only below a share of 1). */
  private busyByQueue = new Map<string, number>();
  private readonly queueShare: number;
  private completer: Completer<Running> | undefined;
  private listener: Listener | undefined;
  private timers: NodeJS.Timeout[] = [];
  private maintenance: Maintenance | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** A pending wake-up for the next start a flow rate allows. */
  private rateTimer: NodeJS.Timeout | undefined;
  private limits = new Map<string, QueueLimits>();
  private limitsReadAt = 0;
  /** Serving every queue: the queues last seen holding work, and when they were scanned. */
  private waiting = new Set<string>();
  private waitingReadAt = 0;
  /**
   * Notifications counted, and the count at each queue's last one: a scan, a claim or a settings
   * read that began before a queue's notification may not have seen its job (or its resume), so
   * it must not drop the queue (or keep it paused).
   */
  private notifications = 0;
  private notifiedAt = new Map<string, number>();
  private filling = false;
  /** The `job_leases` rows of this worker's claims with jobs not yet settled (decision 087). */
  private leases = new Map<string, HeldLease>();
  /** Rows whose jobs have all ended, to delete with the next heartbeat (and at stop). */
  private leasesEnded: string[] = [];
  /** Whether the completion statement was run once on a second connection (decision 086). */
  private warmedCompletion = false;
  private refill = false;
  private wakeScheduled = false;
  /** A claim came back full or a notification arrived: more work is probably waiting. */
  private hungry = true;
  private rotation = 0;
  /** Per unlimited queue: where the next claims scan from (see `Cursor`). */
  private cursors = new Map<string, Cursor>();
  private state: "new" | "running" | "stopping" | "stopped" = "new";
  private stopped: Promise<void> | undefined;
  private idleWaiters: (() => void)[] = [];
  private untrack: (() => void) | undefined;

  /** `keyRate` as GCRA parameters, for the claims. */
  private readonly keyRate: GcraParams | null;

  constructor(private readonly options: WorkerOptions) {
    this.id = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
    this.named = options.queues === "*" ? null : (options.queues ?? ["default"]);
    this.handlerNames = Object.keys(options.handlers);
    this.concurrency = options.concurrency ?? 10;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.queueShare = options.queueShare ?? 1;
    this.claimAhead = options.claimAhead ?? 0;
    const rate = options.keyRate;
    if (
      rate &&
      !(
        Number.isInteger(rate.limit) &&
        rate.limit >= 1 &&
        Number.isInteger(rate.windowSeconds) &&
        rate.windowSeconds >= 1 &&
        (rate.burst === undefined || (Number.isInteger(rate.burst) && rate.burst >= 1))
      )
    ) {
      throw new KeelError("invalid_argument", {
        detail: "keyRate needs a whole limit, windowSeconds and burst (if given) of at least 1",
      });
    }
    this.keyRate = rate ? gcraOfRate(rate) : null;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new KeelError("invalid_argument", { detail: "concurrency must be a whole number of at least 1" });
    }
    if (!(this.queueShare > 0 && this.queueShare <= 1)) {
      throw new KeelError("invalid_argument", { detail: "queueShare must be above 0 and at most 1" });
    }
    if (!Number.isInteger(this.claimAhead) || this.claimAhead < 0) {
      throw new KeelError("invalid_argument", { detail: "claimAhead must be a whole number of at least 0" });
    }
    if (this.claimAhead > 0 && this.queueShare < 1) {
      throw new KeelError("invalid_argument", {
        detail: "claimAhead needs queueShare 1: jobs claimed ahead would hold a share's slots unseen",
      });
    }
    if (!(this.leaseMs >= 5_000))
      throw new KeelError("invalid_argument", { detail: "leaseMs must be at least 5000" });
    if (this.handlerNames.length === 0)
      throw new KeelError("invalid_argument", { detail: "give at least one handler" });
  }

  /** Connects (if needed), starts listening and claiming. */
  async start(): Promise<void> {
    if (this.state !== "new") throw new KeelError("worker_stopped");
    this.state = "running";
    this.untrack = track("worker", this);
    try {
      if (this.options.engine) this.engine = this.options.engine;
      else {
        this.engine = await Engine.connect({
          connectionString: this.options.connectionString,
          schema: this.options.schema,
          migrate: this.options.migrate,
          poolSize: Math.min(20, this.concurrency + 3),
          applicationName: "keel-worker",
        });
        this.ownsEngine = true;
      }
    } catch (err) {
      this.state = "stopped";
      this.untrack();
      throw err;
    }
    const engine = this.engine;
    this.completer = new Completer<Running>(
      engine,
      {
        finished: finishedOf,
        done: (entry, stale) => {
          this.settle(entry, true);
          this.ended(entry, stale ? "stale" : "succeeded", undefined);
        },
        failed: (entry, err) => this.completionFailed(entry, err),
      },
      completionBatch(this.concurrency + this.claimAhead),
    );
    // Behind a transaction-mode pooler with no direct connection string: poll only (decision 036).
    const connectionString =
      engine.listenConnectionString ?? (engine.namedStatements ? this.options.connectionString : undefined);
    if (connectionString) {
      this.listener = new Listener({
        connectionString,
        channel: engine.channel,
        onNotify: (queue) => {
          if (this.named !== null && !this.named.includes(queue)) return;
          this.notifiedAt.set(queue, ++this.notifications);
          // A resume notifies too: re-read a queue last seen paused instead of skipping it
          // until the next settings read (up to a second later).
          if (this.limits.get(queue)?.paused) this.limitsReadAt = 0;
          if (this.named === null) this.waiting.add(queue);
          this.hungry = true;
          this.wake();
        },
        // Claims may have begun before LISTEN did: one now sees what was notified meanwhile.
        onConnect: () => {
          this.hungry = true;
          this.wake();
        },
        onError: (err) => this.options.hooks?.onError?.(err, "listen"),
      });
    }
    // The first claim does not wait for the LISTEN connection (a connection set-up, ~10 ms).
    this.wake();
    await this.listener?.start();
    this.every(this.options.pollIntervalMs ?? 1_000, () => {
      this.hungry = true;
      this.wake();
    });
    if (this.options.sweep !== false || this.options.maintenance !== false) {
      this.maintenance = startMaintenance(engine, {
        sweep: this.options.sweep !== false,
        sweepIntervalMs: this.options.sweepIntervalMs,
        retention: this.options.maintenance !== false,
        onRun: (report) => {
          if (!report.ok)
            this.options.hooks?.onError?.(report.error, report.group === "sweep" ? "sweep" : "maintenance");
          else if ((report.result?.requeued ?? 0) > 0) {
            // Swept jobs are ready now: claim them without waiting for the next poll.
            this.hungry = true;
            this.wake();
          }
        },
      });
    }
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), Math.floor(this.leaseMs / 3));
  }

  private every(ms: number, fn: () => unknown): void {
    // A little jitter so replicas started together do not poll in lockstep.
    this.timers.push(setInterval(fn, Math.round(ms * (0.9 + Math.random() * 0.2))));
  }

  /**
   * A queue's settings as this worker last read them (at most about a second old, re-read at once
   * for a queue it had not seen); undefined for a queue it has not read yet. The delivery worker
   * takes its attempt timeouts from here instead of reading the same rows again.
   */
  queueSettings(queue: string): QueueLimits | undefined {
    return this.limits.get(queue);
  }

  /** Jobs this worker holds now: handlers running, jobs claimed ahead, and outcomes being written. */
  get activeCount(): number {
    return this.running.size;
  }

  /** Asks for a claim in `ms` (at most the poll interval); one such wake-up is pending at a time. */
  private wakeIn(ms: number): void {
    if (this.rateTimer || this.state !== "running") return;
    const delay = Math.min(Math.max(1, Math.ceil(ms)), this.options.pollIntervalMs ?? 1_000);
    this.rateTimer = setTimeout(() => {
      this.rateTimer = undefined;
      this.hungry = true;
      this.wake();
    }, delay);
  }

  /** Asks for a claim on the next tick; many wake-ups in one tick make one claim. */
  private wake(): void {
    if (this.state !== "running" || this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      void this.fill();
    });
  }

  private async fill(): Promise<void> {
    if (this.filling) {
      this.refill = true;
      return;
    }
    this.filling = true;
    const engine = this.engine as Engine;
    // Only a round that asked Postgres tells that the claim loop works.
    let queried = false;
    try {
      do {
        this.refill = false;
        if (!this.hungry) break;
        this.hungry = false;
        queried = true;
        await this.refreshLimits(engine);
        const queues = this.named ?? (await this.queuesWithWork(engine));
        for (let i = 0; i < queues.length && this.state === "running"; i++) {
          const queue = queues[(this.rotation + i) % queues.length] as string;
          if (this.freeSlots(false) <= 0) {
            this.hungry = true;
            break;
          }
          const limits = this.limits.get(queue);
          if (limits?.paused) continue;
          const limited = limits?.limited ?? false;
          // A queue at its share waits for one of its own slots to free (runJob wakes us then).
          const limit = Math.min(this.freeSlots(limited), this.queueRoom(queue));
          if (limit <= 0) continue;
          const cursor = limited ? undefined : this.cursors.get(queue);
          const claimStart = performance.now();
          const scan: "front" | "recent" | "after" =
            !cursor || claimStart - cursor.frontAt >= cursor.frontEvery
              ? "front"
              : claimStart - cursor.recentAt >= CURSOR_RECENT_SCAN_MS
                ? "recent"
                : "after";
          const claimedAfter = this.notifications;
          const claiming = engine.claim({
            queue,
            handlers: this.handlerNames,
            limit,
            leaseMs: this.leaseMs,
            workerId: this.id,
            limited,
            defaultKeyConcurrency: this.options.keyConcurrency,
            defaultKeyRate: this.keyRate,
            after: !cursor || scan === "front" ? null : scan === "recent" ? lookBack(cursor.at) : cursor.at,
          });
          // Beside the first claim, which has asked for its connection first (decision 086).
          if (!this.warmedCompletion) {
            this.warmedCompletion = true;
            void engine.warmCompletion();
          }
          const jobs = await claiming;
          if (!limited) this.moveCursor(queue, cursor, scan, lastInIndexOrder(jobs), claimStart);
          if (jobs.length === limit) this.hungry = true;
          // A rate per key holds work back until its keys' next starts are due: look again then.
          else if (limits?.flowRateIntervalMs != null) this.wakeIn(limits.flowRateIntervalMs);
          else if (this.keyRate && limits?.limited && !limits.keyExpression)
            this.wakeIn(this.keyRate.intervalUs / 1000);
          // A short claim emptied the queue's due work: skip it until a notification or the next scan
          // (unless one came during the claim: its job may be newer than what the claim saw).
          else if (!this.notifiedSince(queue, claimedAfter)) this.waiting.delete(queue);
          // One job_leases row for the claim's jobs (decision 087).
          const lease = jobs.length > 0 ? leaseOf(jobs[0] as ClaimedJob) : undefined;
          if (this.state !== "running") {
            // Stopped while claiming: hand them straight back (their row goes at stop).
            await engine.release(jobs);
            if (lease !== undefined) this.leasesEnded.push(lease);
            break;
          }
          if (lease !== undefined) this.leases.set(lease, { jobs: jobs.length, kept: false });
          for (const job of jobs) this.admit(job, claimStart, lease);
        }
        this.rotation++;
      } while (this.refill || (this.hungry && this.freeSlots(false) > 0 && this.state === "running"));
      if (queried) this.options.hooks?.onClaimPass?.();
    } catch (err) {
      this.hungry = true;
      this.options.hooks?.onError?.(err, "claim");
    } finally {
      this.filling = false;
      this.notifyIdle();
    }
  }

  /**
   * Serving every queue: claim only from queues that hold work instead of one claim per (mostly
   * empty) queue. The set is rescanned at most once a second, like the settings; notifications
   * add to it in between. A queue created since the last settings read is read at once.
   */
  private async queuesWithWork(engine: Engine): Promise<string[]> {
    if (Date.now() - this.waitingReadAt >= 1_000) {
      const readAfter = this.notifications;
      const read = await engine.waitingQueues();
      // A notification during the read added its queue to the set this one replaces: keep it.
      for (const queue of this.waiting) if (this.notifiedSince(queue, readAfter)) read.add(queue);
      this.waiting = read;
      this.waitingReadAt = Date.now();
    }
    const waiting = [...this.waiting];
    if (waiting.some((q) => !this.limits.has(q))) {
      this.limitsReadAt = 0;
      await this.refreshLimits(engine);
    }
    return waiting.filter((q) => this.limits.has(q));
  }

  /**
   * After a claim: the cursor moves to the last job claimed (a look back never moves it back), and
   * the scan is timed even when it found nothing, so the next one of its kind waits its turn.
   */
  private moveCursor(
    queue: string,
    cursor: Cursor | undefined,
    scan: "front" | "recent" | "after",
    last: ClaimCursor | undefined,
    started: number,
  ): void {
    if (scan === "front") {
      const at = last ?? cursor?.at;
      if (!at) return;
      const took = performance.now() - started;
      this.cursors.set(queue, {
        at,
        frontAt: started,
        frontEvery: fullScanInterval(took),
        recentAt: started,
      });
      return;
    }
    const c = cursor as Cursor;
    const at = last && compareCursors(last, c.at) > 0 ? last : c.at;
    this.cursors.set(queue, { ...c, at, recentAt: scan === "recent" ? started : c.recentAt });
  }

  /** Whether a notification for `queue` arrived after the `count`th. */
  private notifiedSince(queue: string, count: number): boolean {
    return (this.notifiedAt.get(queue) ?? 0) > count;
  }

  private async refreshLimits(engine: Engine): Promise<void> {
    if (Date.now() - this.limitsReadAt < 1_000) return;
    const readAfter = this.notifications;
    this.limits = await engine.queueLimits(this.named);
    // A resume notified during the read may be newer than the pause it read: read again next pass.
    const stale = [...this.limits].some(([queue, l]) => l.paused && this.notifiedSince(queue, readAfter));
    this.limitsReadAt = stale ? 0 : Date.now();
  }

  /**
   * How many jobs the next claim may take. A slot frees when its handler returns, not when the
   * outcome commits: the next claim then overlaps the batched completion instead of waiting a
   * commit for it. Up to `claimAhead` more are claimed to wait for a slot, except from a
   * `limited` queue: its claims count running jobs against its limits, so it gets only slots
   * that are free now (decision 085). Outcomes still being written are capped at another claim's
   * worth (`concurrency` + `claimAhead`), so a slow database cannot pile them up.
   */
  private freeSlots(limited: boolean): number {
    const held = this.concurrency + this.claimAhead;
    const waiting = this.ahead.length - this.aheadAt;
    const room = (limited ? this.concurrency : held) - this.busy - waiting;
    return Math.min(room, 2 * held - this.running.size);
  }

  /**
   * Slots `queue` may still take: a queue holds at most `queueShare` of the slots the other
   * queues leave (at least one), so with 0.5 one queue of endpoints that never answer holds half
   * the slots, a second a quarter, and the rest keep delivering (decision 028).
   */
  private queueRoom(queue: string): number {
    if (this.queueShare >= 1) return Number.POSITIVE_INFINITY;
    const own = this.busyByQueue.get(queue) ?? 0;
    const cap = Math.max(1, Math.floor(this.queueShare * (this.concurrency - (this.busy - own))));
    return cap - own;
  }

  /** A job just claimed: it runs now if a slot is free and none waits before it, else it waits. */
  private admit(job: ClaimedJob, claimedAt: number, lease: string | undefined): void {
    const entry: Running = { job, slot: -1, claimedAt, startedAt: 0, handledAt: 0, writeTries: 0, lease };
    this.running.add(entry);
    if (this.busy < this.concurrency && this.aheadAt === this.ahead.length) this.execute(entry);
    else this.ahead.push(entry);
  }

  private execute(entry: Running): void {
    this.busy++;
    if (this.queueShare < 1)
      this.busyByQueue.set(entry.job.queue, (this.busyByQueue.get(entry.job.queue) ?? 0) + 1);
    this.runJob(entry);
  }

  /**
   * Starts jobs claimed ahead while slots are free, in claim order. One whose lease was lost
   * while it waited (cancelled, or swept) is dropped unstarted: no hook hears of it. So is one
   * whose lease may have lapsed unseen: no heartbeat has extended it for a lease's length (the
   * database unreachable, say), so the sweep may already have handed it to another worker.
   */
  private startAhead(): void {
    if (this.startingAhead) return;
    this.startingAhead = true;
    try {
      while (this.busy < this.concurrency && this.aheadAt < this.ahead.length && this.state === "running") {
        const entry = this.ahead[this.aheadAt++] as Running;
        if (!entry.gone && performance.now() >= Math.max(entry.claimedAt, this.extendedAt) + this.leaseMs)
          entry.gone = "lease_lost";
        if (entry.gone) this.drop(entry);
        else this.execute(entry);
      }
      if (this.aheadAt === this.ahead.length) {
        this.ahead = [];
        this.aheadAt = 0;
      } else if (this.aheadAt >= 1_024 && 2 * this.aheadAt >= this.ahead.length) {
        this.ahead = this.ahead.slice(this.aheadAt);
        this.aheadAt = 0;
      }
    } finally {
      this.startingAhead = false;
    }
  }

  /**
   * `entry` no longer counts in its claim's `job_leases` row: `ended` when it is surely not leased
   * in Postgres any more (its outcome committed, or its lease found lost), else it may still be,
   * and the row stays for the sweep. A row whose jobs have all ended is deleted with the next
   * heartbeat (decision 087). Called again for the same job, it does nothing.
   */
  private settle(entry: Running, ended: boolean): void {
    const lease = entry.lease;
    if (lease === undefined) return;
    entry.lease = undefined;
    const held = this.leases.get(lease) as HeldLease;
    held.jobs--;
    if (!ended) held.kept = true;
    if (held.jobs > 0) return;
    this.leases.delete(lease);
    if (!held.kept) this.leasesEnded.push(lease);
  }

  /** A job that never started leaves the worker (its lease lost, or released at stop). */
  private drop(entry: Running): void {
    this.settle(entry, false);
    this.running.delete(entry);
    this.notifyIdle();
    this.hungry = true;
    this.wake();
  }

  /**
   * Calls the job's handler. A handler that returns no promise is done at once: no turn of the
   * microtask queue, no promise made for the job (decision 082).
   */
  private runJob(entry: Running): void {
    const { job } = entry;
    const onJobStart = this.options.hooks?.onJobStart;
    if (onJobStart)
      try {
        onJobStart(job);
      } catch (err) {
        throwLater(err);
      }
    entry.startedAt = performance.now();
    let result: unknown;
    try {
      const handler = this.options.handlers[job.handler] as ((ctx: JobContext) => unknown) | undefined;
      if (!handler) throw new KeelError("unknown_handler", { handler: job.handler });
      result = handler(new Attempt(entry));
    } catch (err) {
      this.handled(entry, false, err);
      return;
    }
    if (isThenable(result))
      Promise.resolve(result).then(
        () => this.handled(entry, true, undefined),
        (err: unknown) => this.handled(entry, false, err),
      );
    else this.handled(entry, true, undefined);
  }

  /** The handler returned (`ok`) or threw `error`: its slot frees, and its outcome is written. */
  private handled(entry: Running, ok: boolean, error: unknown): void {
    const { job } = entry;
    entry.handled = true;
    entry.handledAt = performance.now();
    this.busy--;
    if (this.queueShare < 1) {
      const own = (this.busyByQueue.get(job.queue) ?? 1) - 1;
      if (own > 0) this.busyByQueue.set(job.queue, own);
      else this.busyByQueue.delete(job.queue);
    }
    this.hungry = true;
    this.wake();
    if (entry.gone) this.ended(entry, entry.gone, error);
    else if (ok) (this.completer as Completer<Running>).add(entry);
    else void this.writeFailure(entry, error);
    if (this.aheadAt < this.ahead.length) this.startAhead();
  }

  /**
   * A completion's write failed. It is tried again, with the next batch, while the job's lease
   * may still hold: a Postgres restart or failover of a few seconds then costs no second run.
   * Once the lease has surely expired the job runs again anyway (and a late write would be
   * refused as stale), so retrying stops.
   */
  private completionFailed(entry: Running, err: unknown): void {
    const wait = Math.min(1_000, 100 * 2 ** ++entry.writeTries);
    if (this.state !== "running" || performance.now() + wait >= entry.handledAt + this.leaseMs) {
      // The lease will expire and the job will run again: at-least-once, never lost.
      this.options.hooks?.onError?.(err, "complete");
      this.ended(entry, "succeeded", undefined);
      return;
    }
    setTimeout(() => (this.completer as Completer<Running>).add(entry), wait);
  }

  private async writeFailure(entry: Running, error: unknown): Promise<void> {
    let outcome: JobOutcome = "failed";
    try {
      const stale = await this.untilLeaseEnds(() => this.recordFailure(entry.job, error, entry.detail));
      if (stale) outcome = "stale";
      this.settle(entry, true);
    } catch (err) {
      // The lease will expire and the job will run again: at-least-once, never lost.
      this.options.hooks?.onError?.(err, "complete");
    }
    this.ended(entry, outcome, error);
  }

  /** The job is done here: its outcome is written (or given up on, or no longer ours). */
  private ended(entry: Running, outcome: JobOutcome, error: unknown): void {
    this.settle(entry, false);
    this.running.delete(entry);
    const onJobEnd = this.options.hooks?.onJobEnd;
    if (onJobEnd)
      try {
        onJobEnd(entry.job, { outcome, durationMs: performance.now() - entry.startedAt, error });
      } catch (err) {
        throwLater(err);
      }
    this.notifyIdle();
    // A freed slot (here, or under a queue's global limit) may let waiting work run now.
    this.hungry = true;
    this.wake();
  }

  /**
   * Writes an outcome, retrying while the job's lease may still hold: a Postgres restart or
   * failover of a few seconds then costs no second run. Once the lease has surely expired the
   * job runs again anyway (and a late write would be refused as stale), so retrying stops.
   */
  private async untilLeaseEnds(write: () => Promise<boolean>): Promise<boolean> {
    const deadline = performance.now() + this.leaseMs;
    for (let tryNo = 1; ; tryNo++) {
      try {
        return await write();
      } catch (err) {
        const wait = Math.min(1_000, 100 * 2 ** tryNo);
        if (this.state !== "running" || performance.now() + wait >= deadline) throw err;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  private async recordFailure(
    job: ClaimedJob,
    err: unknown,
    detail: AttemptDetail | undefined,
  ): Promise<boolean> {
    const retryInMs =
      err instanceof NonRetryableError
        ? null
        : err instanceof RetryAfterError
          ? err.seconds * 1000
          : backoffDelay(job.backoff, job.attempt);
    const stale = await (this.engine as Engine).fail([{ job, error: toJobError(err), retryInMs, detail }]);
    return stale.has(job.id);
  }

  private async heartbeat(): Promise<void> {
    await this.extendLeases();
    await this.forgetLeases();
  }

  private async extendLeases(): Promise<void> {
    const held = this.running.list().filter((r) => !r.gone);
    if (held.length === 0) return;
    const at = performance.now();
    try {
      const lost = await (this.engine as Engine).heartbeat(
        held.map((r) => r.job),
        this.leaseMs,
      );
      this.extendedAt = at;
      const byId = new Map(held.map((r) => [r.job.id, r]));
      for (const id of lost) {
        const entry = byId.get(id);
        // Still ours: not finished while the heartbeat was in flight.
        if (entry && this.running.has(entry) && !entry.gone) {
          entry.gone = "lease_lost";
          this.settle(entry, true);
          abort(entry, new LeaseLostError(`job ${id}: lease lost (expired or cancelled)`));
        }
      }
    } catch (err) {
      this.options.hooks?.onError?.(err, "heartbeat");
    }
  }

  /** Deletes the `job_leases` rows whose jobs have all ended; kept for the next try on failure. */
  private async forgetLeases(): Promise<void> {
    if (this.leasesEnded.length === 0) return;
    const ids = this.leasesEnded;
    this.leasesEnded = [];
    try {
      await (this.engine as Engine).forgetLeases(ids);
    } catch (err) {
      this.leasesEnded.push(...ids);
      this.options.hooks?.onError?.(err, "heartbeat");
    }
  }

  private notifyIdle(): void {
    if (this.running.size > 0 || this.filling) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private waitIdle(timeoutMs: number): Promise<boolean> {
    if (this.running.size === 0 && !this.filling) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  /**
   * Stops claiming, waits up to `shutdownTimeoutMs` for running handlers, then aborts the rest
   * and releases their jobs back to the queue (no attempt spent, no wait for a lease).
   */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  /** Stopping: jobs claimed ahead that have not started go straight back to their queue. */
  private async releaseAhead(): Promise<void> {
    const waiting = this.ahead.slice(this.aheadAt);
    this.ahead = [];
    this.aheadAt = 0;
    if (waiting.length === 0) return;
    const ours = waiting.filter((entry) => !entry.gone);
    for (const entry of waiting) entry.gone ??= "released";
    try {
      await (this.engine as Engine).release(ours.map((entry) => entry.job));
      for (const entry of ours) this.settle(entry, true);
    } catch (err) {
      // Their leases will expire and the sweep will hand them out again: never lost.
      this.options.hooks?.onError?.(err, "complete");
    }
    for (const entry of waiting) this.drop(entry);
  }

  private async shutdown(): Promise<void> {
    if (this.state === "new") {
      this.state = "stopped";
      return;
    }
    this.state = "stopping";
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    clearTimeout(this.rateTimer);
    await this.releaseAhead();
    await this.maintenance?.stop();
    await this.listener?.stop();
    const idle = await this.waitIdle(this.options.shutdownTimeoutMs ?? 30_000);
    if (!idle) {
      // Jobs whose outcome is being written are not released: their lease token decides.
      const rest = this.running.list().filter((r) => !r.gone && !r.handled);
      for (const r of rest) {
        r.gone = "released";
        abort(r, new WorkerShutdownError("worker stopping: job released back to its queue"));
      }
      try {
        await (this.engine as Engine).release(rest.map((r) => r.job));
        for (const r of rest) this.settle(r, true);
      } catch (err) {
        this.options.hooks?.onError?.(err, "complete");
      }
    }
    await this.completer?.flush();
    clearInterval(this.heartbeatTimer);
    await this.forgetLeases();
    this.state = "stopped";
    if (this.ownsEngine) await this.engine?.close();
    this.untrack?.();
  }
}

/**
 * What a handler receives. A class, not an object literal with a `signal` getter: V8 builds such
 * a literal through the runtime, about 0.9 µs a job against 0.02 µs for this (decision 070).
 */
class Attempt implements JobContext {
  readonly id: string;
  readonly queue: string;
  readonly handler: string;
  readonly payload: unknown;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly tenant: string | null;
  readonly job: ClaimedJob;
  /** Called detached too (`const { setAttemptDetail } = ctx`), so bound to its entry. */
  readonly setAttemptDetail: (detail: AttemptDetail) => void;

  readonly #entry: Running;

  constructor(entry: Running) {
    const { job } = entry;
    this.#entry = entry;
    this.id = job.id;
    this.queue = job.queue;
    this.handler = job.handler;
    this.payload = job.payload;
    this.attempt = job.attempt;
    this.maxAttempts = job.maxAttempts;
    this.tenant = job.tenant;
    this.job = job;
    this.setAttemptDetail = (detail) => {
      entry.detail = detail;
    };
  }

  get signal(): AbortSignal {
    return signalOf(this.#entry);
  }
}

/** A job's abort signal, made on first read (aborted already if the job was). */
function signalOf(entry: Running): AbortSignal {
  if (!entry.controller) {
    entry.controller = new AbortController();
    if (entry.abortReason) entry.controller.abort(entry.abortReason);
  }
  return entry.controller.signal;
}

/**
 * What an application hook threw: thrown again outside the worker, as an uncaught exception (as
 * a job's rejected promise used to make it), so that it neither goes unseen nor stops the
 * worker's bookkeeping for the job and its neighbours, which are handled a batch at a time.
 */
function throwLater(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}

/** What the completion writes for `entry`. */
function finishedOf(entry: Running): Finished {
  return { id: entry.job.id, leaseToken: entry.job.leaseToken, detail: entry.detail };
}

/** Whether `value` is a promise or promise-like (what `await` would wait for). */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

function abort(entry: Running, reason: Error): void {
  if (entry.controller) entry.controller.abort(reason);
  else entry.abortReason = reason;
}

/**
 * The most jobs one completion statement ends: a claim's worth (the worker claims up to its
 * concurrency at once), at least 500 and at most 2,000 (decision 084). Fewer, larger
 * completions cost Postgres less a job; 2,000 keeps one statement's arrays and row locks small.
 */
export function completionBatch(concurrency: number): number {
  return Math.min(2_000, Math.max(500, concurrency));
}

/**
 * Per unlimited queue, where a worker's claims scan from (decision 054): after `at`, the last job
 * it claimed; from `LOOK_BACK_US` before it every `CURSOR_RECENT_SCAN_MS`; from the front every
 * `frontEvery` ms.
 */
interface Cursor {
  at: ClaimCursor;
  frontAt: number;
  frontEvery: number;
  recentAt: number;
}

/**
 * How often a worker's claims of a queue scan it from the front instead of after the last job
 * claimed (decision 054): the longest a job that became due far behind the cursor (one handed
 * back by a stopping worker keeps its old run_at) waits for a claim, while such scans are quick.
 */
const CURSOR_FULL_SCAN_MS = 1_000;
/**
 * How often a claim looks back `LOOK_BACK_US` behind the cursor: a job's run_at is its enqueuing
 * transaction's start, so one that committed after later jobs were claimed lands just behind the
 * cursor. Walking a few seconds of entries stays cheap even under a pinned horizon.
 */
const CURSOR_RECENT_SCAN_MS = 250;
const LOOK_BACK_US = 5_000_000n;
/** A slow scan from the front is repeated only after this many times its own duration… */
const FULL_SCAN_PACING = 10;
/** …and at least this often. */
const CURSOR_FULL_SCAN_MAX_MS = 30_000;

/**
 * When the next claim from the front may run after one that took `tookMs`. Under a pinned vacuum
 * horizon a scan from the front walks every dead entry left since the pin (hundreds of
 * milliseconds after ten minutes at 1,000 jobs/s) and holds up the claims behind it; paced at
 * ten times its duration it takes at most about a tenth of the claim loop (until the cap). A
 * quick scan keeps the one-second period.
 */
export function fullScanInterval(tookMs: number): number {
  return Math.min(CURSOR_FULL_SCAN_MAX_MS, Math.max(CURSOR_FULL_SCAN_MS, FULL_SCAN_PACING * tookMs));
}

/** A cursor `LOOK_BACK_US` before `at`, at the same priority. */
export function lookBack(at: ClaimCursor): ClaimCursor {
  return { priority: at.priority, runAtUs: String(BigInt(at.runAtUs) - LOOK_BACK_US), id: "0" };
}

/** Index order (priority desc, run_at, id): positive when `a` comes after `b`. */
function compareCursors(a: ClaimCursor, b: ClaimCursor): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  return compareDecimal(a.runAtUs, b.runAtUs) || compareDecimal(a.id, b.id);
}

/**
 * The claimed job that comes last in the claim's order (priority desc, run_at, id), as a cursor;
 * undefined when there is none or a claim gave no exact run_at.
 */
export function lastInIndexOrder(jobs: readonly ClaimedJob[]): ClaimCursor | undefined {
  let last: ClaimedJob | undefined;
  for (const j of jobs) {
    if (j.runAtUs === undefined) return undefined;
    if (!last || compareCursors(j as ClaimCursor, last as ClaimCursor) > 0) last = j;
  }
  return last && { priority: last.priority, runAtUs: last.runAtUs as string, id: last.id };
}

function toJobError(err: unknown): JobError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      message: err.message.slice(0, 4000),
      ...(typeof code === "string" ? { code } : {}),
      ...(err.stack ? { stack: err.stack.slice(0, 8000) } : {}),
    };
  }
  return { message: String(err).slice(0, 4000) };
}

export type { Handler, Handlers, JobContext, JobOutcome, WorkerHooks, WorkerOptions } from "./types.js";
