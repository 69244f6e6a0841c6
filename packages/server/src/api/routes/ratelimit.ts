import { KeelError } from "@keel/engine";
import { checkRateLimit } from "@keel/protocol/contracts";
import type { RateLimiter } from "@keel/protocol/ratelimit";
import type { RouteDeps } from "./deps.js";

/**
 * POST /v1/ratelimit/check: the SDK's limiter over the config file's policies. `limiter` is
 * undefined when the file declares none; every check then names an unknown policy.
 */
export function rateLimitRoutes({ mount }: RouteDeps, limiter: RateLimiter | undefined): void {
  mount(checkRateLimit)(async ({ body, reply }) => {
    if (!limiter) throw new KeelError("policy_not_found", { policy: body.policy, declared: "none" });
    const decision = await limiter.check({ policy: body.policy, key: body.key, cost: body.cost });
    const result = decision.results[0];
    if (!result) throw new Error("a one-policy check returned no result");
    // The checked policy's headers, for the caller to copy onto its own response. No Retry-After:
    // this answer is a 200; the wait is in the body.
    const { "retry-after": _, ...headers } = decision.headers;
    reply.headers(headers);
    return {
      status: 200,
      body: {
        allowed: result.allowed,
        policy: result.policy,
        limit: result.limit,
        remaining: result.remaining,
        resetSeconds: result.resetSeconds,
        ...(result.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: result.retryAfterSeconds }),
        ...(result.failMode === undefined ? {} : { failMode: result.failMode }),
      },
    };
  });
}
