import type { Engine } from "../engine.js";
import type { AttemptDetail, ClaimedJob } from "../queue/types.js";

/** What a handler receives for one attempt of a job. */
export interface JobContext<P = unknown> {
  id: string;
  queue: string;
  handler: string;
  payload: P;
  /** 1 on the first try. */
  attempt: number;
  maxAttempts: number;
  tenant: string | null;
  /** Aborted when the lease is lost or the worker stops past its deadline; stop work then. */
  signal: AbortSignal;
  /** Records what this attempt saw (HTTP status, latency, response body) with its outcome. */
  setAttemptDetail(detail: AttemptDetail): void;
  job: Readonly<ClaimedJob>;
}

export type Handler<P = unknown> = (ctx: JobContext<P>) => Promise<unknown> | unknown;
export type Handlers = Record<string, Handler<never>>;

export type JobOutcome = "succeeded" | "failed" | "lease_lost" | "released" | "stale";

export interface WorkerHooks {
  onJobStart?(job: ClaimedJob): void;
  onJobEnd?(job: ClaimedJob, result: { outcome: JobOutcome; durationMs: number; error?: unknown }): void;
  /** A claim round (settings, queues with work, claims) that ended without error: the claim loop works. */
  onClaimPass?(): void;
  /** Background errors (claim, heartbeat, sweep) that the worker recovers from by itself. */
  onError?(
    err: unknown,
    during: "claim" | "heartbeat" | "sweep" | "maintenance" | "complete" | "listen",
  ): void;
}

export interface WorkerOptions<H extends Handlers = Handlers> {
  /** Reuse an engine (its pool); otherwise one is connected from `connectionString`. */
  engine?: Engine;
  connectionString?: string;
  schema?: string;
  /**
   * With `connectionString`: migrate the schema on start. Default false: only check that this
   * code may run on it, so a rolling deploy of the application never migrates (`keel migrate` does).
   */
  migrate?: boolean;
  /** Queues to claim from, or `"*"` for every queue (new ones are found within a second). Default `["default"]`. */
  queues?: string[] | "*";
  handlers: H;
  /** Jobs this worker runs at once. Default 10. */
  concurrency?: number;
  /**
   * Jobs claimed beyond the free slots, to start as slots free: the next batch is in hand when
   * running jobs end, and claims take more jobs a statement. Default 0. They are leased while
   * they wait (heartbeats extend them), start in claim order, and go back to their queue when
   * the worker stops; a claimed job waiting here runs even if its queue is paused meanwhile.
   * Not for queues with concurrency limits or flow control (their claims count running jobs),
   * and only with `queueShare` 1 (decision 085).
   */
  claimAhead?: number;
  /**
   * Most of the slots other queues leave free that one queue may hold, above 0 and at most 1.
   * Default 1 (any queue may take every slot). 0.5: one queue holds at most half the slots, a
   * second at most half of the rest, …, so queues of slow jobs cannot stall the others.
   */
  queueShare?: number;
  /**
   * Most running jobs per flow key in queues that set neither a key expression nor a flow
   * concurrency: keys jobs gave themselves (`flowKey`) and HTTP jobs' target hosts. `keel start`
   * sets it from KEEL_DELIVERY_HOST_CONCURRENCY (docs/flow-control.md). Default: no limit.
   */
  keyConcurrency?: number;
  /**
   * At most `limit` starts per `windowSeconds` (bursts of `burst`, default 2) per flow key in
   * queues that set neither a key expression nor a rate: the same keys as `keyConcurrency`.
   * `keel start` sets it from KEEL_DELIVERY_HOST_RATE. Default: no rate.
   */
  keyRate?: { limit: number; windowSeconds: number; burst?: number };
  /** Lease length; a crashed worker's jobs run again within about this plus the sweep interval. Default 30 s, at least 5 s. */
  leaseMs?: number;
  /** Claim even without a notification this often. Default 1 s. */
  pollIntervalMs?: number;
  /** How often this process looks for expired leases. Default 1 s. */
  sweepIntervalMs?: number;
  /** How long `stop()` waits for running handlers before releasing their jobs. Default 30 s. */
  shutdownTimeoutMs?: number;
  /** Run retention in this process (once across replicas per minute). Default true. */
  maintenance?: boolean;
  /** Sweep expired leases in this process. Default true; off where something else already sweeps. */
  sweep?: boolean;
  workerId?: string;
  hooks?: WorkerHooks;
}
