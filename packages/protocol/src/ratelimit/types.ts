import type { FailMode } from "./policy.js";

/** One policy to charge in a check, with the key it is counted under. */
export interface LimitRequest {
  /** A policy declared in the limiter. */
  policy: string;
  /** Whose quota: `keyByUser(id)`, `keyByToken(token)`, `keyByAddress(ip)` or your own string (1–1024 characters). */
  key: string;
  /** Units this request costs; default 1. 0 reads the state without spending anything. */
  cost?: number;
}

/**
 * How a policy's part of a check was decided, as `keel_ratelimit_decisions_total{outcome}`
 * counts it: by the store (`allowed`, `denied`; `denied_by_other` when this policy would have
 * admitted but another policy of the same check refused, so nothing was spent), or, with the
 * store failing, by the policy's fail mode.
 */
export type DecisionOutcome =
  | "allowed"
  | "denied"
  | "denied_by_other"
  | "fail_open"
  | "fail_closed"
  | "fallback_allowed"
  | "fallback_denied";

export const DECISION_OUTCOMES: readonly DecisionOutcome[] = [
  "allowed",
  "denied",
  "denied_by_other",
  "fail_open",
  "fail_closed",
  "fallback_allowed",
  "fallback_denied",
];

/** One policy's part of a decision. */
export interface PolicyResult {
  policy: string;
  key: string;
  /** This policy's own verdict (the request passes only when every policy's is true). */
  allowed: boolean;
  outcome: DecisionOutcome;
  /** The quota in force: the policy's limit, or its per-process share when the fallback decided. */
  limit: number;
  windowSeconds: number;
  /** Units left (after this request when it passed, without it when it was refused). */
  remaining: number;
  /** Seconds until the key is back at its full quota. */
  resetSeconds: number;
  /** Seconds before a retry can pass; only when this policy refused. */
  retryAfterSeconds?: number;
  /** Set when the store failed and this fail mode decided. */
  failMode?: FailMode;
}

/** The answer to `limiter.check`. */
export interface RateLimitDecision {
  /** True when every policy admitted; then each one's cost was spent, otherwise none was. */
  allowed: boolean;
  /** One per policy of the check, in the order given. */
  results: PolicyResult[];
  /** When refused: the longest wait of the refusing policies, in whole seconds. */
  retryAfterSeconds?: number;
  /** `ratelimit-policy`, `ratelimit`, and `retry-after` when refused: set them on the response. */
  headers: Record<string, string>;
}

/** Told about each policy's part of every decision: the metric hook. */
export interface DecisionEvent {
  policy: string;
  outcome: DecisionOutcome;
}

/** Where the limiter writes its two log lines: the store failing, and the store answering again. */
export type RateLimitLog = (level: "warn" | "info", message: string, fields: Record<string, unknown>) => void;
