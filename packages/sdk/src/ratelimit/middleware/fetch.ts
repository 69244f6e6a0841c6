import type { RateLimitDecision } from "@keel/protocol/ratelimit";
import { decideFor, type RateLimitMiddlewareOptions, refusalBody } from "./shared.js";

/** A Fetch handler: a Next.js route handler, a Hono `c.req.raw` handler, a Deno or Bun server. */
export type FetchHandler<A extends unknown[]> = (
  request: Request,
  ...rest: A
) => Response | Promise<Response>;

/**
 * Wraps a Fetch handler: a refused request gets 429 with Retry-After and the RateLimit headers
 * (the handler does not run); an admitted one runs and its response carries the RateLimit headers.
 *
 * @example
 * // app/api/orders/route.ts (Next.js)
 * const limited = rateLimitFetch({
 *   limiter,
 *   limits: (req) => ({ policy: "api", key: keyByAddress(req.headers.get("x-real-ip") ?? "0.0.0.0") }),
 * });
 * export const POST = limited(async (request) => Response.json(await createOrder(await request.json())));
 */
export function rateLimitFetch(
  options: RateLimitMiddlewareOptions<Request>,
): <A extends unknown[]>(handler: FetchHandler<A>) => (request: Request, ...rest: A) => Promise<Response> {
  return (handler) =>
    async (request, ...rest) => {
      const decision = await decideFor(options, request);
      if (decision && !decision.allowed) {
        return Response.json(refusalBody(options, decision), { status: 429, headers: decision.headers });
      }
      const response = await handler(request, ...rest);
      return decision ? withHeaders(response, decision) : response;
    };
}

/** Adds the decision's headers; a response with immutable headers (from fetch) is copied first. */
/** The response with the RateLimit headers set (on a copy when its headers are immutable). */
export function withHeaders(response: Response, decision: RateLimitDecision): Response {
  try {
    for (const [name, value] of Object.entries(decision.headers)) response.headers.set(name, value);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    for (const [name, value] of Object.entries(decision.headers)) copy.headers.set(name, value);
    return copy;
  }
}
