import { KeelError } from "../errors.js";
import { POLICY_NAME } from "../names.js";

/** What a policy does when its store fails or does not answer within the limiter's timeout. */
export type FailMode = "open" | "closed" | "fallback";
export const FAIL_MODES: readonly FailMode[] = ["open", "closed", "fallback"];

/**
 * A rate-limit policy: `limit` units per `windowSeconds`, enforced with GCRA (docs/ratelimit.md).
 *
 * @example
 * const api: Policy = { name: "api", limit: 100, windowSeconds: 60, failMode: "fallback", expectedReplicas: 3 };
 */
export interface Policy {
  /** Letters, digits, `_`, `.` and `-`, up to 64 characters; shown in the RateLimit headers. */
  name: string;
  /** Units (requests, unless a check passes a cost) admitted per window. 1 to 1,000,000,000. */
  limit: number;
  /** The window in whole seconds: 1 to 31,622,400 (366 days). */
  windowSeconds: number;
  /** Units a key may spend at once after being idle. Default `limit`. */
  burst?: number;
  /**
   * When the store fails: `open` admits, `closed` refuses, `fallback` (default) limits in this
   * process's memory to `limit / expectedReplicas` per window.
   */
  failMode?: FailMode;
  /** Processes sharing the store; the fallback's share of the quota. Default 1. */
  expectedReplicas?: number;
}

/** A policy checked and turned into GCRA parameters (microseconds, integers). */
export interface ResolvedPolicy {
  name: string;
  limit: number;
  windowSeconds: number;
  burst: number;
  failMode: FailMode;
  expectedReplicas: number;
  /** Microseconds one unit occupies: the window divided by the limit, rounded up. */
  intervalUs: number;
  /** The same for the fallback's per-process share. */
  fallback: { limit: number; burst: number; intervalUs: number };
}

export { POLICY_NAME };
export const MAX_LIMIT = 1_000_000_000;
export const MAX_WINDOW_SECONDS = 31_622_400;
export const MAX_REPLICAS = 1000;
// now + burst × interval must stay an exact integer in a double (Lua numbers are doubles).
const MAX_SPAN_US = 10 * 366 * 86_400 * 1_000_000;
const FIELDS = ["name", "limit", "windowSeconds", "burst", "failMode", "expectedReplicas"];

function wholeNumber(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

/** Everything wrong with `input` as a policy, one sentence each; empty when it is valid. */
export function policyProblems(input: unknown): string[] {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    return ["a policy is an object { name, limit, windowSeconds, burst?, failMode?, expectedReplicas? }"];
  }
  const p = input as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(p)) {
    if (!FIELDS.includes(key)) problems.push(`unknown field '${key}' (accepted: ${FIELDS.join(", ")})`);
  }
  if (typeof p.name !== "string" || !POLICY_NAME.test(p.name)) {
    problems.push("name must be 1–64 letters, digits, '_', '.' or '-'");
  }
  if (!wholeNumber(p.limit, 1, MAX_LIMIT))
    problems.push(`limit must be a whole number from 1 to ${MAX_LIMIT}`);
  if (!wholeNumber(p.windowSeconds, 1, MAX_WINDOW_SECONDS)) {
    problems.push(
      `windowSeconds must be a whole number of seconds from 1 to ${MAX_WINDOW_SECONDS} (366 days)`,
    );
  }
  if (p.burst !== undefined && !wholeNumber(p.burst, 1, MAX_LIMIT)) {
    problems.push(`burst must be a whole number from 1 to ${MAX_LIMIT}`);
  }
  if (p.failMode !== undefined && !FAIL_MODES.includes(p.failMode as FailMode)) {
    problems.push(`failMode must be one of ${FAIL_MODES.join(", ")}`);
  }
  if (p.expectedReplicas !== undefined && !wholeNumber(p.expectedReplicas, 1, MAX_REPLICAS)) {
    problems.push(`expectedReplicas must be a whole number from 1 to ${MAX_REPLICAS}`);
  }
  if (problems.length === 0) {
    const limit = p.limit as number;
    const windowUs = (p.windowSeconds as number) * 1_000_000;
    if (limit > windowUs) problems.push("limit must be at most 1,000,000 per second of window");
    else if (intervalOf(windowUs, limit) * ((p.burst as number | undefined) ?? limit) > MAX_SPAN_US) {
      problems.push("burst × windowSeconds / limit must be at most ten years");
    }
  }
  return problems;
}

function intervalOf(windowUs: number, limit: number): number {
  return Math.ceil(windowUs / limit);
}

/**
 * Checks a policy and computes its GCRA parameters; throws KeelError `invalid_policy` naming
 * every problem.
 *
 * @example
 * validatePolicy({ name: "api", limit: 100, windowSeconds: 60 }).intervalUs; // 600000
 */
export function validatePolicy(input: Policy): ResolvedPolicy {
  const problems = policyProblems(input);
  if (problems.length > 0) {
    const name = typeof input?.name === "string" ? input.name : "(unnamed)";
    throw new KeelError("invalid_policy", { policy: name, detail: problems.join("; ") });
  }
  const windowUs = input.windowSeconds * 1_000_000;
  const burst = input.burst ?? input.limit;
  const replicas = input.expectedReplicas ?? 1;
  const fallbackLimit = Math.max(1, Math.floor(input.limit / replicas));
  return {
    name: input.name,
    limit: input.limit,
    windowSeconds: input.windowSeconds,
    burst,
    failMode: input.failMode ?? "fallback",
    expectedReplicas: replicas,
    intervalUs: intervalOf(windowUs, input.limit),
    fallback: {
      limit: fallbackLimit,
      burst: Math.max(1, Math.floor(burst / replicas)),
      intervalUs: intervalOf(windowUs, fallbackLimit),
    },
  };
}
