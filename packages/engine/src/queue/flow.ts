import type { GcraParams } from "@keel/protocol/ratelimit";
import { KeelError } from "../errors.js";
import type { FlowSettings, QueueSettings } from "./types.js";

/** A queue's row as queue_settings reads it (the claim function of migration 0018 reads the same). */
export interface LockedQueue {
  concurrency: number | null;
  /** The key expression; null when jobs are keyed only by their own flowKey or HTTP host. */
  flow_key?: string | null;
  flow_concurrency: number | null;
  flow_rate_limit: number | null;
  flow_rate_window_seconds: number | null;
  flow_rate_burst: number | null;
  paused: boolean;
}

/**
 * A queue's rate per key value as GCRA parameters, turned as the rate limiter turns a policy
 * (interval = window / limit in microseconds, rounded up). Burst defaults to 2: with 1, every
 * start that a worker's claim makes after the key's due time pushes all later starts back by
 * that lag (measured: 7.8/s of 10/s); 2 absorbs lags shorter than an interval (decision 051).
 * Null when the queue has no rate.
 */
export function flowRateOf(
  q: Omit<LockedQueue, "paused" | "concurrency" | "flow_concurrency">,
): GcraParams | null {
  if (q.flow_rate_limit === null || q.flow_rate_window_seconds === null) return null;
  return {
    intervalUs: Math.ceil((q.flow_rate_window_seconds * 1_000_000) / q.flow_rate_limit),
    burst: q.flow_rate_burst ?? 2,
  };
}

/**
 * A rate given as policy fields (`{ limit, windowSeconds, burst? }`, a worker's `keyRate`) as GCRA
 * parameters, turned as a queue's flow rate is.
 */
export function gcraOfRate(rate: { limit: number; windowSeconds: number; burst?: number }): GcraParams {
  return flowRateOf({
    flow_rate_limit: rate.limit,
    flow_rate_window_seconds: rate.windowSeconds,
    flow_rate_burst: rate.burst ?? null,
  }) as GcraParams;
}

/**
 * How many keys one claim walks at most: a turn for every job of a full batch, with room for
 * keys at their limits, and bounded however many keys wait (decision 051). Keys beyond it wait
 * for the next claim, which starts after the last key that got a job.
 */
export function flowWalkLength(limit: number): number {
  return limit + 32;
}

/**
 * A queue's flow control from its settings: `flow`, or `tenantConcurrency` as the flow key
 * `tenant` with that concurrency (the two together are refused).
 */
export function queueFlow(s: QueueSettings): FlowSettings | null {
  if (s.flow != null && s.tenantConcurrency != null) {
    throw new KeelError("invalid_argument", {
      detail:
        "settings: give flow or tenantConcurrency, not both (tenantConcurrency is flow { key: tenant, concurrency })",
    });
  }
  if (s.flow != null) return s.flow;
  if (s.tenantConcurrency != null) return { key: "tenant", concurrency: s.tenantConcurrency };
  return null;
}
