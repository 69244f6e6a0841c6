import { KeelError } from "@keel/protocol/errors";
import type { LimitRequest, RateLimitDecision, RateLimiter } from "@keel/protocol/ratelimit";

type Limits = LimitRequest | readonly LimitRequest[] | undefined;

/** What every adapter takes. `Req` is the framework's request. */
export interface RateLimitMiddlewareOptions<Req> {
  limiter: RateLimiter;
  /**
   * The policies a request is charged against and under which keys; undefined or `[]` lets it
   * through unlimited (health checks, say).
   */
  limits: (request: Req) => Limits | Promise<Limits>;
  /** The JSON body of a 429. Default: Keel's error envelope, code `too_many_requests`. */
  body?: (decision: RateLimitDecision) => unknown;
}

/** The limiter's decision for a request, or undefined when `limits` chose none. */
export async function decideFor<Req>(
  options: RateLimitMiddlewareOptions<Req>,
  request: Req,
): Promise<RateLimitDecision | undefined> {
  const limits = await options.limits(request);
  const list: readonly LimitRequest[] =
    limits === undefined ? [] : Array.isArray(limits) ? limits : [limits as LimitRequest];
  return list.length > 0 ? options.limiter.check(list) : undefined;
}

/** The 429 body: the caller's, or `{"error":{"code":"too_many_requests","message":…}}`. */
export function refusalBody<Req>(
  options: RateLimitMiddlewareOptions<Req>,
  decision: RateLimitDecision,
): unknown {
  if (options.body) return options.body(decision);
  const refused = decision.results.filter((r) => !r.allowed).map((r) => `'${r.policy}'`);
  const error = new KeelError("too_many_requests", {
    detail: `rate limit ${refused.join(", ")} reached.`,
    retryAfter: decision.retryAfterSeconds,
  });
  return { error: error.toJSON() };
}
