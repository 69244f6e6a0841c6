import { type GcraParams, gcra } from "./gcra.js";
import { rateLimitHeaders } from "./headers.js";
import type { ResolvedPolicy } from "./policy.js";
import type { StoreOutcome } from "./store.js";
import type { DecisionOutcome, PolicyResult, RateLimitDecision } from "./types.js";

/** One validated part of a check. */
export interface CheckEntry {
  policy: ResolvedPolicy;
  key: string;
  cost: number;
}

const seconds = (us: number) => Math.ceil(us / 1_000_000);

/**
 * The results of entries a store (or the fallback) decided. A policy that would admit while
 * another refused spent nothing, so its numbers are read without the cost.
 */
export function storeResults(
  entries: readonly CheckEntry[],
  outcome: StoreOutcome,
  params: (e: CheckEntry) => GcraParams & { limit: number },
  labels: { allowed: DecisionOutcome; denied: DecisionOutcome },
): PolicyResult[] {
  return entries.map((e, i) => {
    const p = params(e);
    const tat = outcome.tats[i] ?? 0;
    const own = gcra(outcome.nowUs, tat, p, e.cost);
    const shown = own.allowed && !outcome.admitted ? gcra(outcome.nowUs, tat, p, 0) : own;
    const result: PolicyResult = {
      policy: e.policy.name,
      key: e.key,
      allowed: own.allowed,
      outcome: own.allowed ? (outcome.admitted ? labels.allowed : "denied_by_other") : labels.denied,
      limit: p.limit,
      windowSeconds: e.policy.windowSeconds,
      remaining: Math.max(0, shown.remaining),
      resetSeconds: seconds(shown.resetUs),
    };
    if (!own.allowed) result.retryAfterSeconds = Math.max(1, seconds(own.retryAfterUs));
    return result;
  });
}

/** Assembles the decision and its headers from the per-policy results. */
export function toDecision(results: PolicyResult[]): RateLimitDecision {
  // One pass, no intermediate arrays: this runs on every decision.
  let allowed = true;
  let longestWait = 1;
  for (const r of results) {
    if (!r.allowed) allowed = false;
    if (r.retryAfterSeconds !== undefined && r.retryAfterSeconds > longestWait)
      longestWait = r.retryAfterSeconds;
  }
  const retryAfterSeconds = allowed ? undefined : longestWait;
  const decision: RateLimitDecision = {
    allowed,
    results,
    headers: rateLimitHeaders(results, retryAfterSeconds),
  };
  if (retryAfterSeconds !== undefined) decision.retryAfterSeconds = retryAfterSeconds;
  return decision;
}
