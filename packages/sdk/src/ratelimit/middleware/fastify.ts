import type { IncomingHttpHeaders } from "node:http";
import { decideFor, type RateLimitMiddlewareOptions, refusalBody } from "./shared.js";

/** The parts of a Fastify request the default typing offers to `limits`. */
export interface FastifyLikeRequest {
  /** The client address (honours Fastify's `trustProxy`). */
  ip: string;
  headers: IncomingHttpHeaders;
}

/** The parts of a Fastify reply the hook uses. */
export interface FastifyLikeReply {
  header(name: string, value: string): unknown;
  code(statusCode: number): { send(payload?: unknown): unknown };
}

/**
 * A Fastify `onRequest` (or `preHandler`) hook: a refused request gets 429 (JSON) with
 * Retry-After and the RateLimit headers; an admitted one goes on with the RateLimit headers set.
 *
 * @example
 * app.addHook("onRequest", rateLimitFastify({ limiter, limits: (req) => ({ policy: "api", key: keyByAddress(req.ip) }) }));
 * // or per route: app.post("/orders", { onRequest: rateLimitFastify({ … }) }, handler)
 */
export function rateLimitFastify<Req = FastifyLikeRequest>(
  options: RateLimitMiddlewareOptions<Req>,
): (request: NoInfer<Req>, reply: FastifyLikeReply) => Promise<unknown> {
  return async (request, reply) => {
    const decision = await decideFor(options, request);
    if (!decision) return;
    for (const [name, value] of Object.entries(decision.headers)) reply.header(name, value);
    if (decision.allowed) return;
    // Returning the reply tells Fastify the hook answered.
    return reply.code(429).send(refusalBody(options, decision));
  };
}
